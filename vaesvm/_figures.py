"""Which figures a finished study or ablation writes (see :mod:`vaesvm.plotting`)."""

from __future__ import annotations

import numpy as np

from . import plotting
from .report import ResultsWriter

__all__ = ["study_figures", "ablation_figures"]


def study_figures(writer: ResultsWriter, data, vaes: dict) -> list:
    """ELBO curves, reconstructions, samples, embedding, confusion matrices, accuracy."""
    out = writer.out
    paths = []
    histories = {v["seed"]: v["history"] for v in writer.vaes}
    if histories:
        paths.append(plotting.plot_history(histories, out / "elbo_curves.png"))
    for seed, vae in vaes.items():
        paths.append(plotting.plot_reconstructions(vae, data.X_test, out / "reconstructions.png"))
        paths.append(plotting.plot_samples(vae, out / "samples.png", random_state=seed))
        idx = np.random.RandomState(seed).choice(len(data.X_test), min(2000, len(data.X_test)),
                                                    replace=False)
        paths.append(plotting.plot_embedding(vae.transform(data.X_test[idx]),
                                             data.y_test[idx], out / "embedding.png",
                                             random_state=seed))
    vae_cells = [c for c in writer.cells if c["method"] == "VAE + SVC"]
    for n in sorted({c["n_labels"] for c in vae_cells}):
        cm = np.sum([c["confusion_matrix"] for c in vae_cells if c["n_labels"] == n], axis=0)
        paths.append(plotting.plot_confusion(
            cm, f"VAE + SVC, {n} labels (summed over seeds, row-normalized)",
            out / f"confusion_{n}.png"))
    paths.append(plotting.plot_accuracy_vs_labels(writer.cells, writer.reference,
                                                  out / "accuracy_vs_labels.png"))
    return paths


def ablation_figures(writer: ResultsWriter) -> list:
    """One grouped bar chart per factor."""
    factors = dict.fromkeys(c["factor"] for c in writer.cells)
    return [plotting.plot_ablation(writer.cells, f, writer.out / f"ablation_{f}.png")
            for f in factors]
