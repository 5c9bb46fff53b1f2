"""Figures of the study and the ablations (matplotlib, from the ``plot`` extra).

matplotlib is imported lazily, inside the functions, with the non-interactive Agg
backend; without it :func:`require_matplotlib` raises an ``ImportError`` that says
how to install it.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..datasets import CLASS_NAMES
from .report import accuracies_by_method

__all__ = ["require_matplotlib", "plot_history", "plot_reconstructions", "plot_samples",
           "plot_embedding", "plot_confusion", "plot_accuracy_vs_labels", "plot_ablation"]


def require_matplotlib():
    """Return ``matplotlib.pyplot`` (Agg backend) or raise a helpful ImportError."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("Figures need matplotlib: pip install 'vaesvm[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: pathlib.Path) -> pathlib.Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    require_matplotlib().close(fig)
    return path


def plot_history(histories: dict[int | str, list[dict[str, Any]]], path) -> pathlib.Path:
    """Loss, reconstruction and KL per epoch, one line per seed (or labeled run).

    Parameters
    ----------
    histories : dict of int or str to list of dict
        ``VAETransformer.history_`` per seed (int) or per line label (str).
    path : path-like
        Where to write the PNG.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt = require_matplotlib()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for seed, history in histories.items():
        epochs = [h["epoch"] for h in history]
        for ax, key in zip(axes, ("loss", "reconstruction", "kl")):
            label = seed if isinstance(seed, str) else f"seed {seed}"
            ax.plot(epochs, [h[key] for h in history], label=label)
    titles = ("loss (negative weighted ELBO)", "reconstruction (nats)", "KL (nats)")
    for ax, title in zip(axes, titles):
        ax.set(title=title, xlabel="epoch")
    axes[0].legend()
    return _save(fig, pathlib.Path(path))


def _image_grid(ax, images: np.ndarray, n_cols: int) -> None:
    """Square grey images, or square colour ones (3 channels, channels-first), in a grid."""
    n_features = images.shape[1]
    channels = 1 if round(np.sqrt(n_features)) ** 2 == n_features else 3
    side = int(round(np.sqrt(n_features // channels)))
    n_rows = int(np.ceil(len(images) / n_cols))
    grid = np.ones((n_rows * side, n_cols * side, channels))
    for i, img in enumerate(images):
        r, c = divmod(i, n_cols)
        grid[r * side:(r + 1) * side, c * side:(c + 1) * side] = (
            img.reshape(channels, side, side).transpose(1, 2, 0))
    if channels == 1:
        ax.imshow(grid[..., 0], cmap="gray_r", vmin=0, vmax=1)
    else:
        ax.imshow(np.clip(grid, 0, 1))
    ax.set_axis_off()


def plot_reconstructions(vae, X: np.ndarray, path, n: int = 12) -> pathlib.Path:
    """Originals (top row) above their reconstructions (bottom row).

    Parameters
    ----------
    vae : VAETransformer
        A fitted transformer on square images.
    X : ndarray of shape (n_samples, n_pixels)
        Images; the first ``n`` are shown.
    path : path-like
        Where to write the PNG.
    n : int, default=12
        Number of images.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt = require_matplotlib()
    rec = vae.inverse_transform(vae.transform(X[:n]))
    fig, ax = plt.subplots(figsize=(n * 0.8, 1.9))
    _image_grid(ax, np.vstack([X[:n], rec]), n)
    ax.set_title("test images (top) and reconstructions from the latent means (bottom)")
    return _save(fig, pathlib.Path(path))


def plot_samples(vae, path, n: int = 64, random_state: int = 0) -> pathlib.Path:
    """Images decoded from z ~ N(0, I), as an 8-column grid.

    Parameters
    ----------
    vae : VAETransformer
        A fitted transformer on square images.
    path : path-like
        Where to write the PNG.
    n : int, default=64
        Number of samples.
    random_state : int, default=0
        Seed for z.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6, 6))
    _image_grid(ax, vae.sample(n, random_state=random_state), 8)
    ax.set_title("samples from the prior (pixel probabilities)")
    return _save(fig, pathlib.Path(path))


def plot_embedding(Z: np.ndarray, y: np.ndarray, path, method: str = "tsne",
                   random_state: int = 0, class_names: Sequence[str] = CLASS_NAMES
                   ) -> pathlib.Path:
    """2-D embedding (t-SNE or PCA) of latent means, coloured by class.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_components)
        Latent means.
    y : ndarray of shape (n_samples,)
        Class labels 0-9.
    path : path-like
        Where to write the PNG.
    method : {"tsne", "pca"}, default="tsne"
        Embedding method.
    random_state : int, default=0
        Seed of the embedding.
    class_names : sequence of str, default=Fashion-MNIST's
        Names of the classes, indexed by label.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    plt = require_matplotlib()
    if method == "tsne":
        E = TSNE(2, init="pca", random_state=random_state).fit_transform(Z)
    else:
        E = PCA(2, random_state=random_state).fit_transform(Z)
    fig, ax = plt.subplots(figsize=(7, 6))
    scatter = ax.scatter(E[:, 0], E[:, 1], c=y, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    cbar = fig.colorbar(scatter, ticks=range(10))
    cbar.ax.set_yticklabels(class_names)
    ax.set_title(f"{method.upper()} of {len(Z)} test latent means")
    ax.set_xticks([]), ax.set_yticks([])
    return _save(fig, pathlib.Path(path))


def plot_confusion(cm: np.ndarray, title: str, path,
                   class_names: Sequence[str] = CLASS_NAMES) -> pathlib.Path:
    """Row-normalized confusion matrix (sklearn's ConfusionMatrixDisplay).

    Parameters
    ----------
    cm : array-like of shape (10, 10)
        Counts, true classes in rows.
    title : str
        Figure title.
    path : path-like
        Where to write the PNG.
    class_names : sequence of str, default=Fashion-MNIST's
        Names of the classes, indexed by label.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = require_matplotlib()
    cm = np.asarray(cm, dtype=float)
    cm = cm / cm.sum(axis=1, keepdims=True)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ConfusionMatrixDisplay(cm, display_labels=list(class_names)).plot(
        ax=ax, xticks_rotation=60, values_format=".2f", colorbar=False)
    ax.set_title(title)
    return _save(fig, pathlib.Path(path))


def plot_accuracy_vs_labels(cells: list[dict[str, Any]], reference: dict[int, float],
                            path) -> pathlib.Path:
    """Mean +- std test accuracy against the number of labels, one line per method.

    Parameters
    ----------
    cells : list of dict
        Study cells (``method``, ``n_labels``, ``accuracy``).
    reference : dict of int to float
        Reference accuracies per label count, drawn as stars.
    path : path-like
        Where to write the PNG.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt = require_matplotlib()
    acc = accuracies_by_method(cells)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, by_n in acc.items():
        ns = sorted(by_n)
        means = [100 * np.mean(by_n[n]) for n in ns]
        stds = [100 * np.std(by_n[n]) for n in ns]
        ax.errorbar(ns, means, yerr=stds, marker="o", capsize=3, label=method)
    if reference:
        ax.plot(list(reference), [100 * v for v in reference.values()], "k*", ms=10,
                label="reference study")
    ax.set(xscale="log", xlabel="number of labels", ylabel="test accuracy (%)",
           title="Fashion-MNIST test accuracy (mean +- std over seeds)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, pathlib.Path(path))


def plot_ablation(cells: list[dict[str, Any]], factor: str, path) -> pathlib.Path:
    """Grouped bars: VAE + SVC test accuracy per value of ``factor`` at each label count.

    Parameters
    ----------
    cells : list of dict
        Ablation cells (``factor``, ``value``, ``accuracy`` per label count).
    factor : str
        The factor to plot.
    path : path-like
        Where to write the PNG.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    plt = require_matplotlib()
    rows = [c for c in cells if c["factor"] == factor]
    values = list(dict.fromkeys(c["value"] for c in rows))
    label_counts = list(rows[0]["accuracy"])
    fig, ax = plt.subplots(figsize=(1.6 * len(values) + 2, 3.6))
    width = 0.8 / len(label_counts)
    for i, n in enumerate(label_counts):
        accs = [[100 * c["accuracy"][n] for c in rows if c["value"] == v] for v in values]
        ax.bar(np.arange(len(values)) + i * width, [np.mean(a) for a in accs], width,
               yerr=[np.std(a) for a in accs], capsize=3, label=f"{n} labels")
    ax.set_xticks(np.arange(len(values)) + width * (len(label_counts) - 1) / 2, values)
    ax.set(ylabel="test accuracy (%)", title=f"ablation: {factor}", xlabel=factor)
    low = min(100 * min(c["accuracy"].values()) for c in rows)
    ax.set_ylim(max(0, low - 10), 100)
    ax.legend(fontsize=8)
    return _save(fig, pathlib.Path(path))
