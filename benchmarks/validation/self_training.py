"""Settings of the study's self-training peer, chosen on validation data.

    python benchmarks/validation/self_training.py --sets digits fashion-mnist
    python benchmarks/validation/self_training.py --summary

(results appended to ``docs/results/validation/self_training.jsonl``).

scikit-learn's ``SelfTrainingClassifier`` around the study's pixel SVC
(:class:`vaesvm.study.experiments.SelfTrainingSVC`: ``C`` and ``gamma`` chosen by
the study's cross-validation on the labeled pixels, probabilities calibrated by
``CalibratedClassifierCV(ensemble=False)``) is self-trained on the pool (the train images
outside the validation split, unlabeled ones marked -1) and scored on the
validation images. The test sets are never loaded. Settings: scikit-learn's
default criterion (probability at least 0.75, at most 10 rounds), a stricter
threshold (0.9), and a budget: the ``k`` most confident images per round, ``k``
the number of labels (at most 500), 10 rounds, so that the last fit has at most
11 times the labels (5,000 more at most) whatever the pool.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _common import read_jsonl, record

from vaesvm import make_semi_supervised_split
from vaesvm.study.experiments import SelfTrainingSVC, validation_split
from vaesvm.study.image_sets import load_image_set

OUT = (Path(__file__).resolve().parents[2] / "docs" / "results" / "validation"
       / "self_training.jsonl")
LABELS = {"digits": (50, 100), "fashion-mnist": (100, 1000)}

#: name -> SelfTrainingSVC keywords, given the number of labels.
SETTINGS = {
    "threshold 0.75": lambda n: {"threshold": 0.75},
    "threshold 0.9": lambda n: {"threshold": 0.9},
    "k best": lambda n: {"criterion": "k_best", "k_best": min(n, 500)},
}


def run(name: str, seeds: range, settings: list[str], labels: list[int] | None) -> None:
    data = load_image_set(name)
    X, y = data.X_train, data.y_train
    pool, val = validation_split(len(X))
    for n in labels or LABELS[name]:
        for seed in seeds:
            lab = pool[make_semi_supervised_split(y[pool], n, random_state=seed)[0]]
            y_pool = np.where(np.isin(pool, lab), y[pool], -1)
            for setting in settings:
                start = time.perf_counter()
                model = SelfTrainingSVC(random_state=seed, **SETTINGS[setting](n))
                model.fit(X[pool], y_pool)
                accuracy = float(model.score(X[val], y[val]))
                rounds = model.self_training_
                row = {"set": name, "labels": n, "seed": seed, "setting": setting,
                       "val_accuracy": accuracy,
                       "pseudo_labeled": int(np.sum(rounds.labeled_iter_ > 0)),
                       "rounds": int(rounds.n_iter_),
                       "seconds": time.perf_counter() - start}
                record(OUT, row)


def summary() -> None:
    cells = defaultdict(list)
    for r in read_jsonl(OUT):
        cells[(r["set"], r["labels"], r["setting"])].append(r)
    for key in sorted(cells):
        acc = 100 * np.array([r["val_accuracy"] for r in cells[key]])
        secs = np.mean([r["seconds"] for r in cells[key]])
        pseudo = np.mean([r["pseudo_labeled"] for r in cells[key]])
        print(*key, f"{acc.mean():.2f} +- {acc.std():.2f} (n={len(acc)})",
              f"{pseudo:.0f} pseudo-labeled, {secs:.0f} s", sep=" | ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(LABELS), choices=list(LABELS))
    parser.add_argument("--seeds", type=int, default=3, help="labeled subsets to run")
    parser.add_argument("--first-seed", type=int, default=0, help="the first subset's seed")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--labels", type=int, nargs="+", default=None,
                        help="default: 50 and 100 on digits, 100 and 1000 on Fashion-MNIST")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if args.summary:
        summary()
        return
    for name in args.sets:
        run(name, range(args.first_seed, args.first_seed + args.seeds), args.settings,
            args.labels)


if __name__ == "__main__":
    main()
