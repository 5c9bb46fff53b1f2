"""Epoch time of the default VAE on colour images, next to grey 28 x 28 ones.

    python benchmarks/image_epoch.py

One training epoch (``history_[0]["dur"]``) of ``VAETransformer`` with 100 labels
on 10,000 random smooth images of each shape, measured in the same run: grey
1 x 28 x 28 (Fashion-MNIST's shape) and colour 3 x 32 x 32 (CIFAR's), each with
the augmentation ``"auto"`` gives 10,000 rows (none) and with ``"shift_flip"``.
Propagation is off (it is not part of an epoch).
"""

from __future__ import annotations

import argparse

import numpy as np

from vaesvm import VAETransformer


def _images(n: int, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    c, h, w = shape
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.rand(2, n, 1, 1, 1) * np.array([h, w])[:, None, None, None, None]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 20.0)
    return (blob * rng.rand(n, c, 1, 1)).reshape(n, -1).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    y = np.full(args.rows, -1)
    y[:100] = np.arange(100) % 10
    base = None
    for shape in ((1, 28, 28), (3, 32, 32)):
        X = _images(args.rows, shape)
        for augmentation in ("auto", "shift_flip"):
            vae = VAETransformer(image_shape=shape, augmentation=augmentation, max_epochs=1,
                                 propagation_alpha=0, random_state=0).fit(X, y)
            dur = vae.history_[0]["dur"]
            base = base or dur
            print(f"{shape} augmentation={augmentation!r} ({vae.augmentation_}): one epoch of "
                  f"{args.rows} images {dur:.2f} s ({dur / base:.2f}x grey 28 x 28, auto)")


if __name__ == "__main__":
    main()
