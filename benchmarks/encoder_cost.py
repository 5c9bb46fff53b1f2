"""Epoch time of the default VAE with cheaper conv encoders, against the bare M1 epoch.

    python benchmarks/encoder_cost.py --rows 20000 --repeats 3

One training epoch (``history_`` duration) of the default ``VAETransformer``
(100 labels, bfloat16 where the hardware has it, propagation off) on the first
``--rows`` Fashion-MNIST train images, with the conv encoder as shipped and with
the variants validated in ``benchmarks/validation/speed_levers.py`` (channels
8-16 and 16-16; both kernels 5x5, the second 3x3), each as a multiple of a bare
float32 M1 epoch (``bench.py``'s item 1 loop) measured in the same run,
interleaved; medians of ``--repeats``. The variants patch
``vaesvm._model.CONV_CHANNELS`` and ``CONV_KERNELS`` for their fits.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from bench import bare_epoch

import vaesvm._model
from vaesvm import VAETransformer, load_fashion_mnist

#: Name -> (channels, kernels) of the conv encoder.
VARIANTS = {"shipped": (vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS),
            "channels 16-32, kernels 5-5": ((16, 32), (5, 5)),
            "channels 16-32, kernels 5-3": ((16, 32), (5, 3)),
            "channels 16-16, kernels 5-5": ((16, 16), (5, 5)),
            "channels 8-16, kernels 5-5": ((8, 16), (5, 5))}


def epoch_seconds(X: np.ndarray, y: np.ndarray, seed: int, channels: tuple[int, int],
                  kernels: tuple[int, int]) -> float:
    """One epoch of the default model with the given conv encoder (fit's own timing)."""
    saved = vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS
    vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS = channels, kernels
    try:
        vae = VAETransformer(max_epochs=1, device="cpu", random_state=seed,
                             propagation_alpha=0.0).fit(X, y)
    finally:
        vaesvm._model.CONV_CHANNELS, vaesvm._model.CONV_KERNELS = saved
    return vae.history_[0]["dur"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_fashion_mnist()
    X = data.X_train[:args.rows]
    y = np.full(len(X), -1)
    y[:100] = data.y_train[:100]
    X_t = torch.from_numpy(X)
    times: dict[str, list[float]] = {"bare float32 M1": [], **{name: [] for name in VARIANTS}}
    for rep in range(args.repeats):
        times["bare float32 M1"].append(bare_epoch(X_t, 256, rep))
        for name, (channels, kernels) in VARIANTS.items():
            times[name].append(epoch_seconds(X, y, rep, channels, kernels))
    m1 = statistics.median(times["bare float32 M1"])
    print(f"{torch.get_num_threads()} threads, {len(X)} images, 100 labels; "
          f"medians of {args.repeats} interleaved runs")
    for name, seconds in times.items():
        s = statistics.median(seconds)
        print(f"{name:30s} {s:6.2f} s per epoch = {s / m1:.2f}x the bare float32 M1 epoch")


if __name__ == "__main__":
    main()
