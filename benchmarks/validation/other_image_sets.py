"""Validation of the image rules on image sets the defaults were not chosen on.

    python benchmarks/validation/other_image_sets.py --sets digits --seeds 3
    python benchmarks/validation/other_image_sets.py --sets fashion-mnist-14 \
        fashion-mnist-colour --labels 100 --seeds 2 --n-train 6000 --settings default \
        "plain features" "no flips" "conv, no augmentation" M1
    python benchmarks/validation/other_image_sets.py --summary

(results appended to ``docs/results/validation/image_sets.jsonl``; the digits run
predates the 14 x 14 threshold of ``augmentation="auto"``, so its ``default`` row is
today's ``no flips`` and today's default on digits is ``conv, no augmentation``).

For each set of :mod:`vaesvm.study.image_sets`, labeled subsets are drawn from the
train images outside a held-out validation split
(:func:`vaesvm.study.experiments.validation_split`, a sixth of the train images at
most); every train image is available to the VAEs unlabeled. Each setting is
scored by the accuracy of an RBF SVC on its codes of the validation images; the
test sets are never loaded. Settings compared (one JSON line per set, label count,
subset and setting):

- ``default``: ``VAETransformer()`` as users get it (the image shape declared only
  for the colour set), i.e. the current rules: image detection, shifts scaled to
  the image, flips only where they keep labels.
- ``old rules``: augmentation as before the image rules (square images of side
  >= 8, shifts of 2 pixels and left-right flips whatever the image), through a
  callable augmentation.
- ``plain features``: ``image_shape=None`` (MLP encoder, no augmentation).
- ``flips`` / ``no flips``: the image default with ``augmentation="shift_flip"`` /
  ``"shift"`` (what the flip rule chooses between).
- ``conv, no augmentation`` / ``MLP + shifts``: which of the two image parts
  (encoder, augmentation) helps or hurts.
- ``M1``: the reference recipe (:data:`~vaesvm.study.experiments.M1_PARAMS`).
- ``SVC (pixels)``: CV-tuned RBF SVC on the labeled pixels; ``LabelSpreading``:
  scikit-learn's label spreading (kNN kernel, 7 neighbours) on all train pixels.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import append_jsonl
from sklearn.semi_supervised import LabelSpreading
from sklearn.svm import SVC

from vaesvm import VAETransformer, make_semi_supervised_split
from vaesvm._augment import ImageAugment
from vaesvm.study.experiments import M1_PARAMS, tuned_svc, validation_split
from vaesvm.study.image_sets import IMAGE_SETS, load_image_set


def _settings(data) -> dict[str, dict]:
    declared = {} if data.image_shape is None else {"image_shape": data.image_shape}
    side = int(round(np.sqrt(data.X_train.shape[1])))
    old = {}
    if data.image_shape is None and side * side == data.X_train.shape[1] and side >= 8:
        old = {"augmentation": ImageAugment((side, side), flip=True, max_shift=2),
               "image_shape": (side, side)}
    settings = {"default": declared, "plain features": {"image_shape": None},
                "flips": {**declared, "augmentation": "shift_flip"},
                "no flips": {**declared, "augmentation": "shift"},
                "conv, no augmentation": {**declared, "augmentation": "none"},
                "MLP + shifts": {**declared, "encoder": "mlp", "augmentation": "shift"},
                "M1": dict(M1_PARAMS)}
    if old:
        settings["old rules"] = old
    return settings


def _vae_codes(params: dict, X: np.ndarray, y_partial: np.ndarray, seed: int,
               epochs: int | None) -> tuple[np.ndarray, VAETransformer]:
    extra = {} if epochs is None else {"max_epochs": epochs}
    vae = VAETransformer(random_state=seed, **extra, **params)
    y_fit = None if params.get("label_weight") == 0.0 else y_partial
    return vae.fit(X, y_fit).transform(X), vae


def _evaluate(data, n_labels: int, seed: int, epochs: int | None, out: str,
              only: list[str] | None) -> None:
    X, y = data.X_train, data.y_train
    pool, val = validation_split(len(X))
    lab = pool[make_semi_supervised_split(y[pool], n_labels, random_state=seed)[0]]
    y_partial = np.full(len(y), -1)
    y_partial[lab] = y[lab]
    base = {"set": data.name, "n_labels": n_labels, "seed": seed, "n_val": len(val)}
    for name, params in _settings(data).items():
        if only and name not in only:
            continue
        start = time.perf_counter()
        Z, vae = _vae_codes(params, X, y_partial, seed, epochs)
        acc = SVC().fit(Z[lab], y[lab]).score(Z[val], y[val])
        append_jsonl(out, {**base, "setting": name, "val_accuracy": acc,
                           "image_shape": vae.image_shape_, "encoder": vae.encoder_,
                           "augmentation": str(vae.augmentation_),
                           "seconds": time.perf_counter() - start})
        print(f"{data.name} {n_labels} s{seed} {name:15s} {100 * acc:.2f} "
              f"({vae.image_shape_}, {vae.encoder_}, {vae.augmentation_})", flush=True)
    svc = tuned_svc(X[lab], seed).fit(X[lab], y[lab])
    spread = LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100).fit(X, y_partial)
    for name, acc in (("SVC (pixels)", svc.score(X[val], y[val])),
                      ("LabelSpreading", float(np.mean(spread.transduction_[val] == y[val])))):
        append_jsonl(out, {**base, "setting": name, "val_accuracy": float(acc)})
        print(f"{data.name} {n_labels} s{seed} {name:15s} {100 * acc:.2f}", flush=True)


def summarize(path: str) -> str:
    """Validation accuracy (%) per setting and (set, labels): mean +- std over subsets."""
    rows = [json.loads(line) for line in open(path)]
    cols = list(dict.fromkeys((r["set"], r["n_labels"]) for r in rows))
    lines = ["| setting | " + " | ".join(f"{s} {n}" for s, n in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        cells = []
        for s, n in cols:
            accs = [100 * r["val_accuracy"] for r in rows
                    if (r["set"], r["n_labels"], r["setting"]) == (s, n, setting)]
            cells.append(f"{np.mean(accs):.2f} +- {np.std(accs):.2f} ({len(accs)})"
                         if accs else "-")
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true",
                        help="print the table of the --out file and stop")
    parser.add_argument("--sets", nargs="+", default=["digits"],
                        choices=[s for s in IMAGE_SETS if s != "fashion-mnist"])
    parser.add_argument("--labels", type=int, nargs="+", default=None,
                        help="label counts (default: each set's study default)")
    parser.add_argument("--seeds", type=int, default=3, help="labeled subsets 0..N-1")
    parser.add_argument("--epochs", type=int, default=None, help="default: the VAE's")
    parser.add_argument("--out", default="docs/results/validation/image_sets.jsonl")
    parser.add_argument("--n-train", type=int, default=12000,
                        help="train images of the Fashion-MNIST variants")
    parser.add_argument("--settings", nargs="+", default=None,
                        help="VAE settings to run (default: all)")
    args = parser.parse_args()
    if args.summary:
        print(summarize(args.out))
        return
    for name in args.sets:
        data = load_image_set(name, n_train=args.n_train)
        for n in args.labels or IMAGE_SETS[name][1]:
            for seed in range(args.seeds):
                _evaluate(data, n, seed, args.epochs, args.out, args.settings)


if __name__ == "__main__":
    main()
