"""Validation of the speed levers of issue 17: bfloat16, fewer epochs, a narrower conv stem.

    python benchmarks/validation/speed_levers.py --sets fashion-mnist-20000 digits \
        --labels 100 1000 --seeds 3
    python benchmarks/validation/speed_levers.py --summary

The default ``VAETransformer`` (float32, 30 epochs) against the same VAE trained
under bfloat16 autocast (``precision="bfloat16"``), under bfloat16 with 20
epochs, under bfloat16 with a conv encoder of 8 and 16 or of 16 and 16
channels instead of 16 and 32, and with a 3 x 3 second convolution instead of
5 x 5 (``--settings "bfloat16" "bfloat16, conv 8-16" "bfloat16, conv 16-16"
"bfloat16, conv2 3x3"``; ``"bfloat16"`` trains the shipped encoder, 3x3 since
then, and ``"bfloat16, kernels 5-5"`` the 5x5 one; these settings patch
``vaesvm._model.CONV_CHANNELS`` and ``CONV_KERNELS`` for their fits, through
``unittest.mock.patch.multiple``);
both kernels at 10 epochs (``"10 epochs, kernels 5-5"`` / ``"5-3"``, the
README example's length); and Adam's ``fused`` implementation and 32 instead of
64 labeled rows per batch (``"fused Adam"``, ``"32 labeled rows"``, both:
``"fused Adam, 32 labeled rows"``; fused Adam patches ``torch.optim.Adam``;
their rows ran before the package adopted the fused kernel, and every setting
trains with it since); and the two convolutions followed by ReLU without batch
normalization (``"conv ReLU, no batch norm"``; ``"conv no batch norm"`` keeps
softplus, ``"conv ReLU"`` batch normalization; they patch
``vaesvm._model.make_conv_encoder``, and the dense layers keep softplus and
batch normalization); and ReLU after every hidden layer (``"ReLU everywhere"``,
``activation="relu"``).
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
import functools
import time
from unittest import mock

import numpy as np
import torch
from _common import append_jsonl
from other_image_sets import summarize
from sklearn.svm import SVC

import vaesvm._model
from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import validation_split
from vaesvm.study.image_sets import IMAGE_SETS, load_image_set

SETTINGS = {"float32": {"precision": "float32"},
            "bfloat16": {"precision": "bfloat16"},
            "bfloat16, 20 epochs": {"precision": "bfloat16", "max_epochs": 20},
            # the narrower encoders were measured with 5x5 kernels, then shipped
            "bfloat16, conv 8-16": {"precision": "bfloat16", "CONV_CHANNELS": (8, 16),
                                    "CONV_KERNELS": (5, 5)},
            "bfloat16, conv 16-16": {"precision": "bfloat16", "CONV_CHANNELS": (16, 16),
                                     "CONV_KERNELS": (5, 5)},
            "bfloat16, kernels 5-5": {"precision": "bfloat16", "CONV_KERNELS": (5, 5)},
            "bfloat16, conv2 3x3": {"precision": "bfloat16", "CONV_KERNELS": (5, 3)},
            "10 epochs, kernels 5-5": {"precision": "bfloat16", "max_epochs": 10,
                                       "CONV_KERNELS": (5, 5)},
            "10 epochs, kernels 5-3": {"precision": "bfloat16", "max_epochs": 10,
                                       "CONV_KERNELS": (5, 3)},
            "fused Adam": {"precision": "bfloat16", "fused_adam": True},
            "32 labeled rows": {"precision": "bfloat16", "labeled_batch_size": 32},
            "fused Adam, 32 labeled rows": {"precision": "bfloat16", "fused_adam": True,
                                            "labeled_batch_size": 32},
            # the two convolutions followed by ReLU, without batch normalization (a bias)
            "conv ReLU, no batch norm": {"precision": "bfloat16", "fused_adam": True,
                                         "conv_block": ("relu", False)},
            "conv no batch norm": {"precision": "bfloat16", "fused_adam": True,
                                   "conv_block": ("softplus", False)},
            "conv ReLU": {"precision": "bfloat16", "fused_adam": True,
                          "conv_block": ("relu", True)},
            # ReLU after every hidden layer, convolutions and dense layers alike
            "ReLU everywhere": {"precision": "bfloat16", "fused_adam": True,
                                "activation": "relu"}}

#: Keys of a setting that patch ``vaesvm._model`` instead of being estimator parameters.
MODEL_CONSTANTS = ("CONV_CHANNELS", "CONV_KERNELS")


_make_conv_encoder = vaesvm._model.make_conv_encoder


def conv_encoder_with(conv_activation: str, conv_batch_norm: bool):
    """The shipped ``make_conv_encoder`` with another block after each convolution.

    ``conv_activation`` replaces the activation after the convolutions, and
    without ``conv_batch_norm`` their batch normalization is dropped (each
    convolution gets a bias instead); the dense layers after them keep the
    estimator's ``activation`` and ``batch_norm``. A setting's ``"conv_block"``
    patches ``vaesvm._model`` with it.
    """
    def make_conv_encoder(image_shape, hidden_layer_sizes, activation="softplus",
                          batch_norm=True):
        body, width = _make_conv_encoder(image_shape, hidden_layer_sizes, activation,
                                         batch_norm)
        flatten = next(i for i, layer in enumerate(body) if isinstance(layer, torch.nn.Flatten))
        convs = []
        for layer in body[:flatten]:
            if isinstance(layer, torch.nn.BatchNorm2d) and not conv_batch_norm:
                continue
            if isinstance(layer, torch.nn.Conv2d) and not conv_batch_norm:
                layer = torch.nn.Conv2d(layer.in_channels, layer.out_channels,
                                        layer.kernel_size, stride=layer.stride,
                                        padding=layer.padding)
            elif isinstance(layer, vaesvm._model.ACTIVATIONS[activation]):
                layer = vaesvm._model.ACTIVATIONS[conv_activation]()
            convs.append(layer)
        return torch.nn.Sequential(*convs, *body[flatten:]), width
    return make_conv_encoder


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Train images and labels of an image set of the study (``digits``,
    ``fashion-mnist-14``, ...) or of ``fashion-mnist-<rows>``."""
    if name.startswith("fashion-mnist-") and name not in IMAGE_SETS:
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
                    constants = {k: params.pop(k, getattr(vaesvm._model, k))
                                 for k in MODEL_CONSTANTS}
                    fused = params.pop("fused_adam", False)
                    block = params.pop("conv_block", None)
                    if block is not None:
                        constants["make_conv_encoder"] = conv_encoder_with(*block)
                    adam = functools.partial(torch.optim.Adam, fused=True) if fused else \
                        torch.optim.Adam
                    start = time.perf_counter()
                    with mock.patch.multiple(vaesvm._model, **constants), \
                            mock.patch.object(torch.optim, "Adam", adam):
                        vae = VAETransformer(random_state=seed, **params)
                        Z = vae.fit_transform(X, y_partial)
                        conv = {"conv_channels": list(vaesvm._model.CONV_CHANNELS),
                                "conv_kernels": list(vaesvm._model.CONV_KERNELS)}
                    seconds = time.perf_counter() - start
                    acc = float(SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]))
                    append_jsonl(args.out, {"set": name, "n_labels": n_labels, "seed": seed,
                                            "setting": setting, "val_accuracy": acc,
                                            "n_val": len(val), "precision": vae.precision_,
                                            "labeled_batch_size": vae.labeled_batch_size,
                                            "fused_adam": fused,
                                            "activation": vae.activation,
                                            **({"conv_block": list(block)} if block else {}),
                                            **conv, "seconds": seconds})
                    print(f"{name} {n_labels} s{seed} {setting:20s} {100 * acc:.2f} "
                          f"{seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
