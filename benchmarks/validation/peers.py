"""Settings of the study's semi-supervised peers, chosen on validation data.

    python benchmarks/validation/peers.py --sets digits fashion-mnist
    python benchmarks/validation/peers.py --summary

(results appended to ``docs/results/validation/peers.jsonl``).

scikit-learn's ``LabelSpreading(kernel="knn")`` is the study's graph peer, on the
pixels and on the codes of the reference's M1 VAE (one per set, seed 0, trained on
every train image without labels). For each set, labeled subsets are drawn from
the train images outside the held-out validation split
(:func:`vaesvm.study.experiments.validation_split`); LabelSpreading is fitted on
those pool images (the unlabeled ones marked -1) and scored by ``predict`` on the
validation images, which are not in its graph, as the study's test images are not.
The test sets are never loaded. Grid: ``n_neighbors`` in {7, 20} x ``alpha`` in {0.2, 0.8}
(scikit-learn's defaults: 7 and 0.2).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import read_jsonl, record
from sklearn.semi_supervised import LabelSpreading

from vaesvm import VAETransformer, make_semi_supervised_split
from vaesvm.study.experiments import M1_PARAMS, validation_split
from vaesvm.study.image_sets import load_image_set

OUT = Path(__file__).resolve().parents[2] / "docs" / "results" / "validation" / "peers.jsonl"
LABELS = {"digits": (50, 100), "fashion-mnist": (100, 1000)}
GRID = [(k, a) for k in (7, 20) for a in (0.2, 0.8)]


class _SharedGraphSpreading(LabelSpreading):
    """``LabelSpreading`` whose kNN graph is computed once per data and ``n_neighbors``.

    The graph of the pool and the validation images' neighbours do not depend on the
    labels or ``alpha``: the grid and the subsets reuse them (the results are those of
    ``LabelSpreading``; only the repeated neighbour searches are saved).
    """

    graphs: dict = {}

    def _get_kernel(self, X, y=None):
        key = (self.n_neighbors, X.shape, X.ctypes.data,
               None if y is None else (y.shape, y.ctypes.data))
        if key not in self.graphs:
            self.graphs[key] = super()._get_kernel(X, y)
        return self.graphs[key].copy()


def run(name: str, seeds: int) -> None:
    data = load_image_set(name)
    X, y = data.X_train, data.y_train
    pool, val = validation_split(len(X))
    start = time.perf_counter()
    m1 = VAETransformer(random_state=0, **M1_PARAMS).fit(X)
    features = {"pixels": X, "M1 codes": m1.transform(X)}
    print(f"{name}: M1 VAE {time.perf_counter() - start:.0f} s", flush=True)
    # fixed arrays, so that the shared graphs are found again by their memory address
    F_pool = {f: np.ascontiguousarray(F[pool]) for f, F in features.items()}
    F_val = {f: np.ascontiguousarray(F[val]) for f, F in features.items()}
    _SharedGraphSpreading.graphs.clear()
    for n in LABELS[name]:
        for seed in range(seeds):
            lab = pool[make_semi_supervised_split(y[pool], n, random_state=seed)[0]]
            y_pool = np.where(np.isin(pool, lab), y[pool], -1)
            for feature in features:
                for k, alpha in GRID:
                    start = time.perf_counter()
                    spread = _SharedGraphSpreading(kernel="knn", n_neighbors=k, alpha=alpha,
                                                   max_iter=100).fit(F_pool[feature], y_pool)
                    accuracy = float(np.mean(spread.predict(F_val[feature]) == y[val]))
                    row = {"set": name, "labels": n, "seed": seed, "features": feature,
                           "n_neighbors": k, "alpha": alpha, "val_accuracy": accuracy,
                           "seconds": time.perf_counter() - start}
                    record(OUT, row)


def summary() -> None:
    cells = defaultdict(list)
    for r in read_jsonl(OUT):
        cells[(r["set"], r["features"], r["n_neighbors"], r["alpha"], r["labels"])].append(
            r["val_accuracy"])
    for key in sorted(cells):
        acc = 100 * np.array(cells[key])
        print(*key, f"{acc.mean():.2f} +- {acc.std():.2f} (n={len(acc)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(LABELS), choices=list(LABELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    for name in args.sets:
        run(name, args.seeds)


if __name__ == "__main__":
    main()
