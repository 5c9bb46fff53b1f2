"""Inductive cross-validation of VAE settings on small image sets, against LabelSpreading.

    python benchmarks/validation/small_sets.py --sets digits --labels 50 100 --subsets 3 \
        --settings "LabelSpreading, pixels" "KL weight 0.25" "KL 0.25, label weight 1" \
        "KL weight 0.1" "KL 0.25, alpha 0.97"
    python benchmarks/validation/small_sets.py --sets fashion-mnist-2000 --labels 100 500 \
        --subsets 3 --settings "LabelSpreading, pixels" "KL weight 0.25" "KL weight 0.1"
    python benchmarks/validation/small_sets.py --sets digits --labels 50 100 --subsets 3 \
        --settings "KL 0.25, MLP encoder" "KL 0.25, label weight 2" "KL 0.25, label weight 4"
    python benchmarks/validation/small_sets.py --sets fashion-mnist-2000 --labels 100 \
        --subsets 3 --settings "KL 0.25, label weight 2"
    python benchmarks/validation/small_sets.py --sets digits --labels 50 100 --subsets 3 \
        --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/small_sets.py --sets fashion-mnist-2000 --labels 100 500 \
        --subsets 3 --settings "KL weight 0.25" --graph-heads
    python benchmarks/validation/small_sets.py --summary

``levers.py`` scores each setting on one fixed validation split: on the 8 x 8
digits that is 209 images, where one image is 0.48 points, and every setting of the
KL rule's runs lay between 96.3 and 98.2 %. Here the train
images of a set are cut into ``--folds`` stratified folds instead; each fold in turn
is the validation images, and the VAE is fitted, as the study's pipeline fits it, on
the others only (a labeled subset of them with its labels, the rest unlabeled): the
validation images stay unseen, as the test images are in the study (inductive). Every
train image is scored once per labeled subset, so a setting's figure on the digits
rests on 1,257 predictions per subset instead of 209.

The peer of the study, scikit-learn's ``LabelSpreading`` on the pixels at the
study's settings (:func:`vaesvm.study.experiments.label_spreading`), is scored on the
same folds and labeled subsets (setting ``"LabelSpreading, pixels"``). With
``--graph-heads`` the heads of ``levers.py --graph-heads`` are scored on each VAE's
codes too, the fold's train images as the graph's pool (setting ``"<setting>,
<head>"``).

Settings are :data:`levers.SETTINGS`. One JSON line per set, label count, subset,
fold and setting in ``docs/results/validation/small_sets.jsonl``; ``--summary``
prints, per set, label count and setting, the accuracy over all folds (mean +- std
over the labeled subsets, and per subset). The test sets are never loaded.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import print_cell, read_jsonl, record
from levers import SETTINGS, fit_setting, graph_head_scores
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from speed_levers import load

from vaesvm import make_semi_supervised_split
from vaesvm.study.experiments import label_spreading

OUT = Path(__file__).resolve().parents[2] / "docs" / "results" / "validation" / "small_sets.jsonl"
PEER = "LabelSpreading, pixels"


def folds(y: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(pool, val)`` index pairs of ``n_folds`` stratified folds (fixed shuffle)."""
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    return list(cv.split(np.zeros(len(y)), y))


def score(setting: str, X: np.ndarray, y: np.ndarray, pool: np.ndarray, val: np.ndarray,
          lab: np.ndarray, seed: int, graph_heads: bool = False) -> dict[str, float]:
    """Validation accuracy of ``setting`` (or of the peer) trained on ``pool`` only; with
    ``graph_heads``, also of the graph heads of ``levers.py`` on the same codes (as
    ``"<setting>, <head>"``)."""
    if setting == PEER:
        y_pool = np.where(np.isin(pool, lab), y[pool], -1)
        spread = label_spreading(X[pool], seed).fit(X[pool], y_pool)
        return {setting: float(spread.score(X[val], y[val]))}
    Z, _ = fit_setting(setting, seed, X, y, lab, np.setdiff1d(pool, lab))
    scores = {setting: float(SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]))}
    if graph_heads:
        scores.update({f"{setting}, {head}": accuracy for head, accuracy
                       in graph_head_scores(Z, y, pool, val, lab).items()})
    return scores


def run(name: str, labels: list[int], subsets: int, n_folds: int, settings: list[str],
        graph_heads: bool = False) -> None:
    X, y = load(name)
    cuts = folds(y, n_folds)
    for n in labels:
        for seed in range(subsets):
            for fold, (pool, val) in enumerate(cuts):
                lab = pool[make_semi_supervised_split(y[pool], n, random_state=seed)[0]]
                for setting in settings:
                    start = time.perf_counter()
                    scores = score(setting, X, y, pool, val, lab, seed, graph_heads)
                    seconds = time.perf_counter() - start
                    for label, accuracy in scores.items():
                        record(OUT, {"set": name, "labels": n, "subset": seed, "fold": fold,
                                     "folds": n_folds, "setting": label,
                                     "val_accuracy": accuracy, "n_val": len(val),
                                     "seconds": seconds})


def summary(path: Path = OUT) -> None:
    """Per set, label count and setting: accuracy over the folds, per labeled subset."""
    hits = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for r in read_jsonl(path):
        cell = hits[(r["set"], r["labels"], r["setting"])][r["subset"]]
        cell[0] += r["val_accuracy"] * r["n_val"]
        cell[1] += r["n_val"]
    for key in sorted(hits):
        print_cell(key, 100 * np.array([h / n for _, (h, n) in sorted(hits[key].items())]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits"])
    parser.add_argument("--labels", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--subsets", type=int, default=3, help="labeled subsets 0..N-1")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--settings", nargs="+", default=["KL weight 0.25", PEER],
                        choices=[*SETTINGS, PEER])
    parser.add_argument("--graph-heads", action="store_true",
                        help="also levers.py's graph heads (Poisson learning, the smoothed "
                             "SVC, SVC + Poisson) on each setting's codes")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    for name in args.sets:
        run(name, args.labels, args.subsets, args.folds, args.settings, args.graph_heads)


if __name__ == "__main__":
    main()
