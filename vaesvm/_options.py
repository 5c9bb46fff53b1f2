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
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["AUGMENT_MIN_ROWS", "AUTO_BFLOAT16", "AUTO_FLIP", "AUTO_IMAGE", "AUTO_KL_WEIGHT",
           "AUTO_LABEL_WEIGHT",
           "AUTO_PROPAGATION_ALPHA", "APPROXIMATE_GRAPH", "FitOptions", "GAUSSIAN_SCALE",
           "PRECISIONS", "RULE_TEXTS",
           "SHIFT_FRACTION", "STALLED_CHANGE", "SUGGEST", "bfloat16_is_native", "canonical_device",
           "fill_rule_texts", "flips_keep_labels", "image_shape_of", "max_shift",
           "resolve_augmentation", "resolve_device", "resolve_encoder", "resolve_image_shape",
           "resolve_kl_weight", "resolve_label_weight", "resolve_max_epochs", "resolve_options",
           "resolve_precision", "resolve_propagation_alpha", "smoothness", "uses_labels"]

#: ``max_epochs="auto"``: ``epochs`` passes over the training rows, or more on small
#: training sets, so that training takes at least ``min_steps`` optimizer steps (of
#: ``ceil(rows / batch_size)`` per epoch). Chosen on validation data: on 1,257 digits
#: (5 batches of 256 an epoch) and on 2,000 Fashion-MNIST images, 30 epochs left the
#: VAE undertrained; see "How the defaults were chosen" in the documentation.
AUTO_EPOCHS = {"epochs": 30, "min_steps": 500}

#: ``label_weight="auto"``: labeled rows / ``scale``, clipped to [``low``, ``high``].
#: Chosen on validation data (10,000 held-out train images) at 100, 600, 1000 and
#: 3000 labels; see "How the defaults were chosen" in the documentation.
AUTO_LABEL_WEIGHT = {"scale": 150.0, "low": 0.3, "high": 10.0}

#: ``kl_weight="auto"``: ``labeled`` when the labels shape the codes (the
#: classification term is on), ``unlabeled`` otherwise (the plain VAE, whose ELBO
#: and samples keep the weight of the evidence lower bound). A lighter KL term leaves
#: more of each image in its code for the classifier to separate; chosen on
#: validation data (Fashion-MNIST at 100 and 1000 labels, the 8 x 8 digits,
#: Fashion-MNIST at 14 x 14 and in colour); see "How the defaults were chosen" in
#: the documentation.
AUTO_KL_WEIGHT = {"labeled": 0.25, "unlabeled": 1.0}

#: ``propagation_alpha="auto"``: ``high`` up to ``start`` labeled rows (and without
#: labels), then linearly down to ``low`` at ``end`` labeled rows, ``low`` beyond.
AUTO_PROPAGATION_ALPHA = {"high": 0.9, "low": 0.5, "start": 1000, "end": 3000}

#: The propagation graph of more than ``min_codes`` training codes on a CPU is
#: searched approximately, through an inverted-file index of faiss (the optional extra
#: ``vaesvm[large]``): ``lists_per_sqrt * sqrt(n)`` k-means lists trained on
#: ``train_per_list`` seeded rows per list (``iterations`` rounds), each code searched
#: in its ``probes`` nearest lists. The exact search costs about 3.5 times as much per
#: doubling of the codes, the index's about 2.8 times (its work per code grows as
#: sqrt(n)); 100,000 keeps every fit of up to Fashion-MNIST's 70,000 images on the
#: exact search, bit for bit as before. These settings kept recall@10 at 0.986 on
#: 240,000 VAE codes at a fifteenth of the exact search's time (more lists or probes:
#: higher recall, slower; the performance record). On a GPU the exact search stays: it
#: is fast there. Without faiss the exact search is used, with a warning.
#: ``suggest_labels``: ``typical_neighbors`` neighbours whose mean distance
#: measures an image's typicality; in a next round, the least certain image is
#: taken among the ``typical_fraction`` most typical of its cluster.
SUGGEST = {"typical_neighbors": 20, "typical_fraction": 0.25}

APPROXIMATE_GRAPH = {"min_codes": 100_000, "lists_per_sqrt": 2, "probes": 4,
                     "train_per_list": 32, "iterations": 10}

#: ``image_shape="auto"`` treats rows as square grey images when the feature count
#: is the square of a side of at least ``min_side`` pixels, the likelihood is
#: Bernoulli, and neighbouring pixels differ on average by at most ``max_smoothness``
#: times as much as randomly paired pixels (measured on up to ``rows`` evenly spaced
#: rows): images are smooth, a table whose column count happens to be a square is not
#: (Fashion-MNIST 0.24, at 14 x 14 0.34, digits 0.63; random or real tabular
#: features in [0, 1] 1.0-1.05; see "How the defaults were chosen").
AUTO_IMAGE = {"min_side": 8, "max_smoothness": 0.8, "rows": 1000}

#: Augmentation shifts images by up to this fraction of their height / width along
#: each axis, rounded down: 2 pixels on 28 x 28 images, 1 on 14 x 14. ``"auto"``
#: does not augment images smaller than 1 / SHIFT_FRACTION pixels; an explicit
#: ``"shift"`` moves them by 1 pixel.
SHIFT_FRACTION = 1 / 14

#: ``augmentation="auto"`` augments only training sets of at least this many rows:
#: on validation at 100 labels, shifts and flips gained 3.9 points on the 60,000
#: Fashion-MNIST images and 2.0 on 20,000 of them, but cost 1.8 points on 6,000 in
#: colour, 2.2 at 14 x 14 and 5-7 on the 1,257 digits (see "How the defaults were
#: chosen").
AUGMENT_MIN_ROWS = 20000

#: ``augmentation="auto"`` mirrors images only when mirrored labeled images keep the
#: class of their nearest labeled original at least ``min_ratio`` times as often as
#: the originals do (leave-one-out 1-NN in pixel space, on up to ``max_rows`` labeled
#: rows with at least 2 per class): clothes 0.72-0.79, digits 0.29-0.43 over 3 label
#: subsets of 50-3000 labels. Without such labels, no flips.
AUTO_FLIP = {"min_ratio": 0.6, "max_rows": 2000}

#: ``likelihood="gaussian"`` warns before training when a feature is far from unit
#: scale: its mean beyond +-``max_mean`` or, when it varies, its standard deviation
#: outside [``low``, ``high``] (measured on up to ``rows`` evenly spaced rows). The
#: Gaussian's variance starts at 1 and the decoder's output near 0: on standardized
#: digits scaled by 0.1 or 100, or shifted by 10, the default VAE's reconstruction
#: error stayed at that of the feature means (see the troubleshooting page).
GAUSSIAN_SCALE = {"low": 0.1, "high": 10.0, "max_mean": 10.0, "rows": 10000}

#: ``fit`` warns (a ``ConvergenceWarning``) when training moved the weights by less than
#: this fraction of their norm: Adam moves every weight by about ``learning_rate`` per
#: step, so only a learning rate orders of magnitude too small (or a handful of steps at
#: a small one) stays below it, and the codes are then those of the random initial
#: network.
STALLED_CHANGE = 1e-4

#: Accepted values of ``VAETransformer(precision=...)`` besides ``"auto"``.
PRECISIONS: tuple[str, ...] = ("float32", "bfloat16")

#: ``precision="auto"`` trains under bfloat16 autocast when this is True and the
#: training device computes bfloat16 in hardware (:func:`bfloat16_is_native`);
#: otherwise in float32. Inference is float32 either way.
AUTO_BFLOAT16 = True


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


def resolve_kl_weight(kl_weight: float | str, label_weight: float) -> float:
    """The final weight of the KL term.

    Parameters
    ----------
    kl_weight : float or "auto"
        The parameter value; a number is returned unchanged.
    label_weight : float
        The resolved weight of the classification term (0.0: no labels used).

    Returns
    -------
    float
        For ``"auto"``: |kl_rule|.
    """
    if kl_weight != "auto":
        return float(kl_weight)
    return float(AUTO_KL_WEIGHT["labeled" if label_weight > 0 else "unlabeled"])


def resolve_max_epochs(max_epochs: int | str, n_rows: int, batch_size: int) -> int:
    """The number of epochs to train for ``n_rows`` training rows.

    Parameters
    ----------
    max_epochs : int or "auto"
        The parameter value; a number is returned unchanged.
    n_rows : int
        Training rows (``X`` and ``X_unlabeled`` together).
    batch_size : int
        Rows per mini-batch.

    Returns
    -------
    int
        For ``"auto"``: |epochs_rule|.
    """
    if max_epochs != "auto":
        return int(max_epochs)
    a = AUTO_EPOCHS
    return max(a["epochs"], math.ceil(a["min_steps"] / math.ceil(n_rows / batch_size)))


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
    if side >= AUTO_IMAGE["min_side"] and side * side == n_features:
        return side, side
    return None


def _sample_rows(X: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` evenly spaced rows of ``X`` (deterministic, no random draw)."""
    return X[np.unique(np.linspace(0, len(X) - 1, min(len(X), n)).astype(int))]


def smoothness(X: np.ndarray, shape: tuple[int, int, int]) -> float:
    """Mean difference of neighbouring pixels over that of randomly paired pixels.

    Near 0 for smooth images, near 1 for features in no spatial order.
    """
    rows = np.asarray(_sample_rows(X, AUTO_IMAGE["rows"]), dtype=np.float64)
    img = rows.reshape(len(rows), *shape)
    adjacent = (np.abs(np.diff(img, axis=3)).mean() + np.abs(np.diff(img, axis=2)).mean()) / 2
    pairs = np.random.RandomState(0).permutation(rows.shape[1])
    apart = np.abs(rows - rows[:, pairs]).mean()
    return float(adjacent / apart) if apart > 0 else 1.0


def resolve_image_shape(image_shape, X: np.ndarray, likelihood: str
                        ) -> tuple[int, int, int] | None:
    """The ``(channels, height, width)`` of the rows of ``X``, or None for plain features.

    Parameters
    ----------
    image_shape : None, "auto", (height, width) or (channels, height, width)
        The parameter value. ``"auto"``: |image_rule|.
    X : ndarray of shape (n_samples, n_features)
        The training rows.
    likelihood : str
        The VAE's likelihood.

    Returns
    -------
    (int, int, int) or None
    """
    n_features = X.shape[1]
    if image_shape is None:
        return None
    if isinstance(image_shape, str):  # "auto"
        square = image_shape_of(n_features)
        if square is None or likelihood != "bernoulli":
            return None
        shape = (1, *square)
        return shape if smoothness(X, shape) <= AUTO_IMAGE["max_smoothness"] else None
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if (len(shape) != 3 or not all(isinstance(v, Integral) and v >= 1 for v in shape)
            or math.prod(shape) != n_features):
        raise ValueError(
            f"image_shape={image_shape!r} does not fit X's {n_features} features: give "
            "(height, width) or (channels, height, width) whose product is n_features, with "
            "each row flattened channels-first (images.transpose(0, 3, 1, 2).reshape(n, -1) "
            "for a NumPy/PIL (n, height, width, channels) array), or image_shape=None for "
            "plain features."
        )
    return tuple(int(v) for v in shape)


def _shifts(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """:data:`SHIFT_FRACTION` of the height and width, rounded down (0 on small images)."""
    return tuple(math.floor(SHIFT_FRACTION * side + 1e-9) for side in image_shape[1:])


def max_shift(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """Largest translation in pixels along (height, width): :data:`SHIFT_FRACTION`, >= 1."""
    return tuple(max(1, shift) for shift in _shifts(image_shape))


def _augmentable(image_shape: tuple[int, int, int] | None, n_rows: int) -> bool:
    """Whether ``"auto"`` augments: enough rows, and images large enough to shift both ways."""
    return (image_shape is not None and n_rows >= AUGMENT_MIN_ROWS
            and min(_shifts(image_shape)) >= 1)


def flips_keep_labels(X: np.ndarray, y: np.ndarray | None,
                      image_shape: tuple[int, int, int]) -> bool:
    """Whether mirrored labeled images keep their class (the :data:`AUTO_FLIP` rule).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The training rows.
    y : ndarray of shape (n_samples,) or None
        Class indices, -1 for unlabeled rows.
    image_shape : (int, int, int)
        ``(channels, height, width)``.

    Returns
    -------
    bool
    """
    if y is None:
        return False
    labeled = np.flatnonzero(y >= 0)
    labeled = _sample_rows(labeled, AUTO_FLIP["max_rows"])
    counts = np.bincount(y[labeled])
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        return False
    originals = torch.as_tensor(np.asarray(X[labeled], dtype=np.float32))
    mirrored = originals.reshape(-1, *image_shape).flip(-1).reshape(len(originals), -1)
    yl = torch.as_tensor(y[labeled])
    hits = []
    for queries in (originals, mirrored):
        dist = torch.cdist(queries, originals)
        dist.fill_diagonal_(float("inf"))  # leave each image's own original out
        hits.append((yl[dist.argmin(1)] == yl).double().mean().item())
    return hits[0] > 0 and hits[1] >= AUTO_FLIP["min_ratio"] * hits[0]


def resolve_augmentation(augmentation, image_shape: tuple[int, int, int] | None,
                         n_rows: int, flips: Callable[[], bool]):
    """Turn ``augmentation="auto"`` into a concrete choice and check explicit ones.

    ``"auto"``: |augment_rule|. ``"shift"``/``"shift_flip"`` need images
    (ValueError otherwise); a callable is returned as it is.

    Parameters
    ----------
    augmentation : {"auto", "none", "shift", "shift_flip"} or callable
        The parameter value.
    image_shape : (int, int, int) or None
        The resolved image shape.
    n_rows : int
        Training rows (labeled and unlabeled).
    flips : callable
        Evaluates the flip rule (called only when needed).

    Returns
    -------
    str or callable
    """
    if callable(augmentation) or augmentation == "none":
        return augmentation
    if augmentation == "auto":
        if not _augmentable(image_shape, n_rows):
            return "none"
        return "shift_flip" if flips() else "shift"
    if image_shape is None:
        raise ValueError(
            f"augmentation={augmentation!r} needs images: pass image_shape=(height, width) "
            "or (channels, height, width), or use augmentation='none' for other data."
        )
    return augmentation


def resolve_encoder(encoder: str, image_shape: tuple[int, int, int] | None) -> str:
    """Turn ``encoder="auto"`` into ``"mlp"`` or ``"conv"``.

    ``"auto"`` gives ``"conv"`` for images (a resolved ``image_shape``), else
    ``"mlp"``; ``"conv"`` without an image shape raises ValueError.
    """
    if encoder == "auto":
        return "conv" if image_shape is not None else "mlp"
    if encoder == "conv" and image_shape is None:
        raise ValueError(
            "encoder='conv' needs images: pass image_shape=(height, width) or (channels, "
            "height, width), or use encoder='mlp' for other data."
        )
    return encoder


def canonical_device(device: str | torch.device) -> str:
    """The one spelling of a CPU or CUDA device that every torch call and pickle accepts.

    ``"cpu"`` for every CPU spelling (``"cpu:0"``, ``"CPU"``, ``torch.device("cpu",
    0)``): torch tags saved tensors with the device string, and a tensor saved under
    ``"cpu:0"`` cannot be loaded back. CUDA devices keep their index (``"cuda"``,
    ``"cuda:1"``). Upper case is accepted.

    Raises
    ------
    ValueError
        When ``device`` is not a torch device.
    """
    text = device if isinstance(device, torch.device) else str(device).strip().lower()
    try:
        resolved = torch.device(text)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    return "cpu" if resolved.type == "cpu" else str(resolved)


def resolve_device(device: str | torch.device) -> str:
    """Turn ``"auto"`` into a device (|device_rule|); refuse unusable devices.

    Parameters
    ----------
    device : str or torch.device
        The requested device.

    Returns
    -------
    str
        The device to train on, in the spelling of :func:`canonical_device`
        (``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``).
    """
    if str(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    canonical = canonical_device(device)
    resolved = torch.device(canonical)
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
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} but this machine has {torch.cuda.device_count()} CUDA "
            "device(s), numbered from 0; use device='cuda' (the current one) or 'cuda:0'."
        )
    return canonical


def bfloat16_is_native(device: str) -> bool:
    """Whether ``device`` computes bfloat16 matrix products in hardware.

    CUDA: ``torch.cuda.is_bf16_supported()`` (Ampere and newer); CPU: the
    AVX512-BF16 or AMX instructions (``torch.cpu``'s checks; False on a torch
    without them). Elsewhere torch emulates bfloat16, no faster than float32.
    """
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(precision: str, device: str) -> str:
    """Turn ``"auto"`` into ``"float32"`` or ``"bfloat16"`` (|precision_rule|).

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        The requested training precision.
    device : str
        The resolved training device.

    Returns
    -------
    str
        ``"float32"`` or ``"bfloat16"``.
    """
    if precision == "auto":
        return "bfloat16" if AUTO_BFLOAT16 and bfloat16_is_native(device) else "float32"
    return precision


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


def _epochs_text() -> str:
    a = AUTO_EPOCHS
    # the most rows (batch_size 256) whose a["epochs"] epochs give too few steps
    rows = (math.ceil(a["min_steps"] / a["epochs"]) - 1) * 256
    return (f"{a['epochs']}, or more on small training sets: enough epochs for at least "
            f"{a['min_steps']} optimizer steps of batch_size rows (with the default "
            f"batch_size, up to {rows:,} training rows; "
            f"{resolve_max_epochs('auto', 1257, 256)} epochs on 1,257 rows)")


def _propagation_text() -> str:
    a = AUTO_PROPAGATION_ALPHA
    return (f"{a['high']:g} up to {a['start']} labeled rows (and without labels), then "
            f"falling linearly to {a['low']:g} at {a['end']} labeled rows and held there")


#: Each rule in words, by placeholder name (``|name|`` in docstrings and docs).
RULE_TEXTS: dict[str, str] = {
    "label_weight_rule": _label_weight_text(),
    "kl_rule": (f"{AUTO_KL_WEIGHT['labeled']:g} when labels shape the codes (fit gets labeled "
                f"rows and label_weight is not 0), {AUTO_KL_WEIGHT['unlabeled']:g} (the "
                "evidence lower bound) otherwise"),
    "propagation_rule": _propagation_text(),
    "epochs_rule": _epochs_text(),
    "image_rule": (f"square grey images (n_features = side * side, side >= "
                   f"{AUTO_IMAGE['min_side']}) under likelihood='bernoulli' whose neighbouring "
                   f"pixels differ by at most {AUTO_IMAGE['max_smoothness']:g} times as much "
                   "as randomly paired pixels (images are smooth, tables are not); other "
                   "data are plain features"),
    "flip_rule": (f"mirrored labeled images keep the class of their nearest labeled "
                  f"original at least {AUTO_FLIP['min_ratio']:g} times as often as the "
                  "originals do (true of clothes, not of digits; never without labels)"),
    "shift_rule": (f"up to 1/{1 / SHIFT_FRACTION:g} of the height and width, rounded down "
                   "(2 pixels on 28 x 28 images; at least 1)"),

    "gaussian_scale_rule": (f"a feature whose mean lies beyond +-{GAUSSIAN_SCALE['max_mean']:g} "
                            f"or whose standard deviation (when it varies) lies outside "
                            f"[{GAUSSIAN_SCALE['low']:g}, {GAUSSIAN_SCALE['high']:g}]"),
    "stalled_rule": f"less than {STALLED_CHANGE:g} of their norm",
    "graph_rule": (f"exact up to {APPROXIMATE_GRAPH['min_codes']:,} training codes and on a "
                   "GPU; beyond that, on a CPU, approximate, through a seeded faiss "
                   "inverted-file index (the extra vaesvm[large]; without it the exact "
                   "search, with a warning)"),
    "suggest_rule": (
        "one image from each of the n largest clusters that hold no labeled image, among "
        "(labeled + n) k-means clusters of the codes: the most typical one (the smallest "
        f"mean distance to its {SUGGEST['typical_neighbors']} nearest codes) or, given a "
        "classifier, the one with the smallest margin between its two highest scores "
        f"among the {SUGGEST['typical_fraction']:.0%} most typical of its cluster"),
    "device_rule": "'cuda' when torch.cuda.is_available(), else 'cpu'",
    "precision_rule": ("'bfloat16' on devices that compute bfloat16 in hardware (CPUs with "
                       "AVX512-BF16 or AMX, CUDA GPUs from Ampere on), else 'float32'"
                       if AUTO_BFLOAT16 else "'float32' (bfloat16 autocast is opt-in)"),
}


RULE_TEXTS["augment_rule"] = (
    f"for images of at least {1 / SHIFT_FRACTION:g} x {1 / SHIFT_FRACTION:g} pixels in a "
    f"training set of at least {AUGMENT_MIN_ROWS:,} rows, shifts, plus flips when "
    f"{RULE_TEXTS['flip_rule']}; otherwise none (on fewer images augmentation cost "
    "accuracy)")


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


for _f in (resolve_kl_weight, resolve_label_weight, resolve_propagation_alpha, resolve_image_shape,
           resolve_augmentation, resolve_encoder, resolve_device, resolve_precision):
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
    kl_weight : float
        Final weight of the KL term.
    augmentation : str or callable
        ``"none"``, ``"shift"``, ``"shift_flip"`` or the user's callable.
    encoder : str
        ``"mlp"`` or ``"conv"``.
    image_shape : (int, int, int) or None
        ``(channels, height, width)`` of the images; None for plain features.
    propagation_alpha : float
        Weight of embedding propagation (0.0: off).
    n_neighbors : int
        Neighbours per node of the propagation graph (at most the training rows).
    max_epochs : int
        Passes over the training rows.
    precision : str
        ``"float32"`` or ``"bfloat16"`` (autocast of the training steps).
    seed : int
        Seed of every random draw of the fit.
    """

    device: str
    hidden_layer_sizes: tuple[int, ...]
    label_weight: float
    kl_weight: float
    augmentation: str | Callable
    encoder: str
    image_shape: tuple[int, int, int] | None
    propagation_alpha: float
    n_neighbors: int
    max_epochs: int
    precision: str
    seed: int


def resolve_options(estimator, data) -> FitOptions:
    """Resolve the ``"auto"`` parameters of ``estimator`` for the training data.

    Parameters
    ----------
    estimator : VAETransformer
        Its parameters are read, never changed.
    data : TrainingData
        The validated training set (rows, label codes, counts).

    Returns
    -------
    FitOptions
    """
    e, X, n_labeled = estimator, data.X, data.n_labeled
    if e.batch_size == 1 and e.batch_norm and n_labeled == 0:
        raise ValueError(
            "batch_size=1 with batch_norm=True cannot train: batch normalization needs at "
            "least 2 rows per batch. Use batch_size >= 2 (e.g. the default 256) or "
            "batch_norm=False."
        )
    shape = resolve_image_shape(e.image_shape, X, e.likelihood)
    augmentation = resolve_augmentation(e.augmentation, shape, len(X),
                                        lambda: flips_keep_labels(X, data.y, shape))
    device = resolve_device(e.device)
    label_weight = resolve_label_weight(e.label_weight, n_labeled)
    return FitOptions(
        device=device,
        hidden_layer_sizes=_check_hidden_layer_sizes(e.hidden_layer_sizes),
        label_weight=label_weight,
        kl_weight=resolve_kl_weight(e.kl_weight, label_weight),
        augmentation=augmentation,
        encoder=resolve_encoder(e.encoder, shape),
        image_shape=shape,
        propagation_alpha=resolve_propagation_alpha(e.propagation_alpha, n_labeled),
        max_epochs=resolve_max_epochs(e.max_epochs, len(X), e.batch_size),
        n_neighbors=min(e.n_neighbors, len(X)),
        precision=resolve_precision(e.precision, device),
        seed=int(check_random_state(e.random_state).randint(np.iinfo(np.int32).max)),
    )
