"""Epoch time of the default VAE under speed levers, against the bare M1 epoch.

    python benchmarks/epoch_levers.py --rows 20000 --repeats 5

One training epoch (``history_`` duration) of the default ``VAETransformer``
(100 labels, bfloat16 where the hardware has it, propagation off) on the first
``--rows`` Fashion-MNIST train images: as shipped; with the conv encoders
validated in ``benchmarks/validation/speed_levers.py`` (channels 8-16 and 16-16;
both kernels 5x5, the second 3x3); with a third stride-2 convolution (16-32-32
channels, kernels 5-3-3: 4 x 4 x 32 codes into the dense layer instead of
7 x 7 x 32, a third of that layer's multiply-adds); with ReLU after the two
convolutions, without batch normalization there, or both (``conv_encoder_with`` of
``validation/speed_levers.py``, which validates them); with ReLU after every
hidden layer (``activation="relu"``); with Adam unfused (the shipped optimizer is
fused where torch has the kernel) and in its ``foreach`` implementation; with the
convolutions in ``channels_last`` memory; and with 32 instead of 64 labeled rows
per batch (``labeled_batch_size``). Each is printed as a multiple of a bare
float32 M1 epoch (``bench.py``'s item 1 loop, with Adam as ``fit`` runs it)
measured in the same run, interleaved; medians of ``--repeats``, and the range
and median of each repeat's epoch over the M1 epoch timed next to it. The variants
patch ``vaesvm._model`` (``CONV_CHANNELS``, ``CONV_KERNELS``,
``make_conv_encoder``), ``vaesvm._net.has_fused_adam`` and ``torch.optim.Adam``
for their fits only.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from bench import bare_epoch

sys.path.insert(0, str(Path(__file__).parent / "validation"))
from speed_levers import conv_encoder_with  # noqa: E402

import vaesvm._model
import vaesvm._net
from vaesvm import VAETransformer, load_fashion_mnist

_make_conv_encoder = vaesvm._model.make_conv_encoder


class _ToChannelsLast(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


def channels_last_encoder(*args, **kwargs):
    """The shipped conv encoder with its images and kernels in channels_last memory."""
    body, width = _make_conv_encoder(*args, **kwargs)
    layers = list(body)
    for layer in layers:
        if isinstance(layer, torch.nn.Conv2d):
            layer.weight.data = layer.weight.data.contiguous(memory_format=torch.channels_last)
    layers.insert(1, _ToChannelsLast())  # right after the Unflatten
    return torch.nn.Sequential(*layers), width


#: Name -> ((module, attributes) pairs it patches, VAETransformer parameters it sets).
VARIANTS: dict[str, tuple[list[tuple[object, dict]], dict]] = {
    "shipped": ([], {}),
    "channels 16-32, kernels 5-5": ([(vaesvm._model, {"CONV_KERNELS": (5, 5)})], {}),
    "channels 16-16, kernels 5-5": ([(vaesvm._model, {"CONV_CHANNELS": (16, 16),
                                                      "CONV_KERNELS": (5, 5)})], {}),
    "channels 8-16, kernels 5-5": ([(vaesvm._model, {"CONV_CHANNELS": (8, 16),
                                                     "CONV_KERNELS": (5, 5)})], {}),
    "channels 16-32-32, kernels 5-3-3": ([(vaesvm._model, {"CONV_CHANNELS": (16, 32, 32),
                                                           "CONV_KERNELS": (5, 3, 3)})], {}),
    "conv ReLU": ([(vaesvm._model, {"make_conv_encoder": conv_encoder_with("relu", True)})],
                  {}),
    "conv no batch norm": ([(vaesvm._model,
                             {"make_conv_encoder": conv_encoder_with("softplus", False)})], {}),
    "conv ReLU, no batch norm": ([(vaesvm._model,
                                   {"make_conv_encoder": conv_encoder_with("relu", False)})], {}),
    "ReLU everywhere": ([], {"activation": "relu"}),
    "unfused Adam": ([(vaesvm._net, {"has_fused_adam": lambda device: False})], {}),
    "foreach Adam": ([(vaesvm._net, {"has_fused_adam": lambda device: False}),
                      (torch.optim, {"Adam": functools.partial(torch.optim.Adam,
                                                               foreach=True)})], {}),
    "channels_last convolutions": ([(vaesvm._model,
                                     {"make_conv_encoder": channels_last_encoder})], {}),
    "32 labeled rows per batch": ([], {"labeled_batch_size": 32}),
}


def epoch_seconds(X: np.ndarray, y: np.ndarray, seed: int,
                  patches: list[tuple[object, dict]], params: dict) -> float:
    """One epoch of the default model with ``params`` under ``patches`` (fit's own timing)."""
    with contextlib.ExitStack() as stack:
        for module, attributes in patches:
            stack.enter_context(mock.patch.multiple(module, **attributes))
        vae = VAETransformer(max_epochs=1, device="cpu", random_state=seed,
                             propagation_alpha=0.0, **params).fit(X, y)
    return vae.history_[0]["dur"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    variants = {name: VARIANTS[name] for name in args.variants}
    data = load_fashion_mnist()
    X = data.X_train[:args.rows]
    y = np.full(len(X), -1)
    y[:100] = data.y_train[:100]
    X_t = torch.from_numpy(X)
    times: dict[str, list[float]] = {"bare float32 M1": [], "bare M1, plain Adam": [],
                                     **{name: [] for name in variants}}
    for rep in range(args.repeats):
        times["bare float32 M1"].append(bare_epoch(X_t, 256, rep))
        times["bare M1, plain Adam"].append(bare_epoch(X_t, 256, rep, fused=False))
        for name, (patches, params) in variants.items():
            times[name].append(epoch_seconds(X, y, rep, patches, params))
    m1 = statistics.median(times["bare float32 M1"])
    print(f"{torch.get_num_threads()} threads, {len(X)} images, 100 labels; shipped: channels "
          f"{vaesvm._model.CONV_CHANNELS}, kernels {vaesvm._model.CONV_KERNELS}; medians of "
          f"{args.repeats} interleaved runs")
    for name, seconds in times.items():
        s = statistics.median(seconds)
        # each repeat's epoch against the M1 epoch timed next to it
        paired = [t / ref for t, ref in zip(seconds, times["bare float32 M1"])]
        print(f"{name:30s} {s:6.2f} s per epoch = {s / m1:.2f}x the bare float32 M1 epoch "
              f"(per repeat {min(paired):.2f}-{max(paired):.2f}x, median "
              f"{statistics.median(paired):.2f}x)")


if __name__ == "__main__":
    main()
