"""Which figures a finished study or ablation writes (see :mod:`vaesvm.study.plots`).

Each figure is one step of the run's progress bar (an embedding counts
:data:`~vaesvm.study.progress.EMBEDDING_STEPS`); :func:`study_figure_steps` and
:func:`ablation_figure_steps` count them before the run starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from . import plots
from .config import StudyConfig
from .progress import EMBEDDING_STEPS
from .report import ResultsWriter

__all__ = ["study_figures", "ablation_figures", "study_figure_steps", "ablation_figure_steps"]

#: Methods whose confusion matrices are drawn, the first one present in the cells.
CONFUSION_METHODS = ("SS-VAE + SVC", "VAE + SVC")


def _ignore(*args) -> None:
    """A progress callback that does nothing."""


def study_figure_steps(config: StudyConfig, features: set[str]) -> int:
    """Progress steps of :func:`study_figures` for a study of ``config``.

    ``features`` are the feature sets the study's methods use (``"vae"`` for the M1
    VAE, ``"ssvae"`` / ``"ssvae_mu"`` for the semi-supervised one).
    """
    kinds = ("vae" in features) + bool(features & {"ssvae", "ssvae_mu"})
    confusion = len(config.n_labels) if set(CONFUSION_METHODS) & set(config.methods) else 0
    return kinds * (3 + EMBEDDING_STEPS) + confusion + 1


def ablation_figure_steps(factors: Iterable[str]) -> int:
    """Progress steps of :func:`ablation_figures`: one per factor."""
    return len(list(factors))


def study_figures(writer: ResultsWriter, data, vaes: dict,
                  progress: Callable[..., None] = _ignore) -> list:
    """ELBO curves, reconstructions, samples, embeddings, confusion matrices, accuracy.

    ``vaes`` maps ``"ss"`` (the default, semi-supervised VAE of the first seed and
    label count) and ``"m1"`` (the plain VAE of the first seed) to ``(seed, vae)``;
    ``progress(description, steps)`` is called before each figure.
    """
    out = writer.out
    paths = []
    m1 = {v["seed"]: v["history"] for v in writer.vaes if v.get("n_labels") is None}
    ss = {f"seed {v['seed']}, {v['n_labels']} labels": v["history"]
          for v in writer.vaes if v.get("n_labels") is not None}
    for histories, suffix in ((m1, "_m1"), (ss, "")):
        if histories:
            progress(f"figure elbo_curves{suffix}.png")
            paths.append(plots.plot_history(histories, out / f"elbo_curves{suffix}.png"))
    for kind, (seed, vae) in vaes.items():
        suffix = "" if kind == "ss" else "_m1"
        progress(f"figure reconstructions{suffix}.png")
        paths.append(plots.plot_reconstructions(vae, data.X_test,
                                                out / f"reconstructions{suffix}.png"))
        progress(f"figure samples{suffix}.png")
        paths.append(plots.plot_samples(vae, out / f"samples{suffix}.png", random_state=seed))
        progress(f"figure embedding{suffix}.png (t-SNE)", EMBEDDING_STEPS)
        idx = np.random.RandomState(seed).choice(len(data.X_test), min(2000, len(data.X_test)),
                                                 replace=False)
        paths.append(plots.plot_embedding(vae.transform(data.X_test[idx]), data.y_test[idx],
                                          out / f"embedding{suffix}.png", random_state=seed,
                                          class_names=data.target_names))
    methods = [m for m in CONFUSION_METHODS if any(c["method"] == m for c in writer.cells)]
    cells = [c for c in writer.cells if methods and c["method"] == methods[0]]
    for n in sorted({c["n_labels"] for c in cells}):
        progress(f"figure confusion_{n}.png")
        cm = np.sum([c["confusion_matrix"] for c in cells if c["n_labels"] == n], axis=0)
        paths.append(plots.plot_confusion(
            cm, f"{methods[0]}, {n} labels (summed over seeds, row-normalized)",
            out / f"confusion_{n}.png", class_names=data.target_names))
    progress("figure accuracy_vs_labels.png")
    paths.append(plots.plot_accuracy_vs_labels(writer.cells, writer.reference,
                                               out / "accuracy_vs_labels.png"))
    return paths


def ablation_figures(writer: ResultsWriter, progress: Callable[..., None] = _ignore) -> list:
    """One grouped bar chart per factor; ``progress(description)`` before each."""
    paths = []
    for factor in dict.fromkeys(c["factor"] for c in writer.cells):
        progress(f"figure ablation_{factor}.png")
        paths.append(plots.plot_ablation(writer.cells, factor,
                                         writer.out / f"ablation_{factor}.png"))
    return paths
