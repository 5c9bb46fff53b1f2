"""Loading Fashion-MNIST and making semi-supervised label splits.

The four gzipped IDX files of Fashion-MNIST (Xiao et al., 2017) are looked up,
in order, in an explicit ``data_home``, the directory named by the environment
variable ``VAESVM_DATA``, the package cache
``sklearn.datasets.get_data_home() / "fashion_mnist"`` and Debian's package
location ``/usr/share/datasets/fashion-mnist``. If no directory holds all four,
they are downloaded. Every file is verified against the SHA-256 of its
*uncompressed* contents, so re-compressed copies verify as well.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import numbers
import os
import pathlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from typing import Any

import numpy as np
from sklearn.datasets import get_data_home as _sk_get_data_home
from sklearn.utils import check_random_state

__all__ = ["get_data_home", "load_fashion_mnist", "make_semi_supervised_split"]

logger = logging.getLogger(__name__)

#: Official download location of the four gzipped IDX files.
BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: Where Debian's ``dataset-fashion-mnist`` package installs the files.
DEBIAN_DATA_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")

_ENV_VAR = "VAESVM_DATA"
_PROJECT_URL = "https://github.com/zalandoresearch/fashion-mnist"
_DOWNLOAD_TIMEOUT = 60.0

# uncompressed name -> (SHA-256 of the uncompressed contents, uncompressed size)
_CHECKSUMS: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
    "train-labels-idx1-ubyte": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
    "t10k-images-idx3-ubyte": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
    "t10k-labels-idx1-ubyte": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
}
_FILENAMES = tuple(name + ".gz" for name in _CHECKSUMS)
_IDX_MAGIC = {"idx1": 2049, "idx3": 2051}

#: Names of the 10 classes, indexed by label (the loader's ``target_names``).
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_DESCR = f"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017, arXiv:1708.07747)

Zalando's article images: 60,000 training and 10,000 test 28x28 grey-scale
images in 10 balanced clothing classes. Pixels are float32 in [0, 1], flattened
to 784 features; labels are int64 in 0..9 indexing ``target_names``.
License: MIT. Source: {_PROJECT_URL}
"""


def get_data_home(data_home: str | os.PathLike | None = None) -> pathlib.Path:
    """Return the directory used to cache Fashion-MNIST.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        Explicit directory. If None, the environment variable ``VAESVM_DATA``
        is used when set, else ``sklearn.datasets.get_data_home() /
        "fashion_mnist"``.

    Returns
    -------
    pathlib.Path
        The (possibly not yet existing) directory.
    """
    if data_home is not None:
        return pathlib.Path(data_home).expanduser()
    env = os.environ.get(_ENV_VAR)
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path(_sk_get_data_home()) / "fashion_mnist"


def _options_message(target: pathlib.Path) -> str:
    """Describe every way of making the files available."""
    return (
        "To provide Fashion-MNIST, do one of the following:\n"
        "  - pass data_home=... pointing to a directory holding the four files "
        f"{', '.join(_FILENAMES)};\n"
        f"  - set the environment variable {_ENV_VAR} to such a directory;\n"
        "  - on Debian/Ubuntu run `apt-get install dataset-fashion-mnist`, which "
        f"puts the files in {DEBIAN_DATA_DIR};\n"
        f"  - download the four files from {_PROJECT_URL} into {target}."
    )


def _verify_and_parse(path: str | os.PathLike, name: str,
                      fix: str | None = None) -> np.ndarray:
    """Decompress, verify and parse the gzipped IDX file ``path``.

    ``name`` is its uncompressed name (a key of ``_CHECKSUMS``); ``fix`` is the
    advice appended to error messages (default: delete the file). Returns a
    read-only uint8 array shaped as the IDX header says. Raises ValueError if
    the file is not gzip, is truncated, fails its checksum or is not valid IDX.
    """
    path = pathlib.Path(path)
    if fix is None:
        fix = (f"Delete {path} and load again to re-download it, or replace it "
               "with a fresh copy.")
    try:
        with open(path, "rb") as f:
            raw = gzip.decompress(f.read())
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"Fashion-MNIST file {path} is corrupt or truncated "
                         f"(gzip error: {exc}). {fix}") from exc
    sha256, size = _CHECKSUMS[name]
    if len(raw) != size:
        raise ValueError(f"Fashion-MNIST file {path} has {len(raw)} uncompressed "
                         f"bytes, expected {size}; it is truncated or not the "
                         f"official file. {fix}")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(f"Fashion-MNIST file {path} has the wrong checksum: SHA-256 "
                         f"of its uncompressed contents is {digest}, expected "
                         f"{sha256}; it is corrupt or not the official file. {fix}")
    expected = _IDX_MAGIC[name.rsplit("-", 2)[1]]
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != expected:
        raise ValueError(f"Fashion-MNIST file {path} has IDX magic number {magic}, "
                         f"expected {expected}; it is not a valid IDX file. {fix}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"Fashion-MNIST file {path} has a truncated IDX header. {fix}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) != header + int(np.prod(dims)):
        raise ValueError(f"Fashion-MNIST file {path} holds {len(raw) - header} data "
                         f"bytes but its IDX header declares shape {dims}. {fix}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _download(filename: str, target: pathlib.Path) -> None:
    """Download ``filename`` into ``target`` atomically, after verifying it."""
    url = BASE_URL + filename
    final = target / filename
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part",
                                        dir=target)
    except OSError as exc:
        raise OSError(f"Cannot create download directory {target} ({exc}).\n"
                      + _options_message(target)) from exc
    tmp = pathlib.Path(tmp_name)
    try:
        logger.info("Downloading %s to %s", url, final)
        try:
            with os.fdopen(fd, "wb") as out, \
                    urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as resp:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError) as exc:
            raise OSError(f"Could not download Fashion-MNIST file {url} ({exc}); "
                          "are you offline?\n" + _options_message(target)) from exc
        try:
            _verify_and_parse(tmp, filename[:-len(".gz")],
                              fix="The download was discarded; retry later.")
        except ValueError as exc:
            raise ValueError(f"The file downloaded from {url} for {final} failed "
                             f"verification: {exc}\n" + _options_message(target)) from exc
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _has_all(directory: pathlib.Path) -> bool:
    """Whether ``directory`` holds all four files."""
    return all((directory / fname).is_file() for fname in _FILENAMES)


def _locate(data_home: str | os.PathLike | None,
            download_if_missing: bool) -> pathlib.Path:
    """Return the directory holding all four files, downloading if allowed."""
    if data_home is not None:
        candidates = [get_data_home(data_home)]
    else:
        candidates = []
        if os.environ.get(_ENV_VAR):
            candidates.append(get_data_home())
        candidates += [pathlib.Path(_sk_get_data_home()) / "fashion_mnist",
                       pathlib.Path(DEBIAN_DATA_DIR)]
    for directory in candidates:
        if _has_all(directory):
            return directory
    target = candidates[0]
    if not download_if_missing:
        searched = ", ".join(str(d) for d in candidates)
        raise FileNotFoundError(
            f"Fashion-MNIST files not found (searched: {searched}) and "
            "download_if_missing=False.\n" + _options_message(target))
    for fname in _FILENAMES:
        if not (target / fname).is_file():
            _download(fname, target)
    return target


def load_fashion_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Any:
    """Load the Fashion-MNIST train and test sets.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        Directory holding the four ``*.gz`` files. If given, only this
        directory is read, and missing files are downloaded into it. If None,
        the directory named by ``VAESVM_DATA``, the package cache
        (``sklearn.datasets.get_data_home() / "fashion_mnist"``) and
        ``DEBIAN_DATA_DIR`` are searched in that order for one holding all
        four files; failing that, they are downloaded into ``VAESVM_DATA``
        if set, else into the package cache.
    download_if_missing : bool, default=True
        If False, raise instead of downloading missing files.
    return_X_y : bool, default=False
        If True, return ``(X_train, y_train, X_test, y_test)``.

    Returns
    -------
    sklearn.utils.Bunch or tuple of numpy.ndarray
        Bunch with ``X_train`` (60000, 784) and ``X_test`` (10000, 784) float32
        in [0, 1], ``y_train`` and ``y_test`` int64 in 0..9, ``target_names``
        (the 10 class names), ``DESCR`` and ``data_dir`` (the directory read).

    Raises
    ------
    FileNotFoundError
        If the files are missing and ``download_if_missing`` is False.
    OSError
        If downloading fails, e.g. when offline. The message lists the
        alternatives.
    ValueError
        If a file is corrupt, truncated or fails its checksum.
    """
    from sklearn.utils import Bunch

    data_dir = _locate(data_home, download_if_missing)
    arrays = {}
    for fname in _FILENAMES:
        name = fname[:-len(".gz")]
        arrays[name] = _verify_and_parse(data_dir / fname, name)
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = arrays[f"{prefix}-images-idx3-ubyte"]
        labels = arrays[f"{prefix}-labels-idx1-ubyte"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"Fashion-MNIST {split} files in {data_dir} are inconsistent: images "
                f"of shape {images.shape} but labels of shape {labels.shape}. "
                "Delete them and load again to re-download them.")
        X = images.reshape(len(images), -1).astype(np.float32)
        X /= np.float32(255.0)
        out[f"X_{split}"] = X
        out[f"y_{split}"] = labels.astype(np.int64)
    if return_X_y:
        return out["X_train"], out["y_train"], out["X_test"], out["y_test"]
    return Bunch(**out, target_names=list(CLASS_NAMES), DESCR=_DESCR,
                 data_dir=data_dir)


def make_semi_supervised_split(
    y: Any,
    n_labels: int,
    *,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a class-balanced labelled subset.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    n_labels : int
        Total number of labelled samples; a positive multiple of the number
        of classes. ``n_labels // n_classes`` samples of each class are drawn.
    random_state : int, numpy.random.RandomState or None, default=None
        Controls the draw (see :func:`sklearn.utils.check_random_state`).

    Returns
    -------
    labeled_idx : numpy.ndarray of shape (n_labels,)
        Indices of the labelled samples, sorted ascending.
    unlabeled_idx : numpy.ndarray of shape (n_samples - n_labels,)
        All other indices, sorted ascending.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D or is empty, ``n_labels`` is not a positive
        multiple of the number of classes, or a class has too few samples.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}.")
    if not isinstance(n_labels, numbers.Integral) or isinstance(n_labels, bool):
        raise TypeError(f"n_labels must be an int, got {n_labels!r}.")
    classes, counts = np.unique(y, return_counts=True)
    n_classes = len(classes)
    if n_labels <= 0 or n_labels % n_classes:
        raise ValueError(
            f"n_labels={n_labels} must be a positive multiple of the number of "
            f"classes ({n_classes}) so that every class gets the same number of "
            f"labels; use e.g. n_labels={n_classes * max(1, n_labels // n_classes)}.")
    per_class = n_labels // n_classes
    if counts.min() < per_class:
        worst = classes[np.argmin(counts)]
        raise ValueError(
            f"n_labels={n_labels} needs {per_class} samples per class, but class "
            f"{worst!r} has only {counts.min()}; use n_labels <= "
            f"{n_classes * counts.min()}.")
    rng = check_random_state(random_state)
    labeled = np.concatenate([
        rng.choice(np.flatnonzero(y == c), size=per_class, replace=False)
        for c in classes])
    labeled.sort()
    mask = np.ones(len(y), dtype=bool)
    mask[labeled] = False
    return labeled, np.flatnonzero(mask)
