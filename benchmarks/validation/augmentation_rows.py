"""Does augmentation pay on fewer images? Fashion-MNIST 28 x 28 at a reduced train size.

    python benchmarks/validation/augmentation_rows.py --n-train 20000 --seeds 2

The default VAE (shifts and flips, as ``augmentation="auto"`` gives Fashion-MNIST)
against the same VAE with ``augmentation="none"``, on the first ``--n-train`` train
images: labeled subsets (100 labels) from the pool outside the validation split,
every train image available unlabeled, an RBF SVC on the codes scored on the
validation images. Appends to ``docs/results/validation/image_sets.jsonl`` with
``"set": "fashion-mnist-<n>"``.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import append_jsonl
from sklearn.svm import SVC

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import validation_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", default="docs/results/validation/image_sets.jsonl")
    args = parser.parse_args()
    data = load_fashion_mnist()
    X, y = data.X_train[: args.n_train], data.y_train[: args.n_train]
    pool, val = validation_split(len(X))
    for seed in range(args.seeds):
        lab = pool[make_semi_supervised_split(y[pool], args.labels, random_state=seed)[0]]
        y_partial = np.full(len(y), -1)
        y_partial[lab] = y[lab]
        for name, params in (("default", {}), ("conv, no augmentation",
                                               {"augmentation": "none"})):
            vae = VAETransformer(random_state=seed, **params).fit(X, y_partial)
            Z = vae.transform(X)
            acc = float(SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]))
            append_jsonl(args.out, {"set": f"fashion-mnist-{args.n_train}",
                                    "n_labels": args.labels, "seed": seed, "setting": name,
                                    "val_accuracy": acc, "n_val": len(val),
                                    "augmentation": vae.augmentation_})
            print(f"{args.n_train} s{seed} {name:22s} {100 * acc:.2f} ({vae.augmentation_})",
                  flush=True)


if __name__ == "__main__":
    main()
