"""Which figures a finished study or ablation writes (see :mod:`vaesvm.study.plots`)."""

from __future__ import annotations

import numpy as np

from . import plots
from .report import ResultsWriter

__all__ = ["study_figures", "ablation_figures"]


def study_figures(writer: ResultsWriter, data, vaes: dict) -> list:
    """ELBO curves, reconstructions, samples, embeddings, confusion matrices, accuracy.

    ``vaes`` maps ``"ss"`` (the default, semi-supervised VAE of the first seed and
    label count) and ``"m1"`` (the plain VAE of the first seed) to ``(seed, vae)``.
    """
    out = writer.out
    paths = []
    m1 = {v["seed"]: v["history"] for v in writer.vaes if v.get("n_labels") is None}
    ss = {f"seed {v['seed']}, {v['n_labels']} labels": v["history"]
          for v in writer.vaes if v.get("n_labels") is not None}
    if m1:
        paths.append(plots.plot_history(m1, out / "elbo_curves_m1.png"))
    if ss:
        paths.append(plots.plot_history(ss, out / "elbo_curves.png"))
    for kind, (seed, vae) in vaes.items():
        suffix = "" if kind == "ss" else "_m1"
        paths.append(plots.plot_reconstructions(vae, data.X_test,
                                                out / f"reconstructions{suffix}.png"))
        paths.append(plots.plot_samples(vae, out / f"samples{suffix}.png", random_state=seed))
        idx = np.random.RandomState(seed).choice(len(data.X_test), min(2000, len(data.X_test)),
                                                 replace=False)
        paths.append(plots.plot_embedding(vae.transform(data.X_test[idx]), data.y_test[idx],
                                          out / f"embedding{suffix}.png", random_state=seed,
                                          class_names=data.target_names))
    methods = [m for m in ("SS-VAE + SVC", "VAE + SVC")
               if any(c["method"] == m for c in writer.cells)]
    cells = [c for c in writer.cells if methods and c["method"] == methods[0]]
    for n in sorted({c["n_labels"] for c in cells}):
        cm = np.sum([c["confusion_matrix"] for c in cells if c["n_labels"] == n], axis=0)
        paths.append(plots.plot_confusion(
            cm, f"{methods[0]}, {n} labels (summed over seeds, row-normalized)",
            out / f"confusion_{n}.png", class_names=data.target_names))
    paths.append(plots.plot_accuracy_vs_labels(writer.cells, writer.reference,
                                               out / "accuracy_vs_labels.png"))
    return paths


def ablation_figures(writer: ResultsWriter) -> list:
    """One grouped bar chart per factor."""
    factors = dict.fromkeys(c["factor"] for c in writer.cells)
    return [plots.plot_ablation(writer.cells, f, writer.out / f"ablation_{f}.png")
            for f in factors]
