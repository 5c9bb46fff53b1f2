"""Tests for vaesvm.datasets; none of them uses the network."""

from __future__ import annotations

import gzip
import hashlib
import io
import pathlib
import urllib.error
import urllib.request

import numpy as np
import pytest

from vaesvm import datasets

FILENAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
REAL_DEBIAN_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")


def _idx_bytes(arr: np.ndarray) -> bytes:
    """Serialise a uint8 array in the IDX format."""
    magic = 0x0800 | arr.ndim
    header = magic.to_bytes(4, "big") + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _fake_raw() -> dict[str, bytes]:
    """Uncompressed contents of a tiny but well-formed Fashion-MNIST."""
    rng = np.random.RandomState(0)
    y_train = np.repeat(np.arange(10), 2)
    y_test = np.arange(10)
    return {
        "train-images-idx3-ubyte": _idx_bytes(
            rng.randint(0, 256, size=(20, 28, 28)).astype(np.uint8)),
        "train-labels-idx1-ubyte": _idx_bytes(y_train.astype(np.uint8)),
        "t10k-images-idx3-ubyte": _idx_bytes(
            np.full((10, 28, 28), 255, dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": _idx_bytes(y_test.astype(np.uint8)),
    }


@pytest.fixture
def fake(monkeypatch):
    """Gzipped fake files (by file name); the checksum table is patched to them."""
    raw = _fake_raw()
    table = {name: (hashlib.sha256(data).hexdigest(), len(data))
             for name, data in raw.items()}
    monkeypatch.setattr(datasets, "_CHECKSUMS", table)
    return {name + ".gz": gzip.compress(data) for name, data in raw.items()}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolate all search locations into tmp_path and forbid the network."""
    monkeypatch.delenv("VAESVM_DATA", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn"))
    monkeypatch.setattr(datasets, "DEBIAN_DATA_DIR", tmp_path / "debian")

    def no_network(*args, **kwargs):
        raise AssertionError("the network must not be used")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return {"home": tmp_path / "home", "env": tmp_path / "envdir",
            "cache": tmp_path / "sklearn" / "fashion_mnist",
            "debian": tmp_path / "debian"}


def _write(directory: pathlib.Path, files: dict[str, bytes], only=None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for fname, data in files.items():
        if only is None or fname in only:
            (directory / fname).write_bytes(data)


def _serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Patch urlopen to serve ``files`` from BASE_URL; return the requested URLs."""
    requested = []

    def urlopen(url, timeout=None):
        requested.append(url)
        assert url.startswith(datasets.BASE_URL)
        return io.BytesIO(files[url[len(datasets.BASE_URL):]])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requested


# --- real data -------------------------------------------------------------

def test_load_real_debian_files(env, monkeypatch):
    if not all((REAL_DEBIAN_DIR / f).is_file() for f in FILENAMES):
        pytest.skip(f"Fashion-MNIST not installed in {REAL_DEBIAN_DIR}")
    monkeypatch.setattr(datasets, "DEBIAN_DATA_DIR", REAL_DEBIAN_DIR)
    data = datasets.load_fashion_mnist()
    assert data.data_dir == REAL_DEBIAN_DIR
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_test.dtype == np.int64
    for X in (data.X_train, data.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.bincount(data.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [1000] * 10)
    assert data.target_names[0] == "T-shirt/top" and len(data.target_names) == 10
    assert "Fashion-MNIST" in data.DESCR


# --- loading and search order ---------------------------------------------

def test_load_fake_contents_and_return_X_y(env, fake):
    _write(env["home"], fake)
    data = datasets.load_fashion_mnist(env["home"])
    raw = _fake_raw()
    expected = np.frombuffer(raw["train-images-idx3-ubyte"], np.uint8, offset=16)
    np.testing.assert_allclose(data.X_train.ravel(), expected / 255.0, rtol=1e-6)
    assert data.X_train.shape == (20, 784) and data.X_train.dtype == np.float32
    np.testing.assert_array_equal(data.X_test, 1.0)
    np.testing.assert_array_equal(data.y_train, np.repeat(np.arange(10), 2))
    assert data.target_names == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    X_train, y_train, X_test, y_test = datasets.load_fashion_mnist(
        env["home"], return_X_y=True)
    np.testing.assert_array_equal(X_train, data.X_train)
    np.testing.assert_array_equal(y_test, data.y_test)
    assert y_train.dtype == np.int64 and X_test.shape == (10, 784)


def test_search_order(env, fake, monkeypatch):
    for key in ("home", "env", "cache", "debian"):
        _write(env[key], fake)
    monkeypatch.setenv("VAESVM_DATA", str(env["env"]))
    assert datasets.load_fashion_mnist(env["home"]).data_dir == env["home"]
    assert datasets.load_fashion_mnist().data_dir == env["env"]
    monkeypatch.delenv("VAESVM_DATA")
    assert datasets.load_fashion_mnist().data_dir == env["cache"]
    for fname in FILENAMES:
        (env["cache"] / fname).unlink()
    assert datasets.load_fashion_mnist().data_dir == env["debian"]


def test_incomplete_directory_is_skipped(env, fake, monkeypatch):
    _write(env["env"], fake, only=FILENAMES[:3])
    _write(env["debian"], fake)
    monkeypatch.setenv("VAESVM_DATA", str(env["env"]))
    assert datasets.load_fashion_mnist(download_if_missing=False).data_dir == env["debian"]


def test_explicit_data_home_is_the_only_place_searched(env, fake, monkeypatch):
    _write(env["env"], fake)
    _write(env["debian"], fake)
    monkeypatch.setenv("VAESVM_DATA", str(env["env"]))
    with pytest.raises(FileNotFoundError) as excinfo:
        datasets.load_fashion_mnist(env["home"], download_if_missing=False)
    assert str(env["home"]) in str(excinfo.value)


def test_get_data_home(env, monkeypatch, tmp_path):
    assert datasets.get_data_home() == env["cache"]
    monkeypatch.setenv("VAESVM_DATA", str(env["env"]))
    assert datasets.get_data_home() == env["env"]
    assert datasets.get_data_home(str(tmp_path / "x")) == tmp_path / "x"


def test_missing_without_download_lists_options(env, fake):
    with pytest.raises(FileNotFoundError) as excinfo:
        datasets.load_fashion_mnist(download_if_missing=False)
    msg = str(excinfo.value)
    for needle in ("data_home", "VAESVM_DATA", "dataset-fashion-mnist",
                   str(env["cache"]), "zalandoresearch/fashion-mnist"):
        assert needle in msg
    assert not env["cache"].exists()


# --- corrupt files ---------------------------------------------------------

def test_truncated_gzip(env, fake):
    fake["train-images-idx3-ubyte.gz"] = fake["train-images-idx3-ubyte.gz"][:-100]
    _write(env["home"], fake)
    with pytest.raises(ValueError, match="corrupt or truncated") as excinfo:
        datasets.load_fashion_mnist(env["home"])
    assert str(env["home"] / "train-images-idx3-ubyte.gz") in str(excinfo.value)
    assert "Delete" in str(excinfo.value)


def test_not_gzip(env, fake):
    fake["t10k-labels-idx1-ubyte.gz"] = b"<html>not found</html>"
    _write(env["home"], fake)
    with pytest.raises(ValueError) as excinfo:
        datasets.load_fashion_mnist(env["home"])
    assert str(env["home"] / "t10k-labels-idx1-ubyte.gz") in str(excinfo.value)


def test_wrong_checksum(env, fake):
    raw = bytearray(gzip.decompress(fake["t10k-images-idx3-ubyte.gz"]))
    raw[100] = 0  # same size, different contents
    fake["t10k-images-idx3-ubyte.gz"] = gzip.compress(bytes(raw))
    _write(env["home"], fake)
    with pytest.raises(ValueError, match="wrong checksum") as excinfo:
        datasets.load_fashion_mnist(env["home"])
    assert str(env["home"] / "t10k-images-idx3-ubyte.gz") in str(excinfo.value)


def test_bad_magic(env, fake, monkeypatch):
    raw = b"\x00\x00\x08\x05" + gzip.decompress(fake["train-labels-idx1-ubyte.gz"])[4:]
    fake["train-labels-idx1-ubyte.gz"] = gzip.compress(raw)
    table = dict(datasets._CHECKSUMS)
    table["train-labels-idx1-ubyte"] = (hashlib.sha256(raw).hexdigest(), len(raw))
    monkeypatch.setattr(datasets, "_CHECKSUMS", table)
    _write(env["home"], fake)
    with pytest.raises(ValueError, match="magic") as excinfo:
        datasets.load_fashion_mnist(env["home"])
    assert str(env["home"] / "train-labels-idx1-ubyte.gz") in str(excinfo.value)


# --- downloading -----------------------------------------------------------

def test_download_into_cache(env, fake, monkeypatch):
    requested = _serve(monkeypatch, fake)
    data = datasets.load_fashion_mnist()
    assert data.data_dir == env["cache"]
    assert sorted(requested) == sorted(datasets.BASE_URL + f for f in FILENAMES)
    assert sorted(p.name for p in env["cache"].iterdir()) == sorted(FILENAMES)
    for fname in FILENAMES:
        assert (env["cache"] / fname).read_bytes() == fake[fname]
    assert data.X_train.shape == (20, 784)
    requested.clear()
    datasets.load_fashion_mnist()  # second call: found in the cache
    assert requested == []


def test_download_into_env_dir_only_missing_files(env, fake, monkeypatch):
    _write(env["env"], fake, only=FILENAMES[:2])
    monkeypatch.setenv("VAESVM_DATA", str(env["env"]))
    requested = _serve(monkeypatch, fake)
    assert datasets.load_fashion_mnist().data_dir == env["env"]
    assert sorted(requested) == sorted(datasets.BASE_URL + f for f in FILENAMES[2:])
    assert not env["cache"].exists()


def test_download_wrong_bytes_leaves_nothing(env, fake, monkeypatch):
    served = dict(fake)
    served["t10k-images-idx3-ubyte.gz"] = gzip.compress(b"\x00" * 100)
    _serve(monkeypatch, served)
    with pytest.raises(ValueError, match="failed verification") as excinfo:
        datasets.load_fashion_mnist(env["home"])
    assert "t10k-images-idx3-ubyte.gz" in str(excinfo.value)
    names = {p.name for p in env["home"].iterdir()}
    assert "t10k-images-idx3-ubyte.gz" not in names
    assert names <= set(FILENAMES)  # no temporary files left behind
    assert names == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}


def test_download_interrupted_leaves_nothing(env, fake, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, *args):
            raise ConnectionResetError("connection reset")

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Broken())
    with pytest.raises(OSError, match="connection reset"):
        datasets.load_fashion_mnist(env["home"])
    assert list(env["home"].iterdir()) == []


def test_offline_error_lists_options(env, fake, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError) as excinfo:
        datasets.load_fashion_mnist()
    assert not isinstance(excinfo.value, urllib.error.URLError)
    msg = str(excinfo.value)
    for needle in ("VAESVM_DATA", "data_home", "dataset-fashion-mnist",
                   str(env["cache"]), "Name or service not known"):
        assert needle in msg
    assert list(env["cache"].iterdir()) == []


# --- make_semi_supervised_split --------------------------------------------

@pytest.fixture
def labels():
    return np.random.RandomState(1).permutation(np.repeat(np.arange(5), [30, 40, 50, 60, 70]))


def test_split_is_balanced_disjoint_and_complete(labels):
    lab, unl = datasets.make_semi_supervised_split(labels, 25, random_state=0)
    np.testing.assert_array_equal(np.bincount(labels[lab]), [5] * 5)
    assert len(lab) == 25 and len(unl) == len(labels) - 25
    assert np.all(np.diff(lab) > 0) and np.all(np.diff(unl) > 0)
    assert np.intersect1d(lab, unl).size == 0
    np.testing.assert_array_equal(np.union1d(lab, unl), np.arange(len(labels)))


def test_split_string_labels():
    y = np.array(["a", "b"] * 10)
    lab, unl = datasets.make_semi_supervised_split(y, 4, random_state=3)
    assert sorted(y[lab]) == ["a", "a", "b", "b"] and len(unl) == 16


def test_split_reproducible(labels):
    a = datasets.make_semi_supervised_split(labels, 50, random_state=42)
    b = datasets.make_semi_supervised_split(labels, 50, random_state=42)
    c = datasets.make_semi_supervised_split(labels, 50, random_state=43)
    d = datasets.make_semi_supervised_split(
        labels, 50, random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0], d[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("n_labels, match", [
    (7, "multiple of the number of classes"),
    (0, "positive multiple"),
    (-5, "positive multiple"),
    (200, "has only 30"),
])
def test_split_invalid(labels, n_labels, match):
    with pytest.raises(ValueError, match=match):
        datasets.make_semi_supervised_split(labels, n_labels, random_state=0)
