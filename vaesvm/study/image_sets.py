"""Image sets the defaults were *not* chosen on, in the shape of ``load_fashion_mnist``.

The defaults of ``VAETransformer`` were tuned on Fashion-MNIST. These loaders give
other image data in the same Bunch form (``X_train``, ``y_train``, ``X_test``,
``y_test``, ``target_names``, plus ``image_shape``: what a user would declare, None
when ``image_shape="auto"`` should find it), so the study can run on them:

- ``"digits"``: scikit-learn's bundled 8 x 8 handwritten digits (1,797 images, 16
  grey levels scaled to [0, 1]); a fixed stratified 70 / 30 train / test split.
- ``"fashion-mnist-14"``: Fashion-MNIST averaged over 2 x 2 blocks to 14 x 14.
- ``"fashion-mnist-colour"``: Fashion-MNIST tinted with a random colour per image,
  3 x 28 x 28 channels-first (the colour carries no class information; the
  image shape must be declared).

The Fashion-MNIST variants keep the first ``n_train`` train images (12,000 by
default, for time) and the whole official test set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets import CLASS_NAMES, load_fashion_mnist
from .config import IMAGE_SETS

__all__ = ["IMAGE_SETS", "load_image_set"]


def _bunch(X_train, y_train, X_test, y_test, target_names, image_shape, name, what):
    from sklearn.utils import Bunch

    return Bunch(X_train=np.ascontiguousarray(X_train, dtype=np.float32), y_train=y_train,
                 X_test=np.ascontiguousarray(X_test, dtype=np.float32), y_test=y_test,
                 target_names=list(target_names), image_shape=image_shape, name=name,
                 data_dir=None, description=f"{what}, {len(y_train):,} train / "
                 f"{len(y_test):,} test images")


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    X_tr, X_te, y_tr, y_te = train_test_split(X, digits.target.astype(np.int64),
                                              test_size=0.3, stratify=digits.target,
                                              random_state=0)
    return X_tr, y_tr, X_te, y_te, [str(d) for d in range(10)]


def _downsampled(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(X), -1)


def _tinted(X: np.ndarray, seed: int) -> np.ndarray:
    tint = np.random.RandomState(seed).uniform(0.3, 1.0, size=(len(X), 3, 1))
    return (X[:, None, :] * tint).reshape(len(X), -1)


def load_image_set(name: str, *, n_train: int = 12000, data_home=None) -> Any:
    """Load one of :data:`IMAGE_SETS` as a Bunch like :func:`~vaesvm.load_fashion_mnist`'s.

    Parameters
    ----------
    name : str
        A key of :data:`IMAGE_SETS`.
    n_train : int, default=12000
        Train images kept of the Fashion-MNIST variants.
    data_home : path-like, optional
        Where the Fashion-MNIST files are (see :func:`~vaesvm.load_fashion_mnist`).

    Returns
    -------
    sklearn.utils.Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test``, ``target_names``,
        ``image_shape`` (None: found by ``image_shape="auto"``), ``name`` and
        ``description`` (what the images are and how many, for reports).
    """
    if name not in IMAGE_SETS:
        raise ValueError(f"Unknown image set {name!r}; choose one of {list(IMAGE_SETS)}.")
    if name == "digits":
        return _bunch(*_digits(), None, name, "scikit-learn's 8 x 8 digits (a fixed "
                      "stratified 70 / 30 train / test split)")
    data = load_fashion_mnist(data_home)
    if name == "fashion-mnist":
        return _bunch(data.X_train, data.y_train, data.X_test, data.y_test, CLASS_NAMES,
                      None, name, "Fashion-MNIST, 28 x 28 grey")
    X_tr, y_tr = data.X_train[:n_train], data.y_train[:n_train]
    first = (f"the first {len(y_tr):,} of its {len(data.y_train):,} train images"
             if len(y_tr) < len(data.y_train) else "all its train images")
    if name == "fashion-mnist-14":
        return _bunch(_downsampled(X_tr), y_tr, _downsampled(data.X_test), data.y_test,
                      CLASS_NAMES, None, name, "Fashion-MNIST averaged over 2 x 2 blocks to "
                      f"14 x 14 ({first} and the official test set)")
    return _bunch(_tinted(X_tr, 0), y_tr, _tinted(data.X_test, 1), data.y_test, CLASS_NAMES,
                  (3, 28, 28), name, "Fashion-MNIST tinted with a random colour per image, "
                  f"3 x 28 x 28 ({first} and the official test set)")
