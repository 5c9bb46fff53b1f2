"""Input and parameter checks of ``VAETransformer``: fail early, say how to fix it."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

__all__ = ["as_tensor", "check_input", "check_hidden_layer_sizes", "resolve_device"]


def as_tensor(X, device=None) -> torch.Tensor:
    """``X`` as a tensor sharing its memory where possible (no copy on the CPU).

    Read-only arrays (memmaps, pandas' views) are fine: vaesvm never writes to
    these tensors, so torch's warning about non-writable arrays is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(np.asarray(X), device=device)


def check_input(estimator, X, *, reset: bool, name: str = "X") -> np.ndarray:
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

    Returns
    -------
    ndarray of shape (n_samples, n_features), dtype float32
        The validated data (not copied when it already was float32).
    """
    cls = type(estimator).__name__
    kwargs = dict(dtype=np.float32, ensure_all_finite=False)
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
        if estimator.likelihood == "bernoulli" and (lo < 0 or hi > 1):
            raise ValueError(
                f"{name} has values in [{lo:.4g}, {hi:.4g}], but likelihood='bernoulli' "
                "needs values in [0, 1]. Scale the data, e.g. "
                f"{name} / 255.0 for 8-bit images or sklearn.preprocessing.MinMaxScaler, "
                "or use likelihood='gaussian' for real-valued features."
            )
    return X


def resolve_device(device: str | torch.device) -> str:
    """Turn ``"auto"`` into ``"cuda"``/``"cpu"``; refuse invalid or unavailable devices.

    Parameters
    ----------
    device : str or torch.device
        The requested device.

    Returns
    -------
    str
        The device to train on.
    """
    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; use "
            "device='auto' or device='cpu'."
        )
    return device


def check_hidden_layer_sizes(sizes) -> tuple[int, ...]:
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise ValueError.

    Parameters
    ----------
    sizes : int or sequence of int
        One width or one width per hidden layer.

    Returns
    -------
    tuple of int
    """
    given = sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of positive ints, "
            f"e.g. (600, 600); got {given!r}."
        )
    return tuple(int(s) for s in sizes)
