"""Scale: the approximate neighbour graph above its size threshold, and training rows
read from the arrays the user passed (small arrays here).

The threshold (``APPROXIMATE_GRAPH["min_codes"]``) is lowered with monkeypatch so a
few thousand codes take the approximate path.
"""

import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from vaesvm import VAETransformer
from vaesvm._options import APPROXIMATE_GRAPH, RULE_TEXTS
from vaesvm._rows import RowStack, TensorRows, drop_resident_pages
from vaesvm._validation import check_training_data
from vaesvm._propagation import (
    ApproximateIndex,
    EmbeddingPropagation,
    nearest_neighbors,
    propagate,
    smooth,
    uses_approximate_search,
)


def clustered_codes(n: int, seed: int = 0) -> np.ndarray:
    """50-d codes of 10 clusters on a 6-d manifold, as VAE codes of images lie."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (10, 6))
    low = centers[rng.integers(0, 10, n)] + rng.normal(0, 1, (n, 6))
    return (np.tanh(low @ rng.normal(0, 1, (6, 50))) + rng.normal(0, 0.05, (n, 50))).astype(
        np.float32)


@pytest.fixture
def low_threshold(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setitem(APPROXIMATE_GRAPH, "min_codes", 1000)


def digits_fit(**params) -> VAETransformer:
    X = load_digits().data.astype(np.float32) / 16
    return VAETransformer(max_epochs=2, kl_warmup_epochs=1, hidden_layer_sizes=(32,),
                          n_components=8, device="cpu",
                          image_shape=None, **params).fit(X)


def test_recall_against_exact_search(low_threshold, monkeypatch):
    import vaesvm._propagation as prop

    monkeypatch.setattr(prop, "SEARCH_ROWS", 1500)  # searched in blocks, the last one partial
    codes = torch.from_numpy(clustered_codes(4000))
    assert uses_approximate_search(codes)
    index = ApproximateIndex.fit(codes.numpy(), seed=0)
    found = index.search(codes, 10).numpy()
    exact = nearest_neighbors(codes, codes, 10).numpy()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
    assert recall >= 0.95
    assert (found[:, 0] == np.arange(len(codes))).mean() > 0.99  # each code finds itself


def test_index_returns_int32_neighbours(low_threshold):
    codes = torch.from_numpy(clustered_codes(2000))
    prop = EmbeddingPropagation(0.9, 10, 2, random_state=0)
    neighbors, _ = prop._build(codes)
    assert prop.index_ is not None and neighbors.dtype == torch.int32
    assert torch.equal(prop.index_.search(codes, 10), neighbors)


def test_cells_short_of_k_codes_are_searched_exactly(low_threshold, monkeypatch):
    """A query whose probed cells hold fewer than k codes gets its exact neighbours."""
    monkeypatch.setitem(APPROXIMATE_GRAPH, "probes", 1)
    monkeypatch.setitem(APPROXIMATE_GRAPH, "lists_per_sqrt", 20)  # ~ 1 code per cell
    codes = torch.from_numpy(clustered_codes(1500))
    found = ApproximateIndex.fit(codes.numpy(), seed=0).search(codes, 10)
    assert (found >= 0).all()
    assert len(set(found[0].tolist())) == 10


def test_exact_path_is_the_exact_search():
    """Below the threshold the graph is nearest_neighbors' graph, as before the index."""
    codes = torch.from_numpy(clustered_codes(3000))
    prop = EmbeddingPropagation(0.9, 10, 5, random_state=0)
    out = prop.fit_transform(codes)
    assert prop.index_ is None
    neighbors = nearest_neighbors(codes, codes, 10)
    want = smooth(codes, neighbors, propagate(codes, neighbors, 0.9, 5), 0.9)
    assert torch.equal(out, want)


def test_gpu_codes_keep_the_exact_search(low_threshold):
    codes = torch.empty(5000, 50, device="meta")  # any device but the CPU
    assert not uses_approximate_search(codes)


def test_fit_is_reproducible_and_transform_queries_the_index(low_threshold, monkeypatch):
    first, second = digits_fit(random_state=0), digits_fit(random_state=0)
    assert isinstance(first.propagation_.index_, ApproximateIndex)
    X = load_digits().data[:300].astype(np.float32) / 16
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    calls = []
    search = ApproximateIndex.search
    monkeypatch.setattr(ApproximateIndex, "search",
                        lambda self, q, k: calls.append(len(q)) or search(self, q, k))
    first.transform(X)
    assert calls == [300]


def test_model_with_an_index_survives_joblib(low_threshold, tmp_path):
    vae = digits_fit(random_state=0)
    X = load_digits().data[:300].astype(np.float32) / 16
    before = vae.transform(X)
    joblib.dump(vae, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    assert loaded.propagation_.index_._index is None  # rebuilt from the centroids on use
    assert loaded.propagation_.index_.codes_ is loaded.propagation_.codes_  # stored once
    assert vae.propagation_.index_._index is not None  # transform rebuilt it after fit
    np.testing.assert_array_equal(loaded.transform(X), before)


def test_missing_faiss_warns_and_searches_exactly(monkeypatch):
    monkeypatch.setitem(APPROXIMATE_GRAPH, "min_codes", 1000)
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    with pytest.warns(UserWarning, match=r'pip install "vaesvm\[large\]"'):
        vae = digits_fit(random_state=0)
    assert vae.propagation_.index_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        digits_fit(random_state=0, propagation_alpha=0.0)  # no graph: no warning


def test_rule_text_states_the_threshold():
    assert f"{APPROXIMATE_GRAPH['min_codes']:,}" in RULE_TEXTS["graph_rule"]
    assert "vaesvm[large]" in VAETransformer.__doc__


# ------------------------------------------------- rows read from what the user passed
def test_row_stack_reads_rows_as_the_concatenation():
    rng = np.random.default_rng(0)
    a, b = rng.random((7, 3), dtype=np.float32), rng.random((5, 3), dtype=np.float32)
    stack, joined = RowStack([a, b]), np.concatenate([a, b])
    assert stack.shape == joined.shape and len(stack) == 12 and stack.dtype == np.float32
    mask = rng.random(12) < 0.5
    for key in (slice(None), slice(3, 9), slice(0, 12, 5), np.array([11, 0, 6, 7, 6]),
                np.array([-1, -12]), mask):
        np.testing.assert_array_equal(stack[key], joined[key])
    rows = TensorRows([torch.from_numpy(a), torch.from_numpy(b)])
    t = torch.from_numpy(joined)
    index = torch.tensor([11, 0, 6, 7, 6, 3])
    assert torch.equal(rows.index_select(0, index), t.index_select(0, index))
    for key in (slice(0, 4), slice(5, 10), slice(8, 12), slice(0, 12)):
        assert torch.equal(rows[key], t[key])


def test_memmap_pool_is_not_copied_and_trains_as_the_concatenation(tmp_path):
    X = load_digits().data.astype(np.float32) / 16
    y = np.full(300, -1)
    y[:100] = load_digits().target[:100]
    pool = np.memmap(tmp_path / "pool.dat", dtype=np.float32, mode="w+", shape=(len(X) - 300,
                                                                               X.shape[1]))
    pool[:] = X[300:]
    pool.flush()
    pool = np.memmap(tmp_path / "pool.dat", dtype=np.float32, mode="r", shape=pool.shape)
    est = VAETransformer(max_epochs=2, kl_warmup_epochs=1, hidden_layer_sizes=(32,),
                         n_components=8, device="cpu", image_shape=None, random_state=0)
    data = check_training_data(est, X[:300], y, pool)
    assert isinstance(data.X, RowStack) and np.shares_memory(data.X.parts[1], pool)
    from_pool = clone(est).fit(X[:300], y, X_unlabeled=pool)
    joined = clone(est).fit(X, np.concatenate([y, np.full(len(pool), -1)]))
    np.testing.assert_array_equal(from_pool.transform(X[:50]), joined.transform(X[:50]))
    np.testing.assert_array_equal(from_pool.propagation_.codes_, joined.propagation_.codes_)


def resident_file_kib() -> int:
    """This process's resident file-backed memory (Linux)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_read_only_memmaps_pages_leave_the_resident_set(tmp_path):
    """A read-only memmap's pages leave the resident set; its rows read the same after."""
    rng = np.random.default_rng(0)
    path = tmp_path / "pool.npy"
    np.save(path, rng.random((8192, 1024), dtype=np.float32))  # 32 MiB
    pool = np.load(path, mmap_mode="r")
    total = float(np.asarray(pool, dtype=np.float64).sum())  # maps every page in
    before = resident_file_kib()
    drop_resident_pages(RowStack([np.zeros((2, 1024), np.float32), np.asarray(pool)[10:]]))
    assert before - resident_file_kib() > 24 * 1024
    assert float(np.asarray(pool, dtype=np.float64).sum()) == total


def test_dropping_pages_keeps_the_rows_written_to_a_memmap(tmp_path):
    """Copy-on-write rows (mode "c") are left alone, shared ones ("r+") stay written."""
    path = tmp_path / "pool.npy"
    np.save(path, np.zeros((4096, 64), dtype=np.float32))
    for mode in ("c", "r+"):
        pool = np.load(path, mmap_mode=mode)
        pool[::7] = 0.5
        drop_resident_pages(pool[100:])
        assert (pool[::7] == 0.5).all() and (pool[1::7] == 0).all()
        del pool
    assert (np.load(path)[::7] == 0.5).all()  # "r+" wrote the file, "c" did not


def test_fit_on_a_memmap_pool_drops_its_pages_once_encoded(tmp_path, monkeypatch):
    """fit hands its rows to drop_resident_pages after encoding them for the graph."""
    import vaesvm._transformer as transformer

    X = load_digits().data.astype(np.float32) / 16
    path = tmp_path / "pool.npy"
    np.save(path, X[300:])
    dropped = []
    monkeypatch.setattr(transformer, "drop_resident_pages", dropped.append)
    est = VAETransformer(max_epochs=1, kl_warmup_epochs=1, hidden_layer_sizes=(16,),
                         n_components=4, device="cpu", image_shape=None, random_state=0)
    est.fit(X[:300], X_unlabeled=np.load(path, mmap_mode="r"))
    assert len(dropped) == 1 and isinstance(dropped[0], RowStack)
    assert isinstance(dropped[0].parts[1].base, np.memmap)  # the pool itself, not a copy


def test_cosine_graph_index_searches_unit_codes_and_survives_joblib(low_threshold, tmp_path):
    """With ``metric="cosine"`` the index holds the unit-length codes (rebuilt from the
    codes after loading) and finds neighbours by direction."""
    codes = torch.from_numpy(clustered_codes(2000))
    scaled = codes * torch.from_numpy(np.random.default_rng(1).uniform(0.2, 5.0, (2000, 1))
                                      .astype(np.float32))
    prop = EmbeddingPropagation(0.9, 10, 2, random_state=0, metric="cosine")
    neighbors, _ = prop._build(scaled)
    unit = torch.nn.functional.normalize(scaled, dim=1)
    exact = nearest_neighbors(unit, unit, 10).numpy()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(neighbors.numpy(), exact)])
    assert recall >= 0.95
    np.testing.assert_array_equal(prop.codes_, scaled.numpy())  # the codes as they are
    before = prop.transform(scaled[:300])
    joblib.dump(prop, tmp_path / "prop.joblib")
    loaded = joblib.load(tmp_path / "prop.joblib")
    np.testing.assert_array_equal(loaded.index_.codes_, unit.numpy())
    assert torch.equal(loaded.transform(scaled[:300]), before)
