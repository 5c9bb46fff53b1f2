"""Input and parameter checks of ``VAETransformer``: fail early, say how to fix it."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, validate_data

from ._options import GAUSSIAN_SCALE, RULE_TEXTS, uses_labels
from ._rows import RowStack

__all__ = ["TrainingData", "as_tensor", "check_input", "check_labels", "check_training_data",
           "far_from_unit_scale", "unlabeled_mask", "user_stacklevel", "warn_ineffective_settings"]

#: Packages whose frames a warning skips to point at the user's own line.
_LIBRARIES = frozenset({"vaesvm", "sklearn", "skorch", "torch", "joblib"})


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside the libraries.

    Counted for a ``warnings.warn`` in the function that calls this one: through a
    Pipeline, a search or the study app the warning then names the user's line, not
    a line of scikit-learn's.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _LIBRARIES:
        frame, level = frame.f_back, level + 1
    return level


def as_tensor(X, device=None) -> torch.Tensor:
    """``X`` as a tensor sharing its memory where possible (no copy on the CPU).

    Read-only arrays (memmaps, pandas' views) are fine: vaesvm never writes to
    these tensors, so torch's warning about non-writable arrays is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        X = np.asarray(X)
        if any(stride < 0 for stride in X.strides):  # e.g. X[:, ::-1]; torch refuses those
            X = np.ascontiguousarray(X)
        return torch.as_tensor(X, device=device)


def check_input(estimator, X, *, reset: bool, name: str = "X",
                likelihood: str | None = None) -> np.ndarray:
    """Validate data for ``estimator`` and return it as a float32 array.

    ``X`` goes through :func:`sklearn.utils.validation.validate_data` (which sets or
    checks ``n_features_in_``/``feature_names_in_``); other inputs (``name`` other
    than ``"X"``, e.g. ``X_unlabeled``) through ``check_array``. Then NaN/inf and,
    under ``likelihood="bernoulli"``, values outside [0, 1] are refused.

    Parameters
    ----------
    estimator : VAETransformer
        The estimator the data are for.
    X : array-like of shape (n_samples, n_features)
        The data.
    reset : bool
        Whether this is ``fit`` (records the feature count and names).
    name : str, default="X"
        Name of the input in error messages.
    likelihood : str or None, default=None
        The likelihood whose value range applies; None: the estimator's
        ``likelihood`` parameter (a fitted model passes the one it was trained with).

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float32
        The validated data (not copied when it already was float32).
    """
    cls = type(estimator).__name__
    # X_unlabeled may have no rows (every row labeled): it then adds nothing
    kwargs = dict(dtype=np.float32, ensure_all_finite=False,
                  ensure_min_samples=1 if name == "X" else 0)
    try:
        if name == "X":
            X = validate_data(estimator, X, reset=reset, **kwargs)
        else:
            X = check_array(X, input_name=name, **kwargs)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        if "could not convert" in msg or "argument must be" in msg:
            raise type(exc)(
                f"{msg}. {cls} needs numeric features: encode string or categorical "
                "columns first (e.g. with OneHotEncoder)."
            ) from exc
        if "Found array with dim" in msg:
            raise ValueError(
                f"{msg} {name} must be 2-D (n_samples, n_features): flatten images "
                f"first, e.g. {name}.reshape(len({name}), -1)."
            ) from exc
        raise
    if X.size:
        # One multi-threaded pass gives both bounds; NaN propagates into them and
        # +-inf shows in them, so they also tell whether X is finite.
        lo, hi = (float(v) for v in torch.aminmax(as_tensor(X)))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(
                f"Input {name} contains NaN or infinity. {cls} cannot train on missing "
                "or infinite values: impute them first (e.g. sklearn.impute.SimpleImputer)"
                " or drop those rows."
            )
        if likelihood is None:
            likelihood = estimator.likelihood
        if likelihood == "bernoulli" and (lo < 0 or hi > 1):
            raise ValueError(
                f"{name} has values in [{lo!r}, {hi!r}], but likelihood='bernoulli' "
                "needs values in [0, 1]. Scale the data, e.g. "
                f"{name} / 255.0 for 8-bit images or sklearn.preprocessing.MinMaxScaler, "
                "or use likelihood='gaussian' for real-valued features."
            )
    return X


def unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """Rows whose label is -1 (numeric -1, or the string "-1" for text labels)."""
    if y.dtype.kind in "biuf":
        return y == -1
    return np.array([str(v) == "-1" for v in y], dtype=bool)


def _check_label_values(y: np.ndarray) -> None:
    """Refuse missing labels and labels that mix strings with numbers."""
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(
            f"y has {int(np.isnan(y).sum())} NaN labels. Mark unlabeled rows with -1 "
            "instead of NaN."
        )
    if y.dtype.kind == "O":
        kinds = {type(v).__name__ for v in y if v is not None and not isinstance(v, str)}
        n_none = sum(v is None for v in y)
        if n_none or any(isinstance(v, float) and np.isnan(v) for v in y):
            raise ValueError(
                "y has missing labels (None or NaN). Mark unlabeled rows with -1 (or '-1' "
                "for string labels)."
            )
        if kinds and any(isinstance(v, str) for v in y):
            raise ValueError(
                f"y mixes strings with numbers ({', '.join(sorted(kinds))}); the classifier "
                "after the VAE would fail on it. Use one type: with string labels mark "
                "unlabeled rows with the string '-1'."
            )


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
    _check_label_values(y)
    labeled = ~unlabeled_mask(y)
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


@dataclass(frozen=True)
class TrainingData:
    """The validated training set of one ``fit``.

    Attributes
    ----------
    X : ndarray or RowStack of shape (n_rows, n_features), dtype float32
        The rows of ``X`` followed by those of ``X_unlabeled`` (a
        :class:`~vaesvm._rows.RowStack` of both arrays as given, not copied,
        when ``X_unlabeled`` has rows).
    y : ndarray of shape (n_rows,), dtype int64, or None
        Class index per row, -1 for unlabeled rows; None when no labels are used.
    classes : ndarray
        The classes behind the indices (empty without labels).
    n_labeled : int
        Labeled rows.
    n_given : int
        Rows of ``X`` (the first rows of ``X`` here; ``fit_transform`` returns theirs).
    n_features_in : int
        Features per row.
    feature_names_in : ndarray or None
        Column names of ``X`` when it had string names.
    """

    X: np.ndarray | RowStack
    y: np.ndarray | None
    classes: np.ndarray
    n_labeled: int
    n_given: int
    n_features_in: int
    feature_names_in: np.ndarray | None


def check_training_data(estimator, X, y=None, X_unlabeled=None) -> TrainingData:
    """Validate everything ``fit`` trains on, without changing ``estimator``.

    Parameters
    ----------
    estimator : VAETransformer
        The estimator to be fitted (its parameters are read, never changed).
    X : array-like of shape (n_samples, n_features)
        Training rows.
    y : array-like of shape (n_samples,) or None
        Labels, -1 for unlabeled rows.
    X_unlabeled : array-like of shape (n_unlabeled, n_features) or None
        Extra unlabeled rows.

    Returns
    -------
    TrainingData
    """
    probe = clone(estimator)  # validate_data records n_features_in_ on the probe only
    X = check_input(probe, X, reset=True)
    n_given = len(X)
    if X_unlabeled is not None:
        X_unl = check_input(probe, X_unlabeled, reset=False, name="X_unlabeled")
        names = getattr(X_unlabeled, "columns", None)
        fitted = getattr(probe, "feature_names_in_", None)
        if names is not None and fitted is not None and list(map(str, names)) != list(fitted):
            raise ValueError(
                f"X_unlabeled has the columns {list(names)[:5]}... but X has "
                f"{list(fitted)[:5]}...; pass X_unlabeled with X's columns in X's order, "
                "e.g. X_unlabeled[X.columns]."
            )
        if X_unl.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_unlabeled has {X_unl.shape[1]} features but X has {X.shape[1]}; "
                "both must have the same columns."
            )
        if len(X_unl):  # the rows of both, not copied (X_unl may be a memmap)
            X = RowStack([X, X_unl])
    if len(X) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 training samples (BatchNorm "
            f"and the ELBO are estimated on mini-batches); got {len(X)} sample. "
            "Pass more rows in X or X_unlabeled."
        )
    codes, classes = check_labels(y, n_given, use=uses_labels(estimator.label_weight))
    n_labeled = 0 if codes is None else int(np.sum(codes >= 0))
    if codes is not None and len(X) > n_given:  # X_unlabeled rows are unlabeled
        codes = np.concatenate([codes, np.full(len(X) - n_given, -1, np.int64)])
    return TrainingData(X=X, y=codes, classes=classes, n_labeled=n_labeled, n_given=n_given,
                        n_features_in=probe.n_features_in_,
                        feature_names_in=getattr(probe, "feature_names_in_", None))


def far_from_unit_scale(X: np.ndarray) -> tuple[int, int, float, float]:
    """The features of ``X`` far from unit scale (the :data:`GAUSSIAN_SCALE` rule).

    Returns
    -------
    n_far : int
        How many features are far from unit scale.
    worst : int
        Index of the farthest one (meaningful when ``n_far`` > 0).
    mean, std : float
        Its mean and standard deviation.
    """
    g = GAUSSIAN_SCALE
    rows = np.unique(np.linspace(0, len(X) - 1, min(len(X), g["rows"])).astype(int))
    sample = np.asarray(X[rows], dtype=np.float64)
    mean, std = sample.mean(0), sample.std(0)
    varies = std > 0
    safe = np.where(varies, std, 1.0)
    # how many times beyond its bound each feature lies (<= 1: within the bounds)
    excess = np.maximum.reduce([np.abs(mean) / g["max_mean"],
                                np.where(varies, safe / g["high"], 0.0),
                                np.where(varies, g["low"] / safe, 0.0)])
    worst = int(np.argmax(excess))
    return int(np.sum(excess > 1)), worst, float(mean[worst]), float(std[worst])


def warn_ineffective_settings(estimator, data: TrainingData, options) -> None:
    """Warn, before training, about settings that cannot do what they ask for.

    - ``kl_warmup_epochs`` > ``max_epochs`` (with a KL weight > 0): the KL
      weight never reaches ``kl_weight``; with ``max_epochs=1`` it stays 0.
    - a number ``label_weight`` > 0 but no labeled rows: the plain VAE is trained.
    - ``likelihood="gaussian"`` with features far from unit scale
      (:data:`~vaesvm._options.GAUSSIAN_SCALE`).

    Parameters
    ----------
    estimator : VAETransformer
        Its parameters are read, never changed.
    data : TrainingData
        The validated training set.
    options : FitOptions
        The resolved options ``fit`` will train with (epochs, KL weight).
    """
    e, epochs, kl_weight = estimator, options.max_epochs, options.kl_weight
    if kl_weight > 0 and e.kl_warmup_epochs > epochs:
        last = kl_weight * (epochs - 1) / e.kl_warmup_epochs
        third = epochs // 3
        fix = (f"e.g. kl_warmup_epochs={third}, a third of training as in the defaults"
               if third else "kl_warmup_epochs=0: no warm-up")
        said = f"{epochs}" if e.max_epochs != "auto" else f"'auto' ({epochs} here)"
        weight = f"{kl_weight:g}" if e.kl_weight != "auto" else f"'auto' ({kl_weight:g} here)"
        warnings.warn(
            f"kl_warmup_epochs={e.kl_warmup_epochs} is longer than max_epochs="
            f"{said}: the KL weight rises from 0 by kl_weight/{e.kl_warmup_epochs} "
            f"per epoch and is only {last:.3g} (not kl_weight={weight}) in the last "
            "epoch, so the codes are hardly regularized (with max_epochs=1 the VAE trains "
            f"as a plain autoencoder). Set kl_warmup_epochs to at most max_epochs ({fix}) "
            "or raise max_epochs.", UserWarning, stacklevel=user_stacklevel())
    if e.label_weight != "auto" and e.label_weight > 0 and data.n_labeled == 0:
        warnings.warn(
            f"label_weight={e.label_weight:g} has no effect: fit got no labeled rows (y is "
            "None, or every label is -1), so the plain unsupervised VAE is trained. Pass "
            "class labels in y, or label_weight=0 to train without them.",
            UserWarning, stacklevel=user_stacklevel())
    if e.likelihood == "gaussian":
        n_far, j, mean, std = far_from_unit_scale(data.X)
        if n_far:
            warnings.warn(
                f"likelihood='gaussian' needs features on a unit scale, but {n_far} of "
                f"{data.X.shape[1]} features are far from it (far: "
                f"{RULE_TEXTS['gaussian_scale_rule']}; feature {j}: mean {mean:.3g}, "
                f"standard deviation {std:.3g}); the VAE then learns little about them. "
                "Standardize the features first: make_pipeline(StandardScaler(), "
                "VAETransformer(likelihood='gaussian')).", UserWarning,
                stacklevel=user_stacklevel())
