"""Every ``"auto"`` rule of ``VAETransformer``, in one place.

Each rule is a constant (what the rule is) plus a text rendered from it (what the
rule says). The texts fill the ``|name|`` placeholders of the estimator's
docstring (:func:`fill_rule_texts`), the documentation (``docs/conf.py`` turns
:data:`RULE_TEXTS` into reStructuredText substitutions), the study note and the
ablation labels, so changing a constant changes every place that states it.

:func:`resolve_options` turns the estimator's parameters into one frozen
:class:`FitOptions` record: what ``fit`` actually uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["AUTO_LABEL_WEIGHT", "AUTO_PROPAGATION_ALPHA", "FitOptions", "IMAGE_MIN_SIDE",
           "RULE_TEXTS", "fill_rule_texts", "image_shape_of", "resolve_augmentation",
           "resolve_device", "resolve_encoder", "resolve_label_weight", "resolve_options",
           "resolve_propagation_alpha", "uses_labels"]

#: ``label_weight="auto"``: labeled rows / ``scale``, clipped to [``low``, ``high``].
#: Chosen on validation data (10,000 held-out train images) at 100, 600, 1000 and
#: 3000 labels; see "How the defaults were chosen" in the documentation.
AUTO_LABEL_WEIGHT = {"scale": 150.0, "low": 0.3, "high": 10.0}

#: ``propagation_alpha="auto"``: ``high`` up to ``start`` labeled rows (and without
#: labels), then linearly down to ``low`` at ``end`` labeled rows, ``low`` beyond.
AUTO_PROPAGATION_ALPHA = {"high": 0.9, "low": 0.5, "start": 1000, "end": 3000}

#: ``augmentation="auto"`` and ``encoder="auto"`` treat rows as images when the
#: feature count is the square of a side of at least this many pixels and the
#: likelihood is Bernoulli.
IMAGE_MIN_SIDE = 8


# ------------------------------------------------------------------- the rules
def uses_labels(label_weight: float | str) -> bool:
    """Whether ``label_weight`` turns the semi-supervised objective on ("auto" or > 0)."""
    return label_weight == "auto" or label_weight > 0


def resolve_label_weight(label_weight: float | str, n_labeled: int) -> float:
    """The weight of the classification term for ``n_labeled`` labeled rows.

    Parameters
    ----------
    label_weight : float or "auto"
        The parameter value; a number is returned unchanged.
    n_labeled : int
        Number of labeled training rows.

    Returns
    -------
    float
        For ``"auto"``: |label_weight_rule|; 0.0 without labeled rows.
    """
    if n_labeled == 0:
        return 0.0
    if label_weight != "auto":
        return float(label_weight)
    a = AUTO_LABEL_WEIGHT
    return float(min(a["high"], max(a["low"], n_labeled / a["scale"])))


def resolve_propagation_alpha(alpha: float | str, n_labeled: int) -> float:
    """The weight of embedding propagation for ``n_labeled`` labeled rows.

    Parameters
    ----------
    alpha : float or "auto"
        The parameter value; a number is returned unchanged.
    n_labeled : int
        Number of labeled training rows (0 without labels).

    Returns
    -------
    float
        For ``"auto"``: |propagation_rule|.
    """
    if alpha != "auto":
        return float(alpha)
    a = AUTO_PROPAGATION_ALPHA
    frac = min(1.0, max(0.0, (n_labeled - a["start"]) / (a["end"] - a["start"])))
    return float(a["high"] + frac * (a["low"] - a["high"]))


def image_shape_of(n_features: int) -> tuple[int, int] | None:
    """``(side, side)`` when ``n_features`` is a square image of side >= 8, else None."""
    side = math.isqrt(int(n_features))
    if side >= IMAGE_MIN_SIDE and side * side == n_features:
        return side, side
    return None


def _resolve_image_option(param: str, value: str, image_choice: str, plain_choice: str,
                          n_features: int, likelihood: str) -> str:
    """The rule shared by the image-only options (``augmentation``, ``encoder``).

    ``"auto"`` gives ``image_choice`` for images (|image_rule|), else
    ``plain_choice``; an explicit value other than ``plain_choice`` needs square
    images and raises ValueError otherwise.
    """
    square = image_shape_of(n_features) is not None
    if value == "auto":
        return image_choice if square and likelihood == "bernoulli" else plain_choice
    if value != plain_choice and not square:
        raise ValueError(
            f"{param}={value!r} needs square images (n_features = side * side with side "
            f">= {IMAGE_MIN_SIDE}); X has {n_features} features. Use "
            f"{param}={plain_choice!r} for other data."
        )
    return value


def resolve_augmentation(augmentation: str, n_features: int, likelihood: str) -> str:
    """Turn ``augmentation="auto"`` into ``"none"``, ``"shift"`` or ``"shift_flip"``.

    ``"auto"`` gives ``"shift_flip"`` for |image_rule|, else ``"none"``;
    explicit values other than ``"none"`` need square images (ValueError).
    """
    return _resolve_image_option("augmentation", augmentation, "shift_flip", "none",
                                 n_features, likelihood)


def resolve_encoder(encoder: str, n_features: int, likelihood: str) -> str:
    """Turn ``encoder="auto"`` into ``"mlp"`` or ``"conv"``.

    ``"auto"`` gives ``"conv"`` for |image_rule|, else ``"mlp"``; ``"conv"``
    needs square images (ValueError).
    """
    return _resolve_image_option("encoder", encoder, "conv", "mlp", n_features, likelihood)


def resolve_device(device: str | torch.device) -> str:
    """Turn ``"auto"`` into a device (|device_rule|); refuse unusable devices.

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
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r}: VAETransformer trains on 'cpu' or 'cuda' devices only; "
            "use device='auto', 'cpu' or 'cuda'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; use "
            "device='auto' or device='cpu'."
        )
    return device


def _check_hidden_layer_sizes(sizes) -> tuple[int, ...]:
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise ValueError."""
    given = sizes
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not all(isinstance(s, Integral) and s >= 1 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of positive ints, "
            f"e.g. (600, 600); got {given!r}."
        )
    return tuple(int(s) for s in sizes)


# ------------------------------------------------------------ the rule texts
def _label_weight_text() -> str:
    a = AUTO_LABEL_WEIGHT
    examples = ", ".join(f"{resolve_label_weight('auto', n):.2g} at {n}" for n in (100, 600, 1000))
    full = math.ceil(a["high"] * a["scale"])
    return (f"the number of labeled rows / {a['scale']:g}, clipped to [{a['low']:g}, "
            f"{a['high']:g}] ({examples} labels, {a['high']:g} from {full} on)")


def _propagation_text() -> str:
    a = AUTO_PROPAGATION_ALPHA
    return (f"{a['high']:g} up to {a['start']} labeled rows (and without labels), then "
            f"falling linearly to {a['low']:g} at {a['end']} labeled rows and held there")


#: Each rule in words, by placeholder name (``|name|`` in docstrings and docs).
RULE_TEXTS: dict[str, str] = {
    "label_weight_rule": _label_weight_text(),
    "propagation_rule": _propagation_text(),
    "image_rule": (f"square images (n_features = side * side, side >= {IMAGE_MIN_SIDE}) "
                   "under likelihood='bernoulli'"),
    "device_rule": "'cuda' when torch.cuda.is_available(), else 'cpu'",
}


def fill_rule_texts(obj):
    """Replace the ``|name|`` placeholders of ``obj.__doc__`` by :data:`RULE_TEXTS`.

    Usable as a decorator on classes and functions; returns ``obj``.
    """
    if obj.__doc__:
        doc = obj.__doc__
        for name, text in RULE_TEXTS.items():
            doc = doc.replace(f"|{name}|", text)
        obj.__doc__ = doc
    return obj


for _f in (resolve_label_weight, resolve_propagation_alpha, _resolve_image_option,
           resolve_augmentation, resolve_encoder, resolve_device):
    fill_rule_texts(_f)


# ------------------------------------------------------------- the record
@dataclass(frozen=True)
class FitOptions:
    """What one ``fit`` uses: every ``"auto"`` resolved, every value checked.

    Attributes
    ----------
    device : str
        Torch device for training and inference.
    hidden_layer_sizes : tuple of int
        Encoder widths.
    label_weight : float
        Weight of the classification term (0.0: no labels used).
    augmentation : str
        ``"none"``, ``"shift"`` or ``"shift_flip"``.
    encoder : str
        ``"mlp"`` or ``"conv"``.
    image_shape : (int, int) or None
        The images' shape when augmentation or the conv encoder need it.
    propagation_alpha : float
        Weight of embedding propagation (0.0: off).
    n_neighbors : int
        Neighbours per node of the propagation graph (at most the training rows).
    seed : int
        Seed of every random draw of the fit.
    """

    device: str
    hidden_layer_sizes: tuple[int, ...]
    label_weight: float
    augmentation: str
    encoder: str
    image_shape: tuple[int, int] | None
    propagation_alpha: float
    n_neighbors: int
    seed: int


def resolve_options(estimator, *, n_features: int, n_rows: int, n_labeled: int) -> FitOptions:
    """Resolve the ``"auto"`` parameters of ``estimator`` for the data at hand.

    Parameters
    ----------
    estimator : VAETransformer
        Its parameters are read, never changed.
    n_features : int
        Features per row.
    n_rows : int
        Training rows (labeled and unlabeled).
    n_labeled : int
        Labeled training rows used by the objective (0: none).

    Returns
    -------
    FitOptions
    """
    e = estimator
    if e.batch_size == 1 and e.batch_norm and n_labeled == 0:
        raise ValueError(
            "batch_size=1 with batch_norm=True cannot train: batch normalization needs at "
            "least 2 rows per batch. Use batch_size >= 2 (e.g. the default 256) or "
            "batch_norm=False."
        )
    augmentation = resolve_augmentation(e.augmentation, n_features, e.likelihood)
    encoder = resolve_encoder(e.encoder, n_features, e.likelihood)
    needs_image = encoder == "conv" or augmentation != "none"
    return FitOptions(
        device=resolve_device(e.device),
        hidden_layer_sizes=_check_hidden_layer_sizes(e.hidden_layer_sizes),
        label_weight=resolve_label_weight(e.label_weight, n_labeled),
        augmentation=augmentation,
        encoder=encoder,
        image_shape=image_shape_of(n_features) if needs_image else None,
        propagation_alpha=resolve_propagation_alpha(e.propagation_alpha, n_labeled),
        n_neighbors=min(e.n_neighbors, n_rows),
        seed=int(check_random_state(e.random_state).randint(np.iinfo(np.int32).max)),
    )
