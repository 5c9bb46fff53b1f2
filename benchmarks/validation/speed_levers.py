"""Validation of the speed levers of issue 17: bfloat16, fewer epochs, a narrower conv stem.

    python benchmarks/validation/speed_levers.py --sets fashion-mnist-20000 digits \
        --labels 100 1000 --seeds 3
    python benchmarks/validation/speed_levers.py --summary

The default ``VAETransformer`` (float32, 30 epochs) against the same VAE trained
under bfloat16 autocast (``precision="bfloat16"``), under bfloat16 with 20
epochs, under bfloat16 with a conv encoder of 8 and 16 or of 16 and 16
channels instead of 16 and 32, and with a 3 x 3 second convolution instead of
5 x 5 (``--settings "bfloat16" "bfloat16, conv 8-16" "bfloat16, conv 16-16"
"bfloat16, conv2 3x3"``; these settings patch ``vaesvm._model.CONV_CHANNELS``
and ``CONV_KERNELS`` for their fits); and both kernels at 10 epochs (``"10
epochs, kernels 5-5"`` / ``"5-3"``, the README example's length).
Fashion-MNIST: the first 20,000 train images (augmentation on, as at 60,000);
digits: scikit-learn's 8 x 8 digits (conv, no augmentation). Labeled subsets
are drawn from the train images outside the validation split
(:func:`vaesvm.study.experiments.validation_split`), every train image is
available unlabeled, and an RBF SVC on the codes is scored on the validation
images; the test sets are never loaded. One JSON line per set, label count,
subset and setting in ``docs/results/validation/speed.jsonl`` (with the seconds
of the VAE fit, on whatever else the machine was running).
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
from _common import append_jsonl
from other_image_sets import summarize
from sklearn.svm import SVC

import vaesvm._model
from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import validation_split
from vaesvm.study.image_sets import load_image_set

SETTINGS = {"float32": {"precision": "float32"},
            "bfloat16": {"precision": "bfloat16"},
            "bfloat16, 20 epochs": {"precision": "bfloat16", "max_epochs": 20},
            "bfloat16, conv 8-16": {"precision": "bfloat16", "conv_channels": (8, 16)},
            "bfloat16, conv 16-16": {"precision": "bfloat16", "conv_channels": (16, 16)},
            "bfloat16, conv2 3x3": {"precision": "bfloat16", "conv_kernels": (5, 3)},
            "10 epochs, kernels 5-5": {"precision": "bfloat16", "max_epochs": 10,
                                       "conv_kernels": (5, 5)},
            "10 epochs, kernels 5-3": {"precision": "bfloat16", "max_epochs": 10,
                                       "conv_kernels": (5, 3)}}


@contextlib.contextmanager
def conv_layers(channels: tuple[int, int] | None, kernels: tuple[int, int] | None):
    """Patch the conv encoder's channels and kernels for the fits inside (None: leave them)."""
    saved = vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS
    vaesvm._model.CONV_CHANNELS = channels or saved[0]
    vaesvm._model.CONV_KERNELS = kernels or saved[1]
    try:
        yield
    finally:
        vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS = saved


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Train images and labels of ``digits`` or ``fashion-mnist-<rows>``."""
    if name.startswith("fashion-mnist-"):
        rows = int(name.rsplit("-", 1)[1])
        data = load_fashion_mnist()
        return data.X_train[:rows], data.y_train[:rows]
    data = load_image_set(name)
    return data.X_train, data.y_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", action="store_true",
                        help="print the table of the --out file and stop")
    parser.add_argument("--sets", nargs="+", default=["fashion-mnist-20000", "digits"])
    parser.add_argument("--labels", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seeds", type=int, default=3, help="labeled subsets 0..N-1")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--out", default="docs/results/validation/speed.jsonl")
    args = parser.parse_args()
    if args.summary:
        print(summarize(args.out))
        return
    for name in args.sets:
        X, y = load(name)
        pool, val = validation_split(len(X))
        for n_labels in args.labels:
            if n_labels > len(pool) // 2:
                continue
            for seed in range(args.seeds):
                lab = pool[make_semi_supervised_split(y[pool], n_labels, random_state=seed)[0]]
                y_partial = np.full(len(y), -1)
                y_partial[lab] = y[lab]
                for setting in args.settings:
                    params = dict(SETTINGS[setting])
                    channels = params.pop("conv_channels", None)
                    kernels = params.pop("conv_kernels", None)
                    start = time.perf_counter()
                    with conv_layers(channels, kernels):
                        vae = VAETransformer(random_state=seed, **params)
                        Z = vae.fit_transform(X, y_partial)
                    seconds = time.perf_counter() - start
                    acc = float(SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]))
                    append_jsonl(args.out, {"set": name, "n_labels": n_labels, "seed": seed,
                                            "setting": setting, "val_accuracy": acc,
                                            "n_val": len(val), "precision": vae.precision_,
                                            "conv_channels": list(channels or
                                                                  vaesvm._model.CONV_CHANNELS),
                                            "conv_kernels": list(kernels or
                                                                 vaesvm._model.CONV_KERNELS),
                                            "seconds": seconds})
                    print(f"{name} {n_labels} s{seed} {setting:20s} {100 * acc:.2f} "
                          f"{seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
