"""Label, augmentation and encoder rules of ``VAETransformer``.

Kept apart from the estimator so the rules (what counts as unlabeled, when labels
are refused, when images are augmented, when the encoder is convolutional) are in
one short place.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import type_of_target

from ._augment import ImageAugment, infer_image_shape

__all__ = ["AUTO_LABEL_WEIGHT", "AUTO_LABEL_WEIGHT_RULE", "check_labels", "make_augment",
           "resolve_augmentation", "resolve_encoder", "resolve_label_weight", "uses_labels"]

#: ``label_weight="auto"``: n_labeled / SCALE, clipped to [LOW, HIGH]. Chosen on
#: validation data (10,000 held-out train images) at 100, 600, 1000 and 3000 labels; see
#: the user guide's section on the semi-supervised objective.
AUTO_LABEL_WEIGHT = {"scale": 150.0, "low": 0.3, "high": 10.0}
#: The rule in words, for reports and labels: "labels / 150 in [0.3, 10]".
AUTO_LABEL_WEIGHT_RULE = ("labels / {scale:g} in [{low:g}, {high:g}]"
                          .format(**AUTO_LABEL_WEIGHT))


def _unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """Rows whose label is -1 (numeric -1, or the string "-1" for text labels)."""
    if y.dtype.kind in "biuf":
        return y == -1
    return np.array([str(v) == "-1" for v in y], dtype=bool)


def check_labels(y, n_samples: int, *, use: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """Validate ``y`` for ``VAETransformer.fit`` and encode it for training.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Labels, -1 for unlabeled rows.
    n_samples : int
        Rows of ``X``.
    use : bool
        Whether the semi-supervised objective is on (``label_weight`` is
        ``"auto"`` or > 0).

    Returns
    -------
    codes : ndarray of int64 or None
        Class index per row, -1 for unlabeled rows; None when no labels are used.
    classes : ndarray
        The sorted classes (empty when no labels are used).

    Raises
    ------
    ValueError
        Wrong shape; continuous targets or a single labeled class while ``use``.
    """
    empty = np.array([])
    if y is None:
        return None, empty
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(
            f"y must be 1-D with one label per row of X: X has {n_samples} rows, "
            f"y has shape {y.shape}. Use -1 for unlabeled rows."
        )
    if not use:
        return None, empty
    labeled = ~_unlabeled_mask(y)
    if not labeled.any():
        return None, empty
    y_lab = y[labeled]
    kind = type_of_target(y_lab)
    if kind.startswith("continuous"):
        raise ValueError(
            "y has continuous values, but the semi-supervised objective needs class "
            "labels (-1 for unlabeled rows). Pass label_weight=0 to train the VAE "
            "without labels, e.g. in a regression pipeline."
        )
    classes, codes_lab = np.unique(y_lab, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"The labeled rows of y all have the class {classes[0]!s}; the "
            "semi-supervised objective needs at least 2 classes. Label rows of other "
            "classes, mark unlabeled rows with -1, or pass label_weight=0 to train "
            "without labels."
        )
    codes = np.full(n_samples, -1, dtype=np.int64)
    codes[labeled] = codes_lab
    return codes, classes


def _resolve_image_option(param: str, value: str, image_choice: str, plain_choice: str,
                          n_features: int, likelihood: str) -> str:
    """The rule shared by the image-only options (``augmentation``, ``encoder``).

    ``"auto"`` gives ``image_choice`` for square images (side >= 8) under the
    Bernoulli likelihood, else ``plain_choice``; an explicit value other than
    ``plain_choice`` needs square images and raises ValueError otherwise.
    """
    square = infer_image_shape(n_features) is not None
    if value == "auto":
        return image_choice if square and likelihood == "bernoulli" else plain_choice
    if value != plain_choice and not square:
        raise ValueError(
            f"{param}={value!r} needs square images (n_features = side * side with side "
            f">= 8); X has {n_features} features. Use {param}={plain_choice!r} for other "
            "data."
        )
    return value


def resolve_augmentation(augmentation: str, n_features: int, likelihood: str) -> str:
    """Turn ``augmentation="auto"`` into a concrete choice and check explicit ones.

    Parameters
    ----------
    augmentation : {"auto", "none", "shift", "shift_flip"}
        The parameter value.
    n_features : int
        Features per row.
    likelihood : str
        The VAE's likelihood.

    Returns
    -------
    str
        ``"none"``, ``"shift"`` or ``"shift_flip"``.
    """
    return _resolve_image_option("augmentation", augmentation, "shift_flip", "none",
                                 n_features, likelihood)


def resolve_encoder(encoder: str, n_features: int, likelihood: str
                    ) -> tuple[str, tuple[int, int] | None]:
    """Turn ``encoder="auto"`` into a concrete choice and check explicit ones.

    Parameters
    ----------
    encoder : {"auto", "mlp", "conv"}
        The parameter value.
    n_features : int
        Features per row.
    likelihood : str
        The VAE's likelihood.

    Returns
    -------
    encoder : str
        ``"mlp"`` or ``"conv"``; ``"auto"`` follows the same rule as
        ``augmentation="auto"`` (square images of side >= 8 under the Bernoulli
        likelihood get ``"conv"``).
    image_shape : (int, int) or None
        The image shape for ``"conv"``, else None.
    """
    encoder = _resolve_image_option("encoder", encoder, "conv", "mlp", n_features, likelihood)
    return encoder, infer_image_shape(n_features) if encoder == "conv" else None


def make_augment(augmentation: str, n_features: int) -> ImageAugment:
    """Build the batch transformation for a resolved ``augmentation`` other than "none"."""
    return ImageAugment(infer_image_shape(n_features), flip=augmentation == "shift_flip")


def uses_labels(label_weight: float | str) -> bool:
    """Whether ``label_weight`` turns the semi-supervised objective on ("auto" or > 0)."""
    return label_weight == "auto" or label_weight > 0


def resolve_label_weight(label_weight: float | str, n_labeled: int) -> float:
    """Turn ``label_weight="auto"`` into the weight used for ``n_labeled`` labels.

    Parameters
    ----------
    label_weight : float or "auto"
        The parameter value; a number is returned unchanged.
    n_labeled : int
        Number of labeled training rows.

    Returns
    -------
    float
        ``n_labeled / 150`` clipped to [0.3, 10] for ``"auto"`` (0.67 at 100
        labels, 4 at 600, 6.7 at 1000, 10 from 1500 on), else ``label_weight``.
    """
    if label_weight != "auto":
        return float(label_weight)
    a = AUTO_LABEL_WEIGHT
    return float(min(a["high"], max(a["low"], n_labeled / a["scale"])))
