"""Scale: the approximate neighbour graph above its size threshold (small arrays here).

The threshold (``APPROXIMATE_GRAPH["min_codes"]``) is lowered with monkeypatch so a
few thousand codes take the approximate path.
"""

import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from vaesvm import VAETransformer
from vaesvm._options import APPROXIMATE_GRAPH, RULE_TEXTS
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


def test_recall_against_exact_search(low_threshold):
    codes = torch.from_numpy(clustered_codes(4000))
    assert uses_approximate_search(codes)
    index = ApproximateIndex.fit(codes.numpy(), seed=0)
    found = index.search(codes, 10).numpy()
    exact = nearest_neighbors(codes, codes, 10).numpy()
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
    assert recall >= 0.95
    assert (found[:, 0] == np.arange(len(codes))).mean() > 0.99  # each code finds itself


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
