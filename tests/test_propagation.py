"""Embedding propagation: the graph helpers and the transformer's use of them."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from vaesvm import VAETransformer
from vaesvm._propagation import EmbeddingPropagation, nearest_neighbors, propagate, smooth


def test_nearest_neighbors_match_sklearn():
    rng = np.random.RandomState(0)
    R = rng.randn(300, 5).astype(np.float32)
    Q = rng.randn(40, 5).astype(np.float32)
    got = nearest_neighbors(torch.from_numpy(Q), torch.from_numpy(R), 7).numpy()
    want = NearestNeighbors(n_neighbors=7).fit(R).kneighbors(Q, return_distance=False)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_reference", [2048, 2000])  # whole tiles; a 16-row last tile
@pytest.mark.parametrize("block", [2048, 256])  # one block; several, the last one partial
def test_tiled_neighbor_search_is_exact(n_reference, block, monkeypatch):
    """Searching only the k tiles with the smallest minima finds sklearn's neighbours."""
    import vaesvm._propagation as prop

    monkeypatch.setattr(prop, "BLOCK", block)
    rng = np.random.RandomState(2)
    R = rng.randn(n_reference, 5).astype(np.float32)
    # queries right next to reference points in the last tile and in scattered tiles
    near = [n_reference - 1, n_reference - 5, 0, 37, 1000, 1500]
    Q = np.vstack([R[near] + 1e-3, rng.randn(200, 5).astype(np.float32)])
    Rt, Qt = torch.from_numpy(R), torch.from_numpy(Q)
    tiles = prop.nearest_tiles(Qt, Rt, 7)
    assert tiles.shape == (len(Q), 7)  # the tiled path: 7 of 32 tiles per query
    got = nearest_neighbors(Qt, Rt, 7).numpy()
    want = NearestNeighbors(n_neighbors=7).fit(R).kneighbors(Q, return_distance=False)
    np.testing.assert_array_equal(got, want)
    assert list(got[:len(near), 0]) == near
    monkeypatch.setattr(prop, "NEIGHBOR_TILE", n_reference)  # one tile: every row
    assert prop.nearest_tiles(Qt, Rt, 7).shape == (len(Q), 1)
    np.testing.assert_array_equal(prop.nearest_neighbors(Qt, Rt, 7).numpy(), got)


@pytest.mark.parametrize("block", [2048, 192])
def test_graph_search_computes_each_distance_once_and_is_exact(block, monkeypatch):
    """``nearest_neighbors(R, R)`` (upper-triangle blocks) == against a copy == sklearn."""
    import vaesvm._propagation as prop

    monkeypatch.setattr(prop, "BLOCK", block)
    R = torch.from_numpy(np.random.RandomState(3).randn(1000, 4).astype(np.float32))
    calls = []
    mm = torch.mm
    monkeypatch.setattr(prop.torch, "mm", lambda a, b, out: calls.append(out.numel()) or mm(
        a, b, out=out))
    graph = nearest_neighbors(R, R, 5)
    computed = sum(calls)
    calls.clear()
    copy = nearest_neighbors(R, R.clone(), 5)
    assert sum(calls) == 1000 * 1000  # every query against every reference row
    n_blocks = -(-1000 // block)
    sizes = [min(block, 1000 - i) for i in range(0, 1000, block)]
    assert computed == sum(sizes[a] * sizes[b] for a in range(n_blocks)
                           for b in range(a, n_blocks))  # blocks on and above the diagonal
    np.testing.assert_array_equal(graph.numpy(), copy.numpy())
    want = NearestNeighbors(n_neighbors=5).fit(R.numpy()).kneighbors(return_distance=False)
    # sklearn leaves each point out of its own neighbours; here it is the nearest
    np.testing.assert_array_equal(graph[:, 0].numpy(), np.arange(1000))
    np.testing.assert_array_equal(graph[:, 1:].numpy(), want[:, :4])


def test_nearest_neighbors_by_blocks_and_smoothing(monkeypatch):
    """Small blocks of distances give the same answer as one block; smoothing is the mean."""
    import vaesvm._propagation as prop

    rng = np.random.RandomState(1)
    R = torch.from_numpy(rng.randn(100, 3).astype(np.float32))
    whole = nearest_neighbors(R, R, 4)
    smoothed = smooth(R, whole, R * 2, 0.7)
    monkeypatch.setattr(prop, "NEIGHBOR_TILE", 4)  # 25 tiles: the tiled path
    monkeypatch.setattr(prop, "BLOCK", 8)  # 13 x 13 blocks, the last ones of 4 rows
    np.testing.assert_array_equal(prop.nearest_neighbors(R, R, 4).numpy(), whole.numpy())
    np.testing.assert_allclose(smoothed.numpy(),
                               (0.3 * R + 0.7 * (R * 2)[whole].mean(1)).numpy(), atol=1e-6)
    assert (whole[:, 0] == torch.arange(100)).all()  # every point is its own nearest


def test_propagate_converges_to_the_closed_form():
    """F = (1 - a) (I - a P)^-1 Z, the fixed point of the iteration."""
    rng = np.random.RandomState(0)
    Z = torch.from_numpy(rng.randn(30, 2))
    nbrs = nearest_neighbors(Z, Z, 4)
    P = torch.zeros(30, 30, dtype=Z.dtype)
    P.scatter_(1, nbrs, 0.25)
    closed = 0.5 * torch.linalg.solve(torch.eye(30, dtype=Z.dtype) - 0.5 * P, Z)
    np.testing.assert_allclose(propagate(Z, nbrs, 0.5, 60).numpy(), closed.numpy(), atol=1e-12)
    np.testing.assert_array_equal(propagate(Z, nbrs, 0.0, 5).numpy(), Z.numpy())
    np.testing.assert_allclose(smooth(Z, nbrs, Z, 1.0).numpy(), Z[nbrs].mean(1).numpy())


def test_propagation_shrinks_clusters_and_keeps_them_apart():
    """Codes of a dense region move together; separate regions stay apart."""
    rng = np.random.RandomState(0)
    Z = torch.from_numpy(np.concatenate([rng.randn(200, 2), rng.randn(200, 2) + 10]))
    F = propagate(Z, nearest_neighbors(Z, Z, 10), 0.9, 10)
    spread = lambda A: float(A[:200].std(0).mean() + A[200:].std(0).mean())  # noqa: E731
    assert spread(F) < 0.75 * spread(Z)  # 2.0 -> 1.36 here
    gap = float((F[200:].mean(0) - F[:200].mean(0)).norm())
    assert gap > 0.95 * float((Z[200:].mean(0) - Z[:200].mean(0)).norm())


def test_transform_propagates_and_encode_does_not(blobs, fast_params):
    X, y = blobs
    lab = np.r_[0:25, 100:125]
    X = np.concatenate([X[lab], np.delete(X, lab, axis=0)])
    vae = VAETransformer(**fast_params).fit(X[:50], y[lab], X_unlabeled=X[50:])
    mu = vae.encode(X)
    # the graph holds every training row, X then X_unlabeled
    np.testing.assert_array_equal(vae.propagation_.codes_, mu)
    assert vae.propagation_.propagated_.shape == mu.shape
    Z = vae.transform(X)
    assert Z.dtype == np.float32 and Z.shape == mu.shape
    assert not np.allclose(Z, mu)
    # each row is mapped on its own
    np.testing.assert_allclose(vae.transform(X[:5]), Z[:5], rtol=1e-6, atol=1e-6)
    # a new point: its own code mixed with its neighbours' propagated codes
    nbrs = NearestNeighbors(n_neighbors=10).fit(vae.propagation_.codes_).kneighbors(
        mu[:3], return_distance=False)
    assert vae.propagation_alpha_ == 0.9  # "auto" with 50 labels
    want = 0.1 * mu[:3] + 0.9 * vae.propagation_.propagated_[nbrs].mean(1)
    np.testing.assert_allclose(Z[:3], want, rtol=1e-5, atol=1e-6)


def test_propagation_off_returns_the_latent_means(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(propagation_alpha=0.0, **fast_params).fit(X)
    assert vae.propagation_ is None
    assert vae.propagation_alpha_ == 0.0
    np.testing.assert_array_equal(vae.transform(X), vae.encode(X))
    on = VAETransformer(**fast_params).fit(X)
    # propagation happens after training: the network is the same
    np.testing.assert_array_equal(on.encode(X), vae.encode(X))


def test_more_neighbours_than_rows(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(n_neighbors=500, **fast_params).fit(X[:40])
    assert vae.propagation_.n_neighbors == 40
    assert np.isfinite(vae.transform(X)).all()


def test_propagation_object_maps_its_training_codes_like_new_ones():
    rng = np.random.RandomState(0)
    codes = torch.from_numpy(rng.randn(300, 4).astype(np.float32))
    prop = EmbeddingPropagation(alpha=0.8, n_neighbors=6, steps=5)
    fitted = prop.fit_transform(codes)
    np.testing.assert_array_equal(prop.codes_, codes.numpy())
    neighbors = nearest_neighbors(codes, codes, 6)
    np.testing.assert_array_equal(prop.propagated_, propagate(codes, neighbors, 0.8, 5).numpy())
    # fit_transform reuses the graph's neighbours: the same as mapping the codes anew
    np.testing.assert_array_equal(fitted.numpy(), prop.transform(codes).numpy())


def test_propagate_with_two_buffers_is_the_plain_iteration():
    """Reusing two buffers gives the iteration's own values, bit for bit, at every step count."""
    rng = np.random.RandomState(0)
    codes = torch.from_numpy(rng.randn(500, 5).astype(np.float32))
    neighbors = nearest_neighbors(codes, codes, 7)
    F = codes
    for steps in range(5):
        assert torch.equal(propagate(codes, neighbors, 0.8, steps), F)
        F = smooth(codes, neighbors, F, 0.8)
    assert propagate(codes, neighbors, 0.8, 0) is codes


def test_graph_neighbours_are_int32_and_map_as_int64():
    """The graph keeps int32 indices (half of int64's memory) and smooths exactly alike."""
    rng = np.random.RandomState(0)
    codes = torch.from_numpy(rng.randn(300, 4).astype(np.float32))
    prop = EmbeddingPropagation(alpha=0.8, n_neighbors=6, steps=3)
    neighbors, propagated = prop._build(codes)
    assert neighbors.dtype == torch.int32
    wide = nearest_neighbors(codes, codes, 6)
    assert torch.equal(neighbors, wide.int())
    assert torch.equal(propagated, propagate(codes, wide, 0.8, 3))
    # fit_transform of the first rows only: those rows of fit_transform of all of them
    first = EmbeddingPropagation(alpha=0.8, n_neighbors=6, steps=3).fit_transform(codes, 40)
    assert first.shape == (40, 4) and first.untyped_storage().nbytes() == first.nbytes
    assert torch.equal(first, prop.fit_transform(codes)[:40])


def test_fit_transform_encodes_once_and_matches_fit_then_transform(blobs, fast_params,
                                                                   monkeypatch):
    X, y = blobs
    y = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    calls = []
    original = EmbeddingPropagation.transform
    monkeypatch.setattr(EmbeddingPropagation, "transform",
                        lambda self, codes: calls.append(len(codes)) or original(self, codes))
    Z = VAETransformer(**fast_params).fit_transform(X[:150], y[:150], X_unlabeled=X[150:])
    assert calls == []  # no neighbour search beyond the graph's own
    vae = VAETransformer(**fast_params).fit(X[:150], y[:150], X_unlabeled=X[150:])
    assert Z.shape == (150, 2)
    np.testing.assert_allclose(Z, vae.transform(X[:150]), rtol=1e-5, atol=1e-6)


def test_graph_is_searched_on_the_training_device(blobs, fast_params, monkeypatch):
    """fit hands the codes to the search on ``device_``; the fitted codes live in host memory."""
    import vaesvm._propagation as prop

    devices = []
    search = prop.nearest_neighbors
    monkeypatch.setattr(prop, "nearest_neighbors",
                        lambda q, r, k: devices.append((q.device, q is r)) or search(q, r, k))
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    assert devices == [(torch.device(vae.device_), True)]  # one graph, each distance once
    assert isinstance(vae.propagation_.codes_, np.ndarray)
    assert isinstance(vae.propagation_.propagated_, np.ndarray)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_neighbor_search_on_cuda_matches_the_cpu():
    R = torch.from_numpy(np.random.RandomState(4).randn(5000, 20).astype(np.float32))
    cpu = nearest_neighbors(R, R, 10)
    R_gpu = R.cuda()
    gpu = nearest_neighbors(R_gpu, R_gpu, 10).cpu()
    # the same neighbour sets (ties and float32 rounding aside, as on the CPU)
    same = (gpu.sort(1).values == cpu.sort(1).values).all(1).float().mean().item()
    assert same > 0.999
    queries = nearest_neighbors(R_gpu[:100].clone(), R_gpu, 10).cpu()  # not the graph
    assert (queries.sort(1).values == gpu[:100].sort(1).values).all(1).float().mean() > 0.99


def test_nearest_neighbors_refuses_more_neighbours_than_rows():
    R = torch.zeros(5, 2)
    with pytest.raises(ValueError, match="k=6 neighbours among 5 reference rows"):
        nearest_neighbors(R, R, 6)


# ------------------------------------------------------------ the graph's metric
def test_cosine_graph_finds_neighbours_by_direction_and_propagates_the_codes():
    rng = np.random.RandomState(0)
    codes = rng.randn(300, 5).astype(np.float32)
    # each code's length scaled at random: the cosine graph does not see it
    scaled = codes * rng.uniform(0.2, 5.0, size=(300, 1)).astype(np.float32)
    prop = EmbeddingPropagation(alpha=0.8, n_neighbors=6, steps=3, metric="cosine")
    neighbors, propagated = prop._build(torch.from_numpy(scaled))
    want = NearestNeighbors(n_neighbors=6, metric="cosine").fit(codes).kneighbors(
        return_distance=False)
    # sklearn leaves each point out of its own neighbours; the graph keeps it first
    np.testing.assert_array_equal(neighbors[:, 1:].numpy(), want[:, :5])
    assert (neighbors[:, 0].numpy() == np.arange(300)).all()
    # the values propagated are the codes as they are, lengths included
    np.testing.assert_array_equal(prop.codes_, scaled)
    torch.testing.assert_close(propagated, propagate(torch.from_numpy(scaled),
                                                     neighbors.long(), 0.8, 3))
    # a new code is mapped against the training codes' directions
    new = torch.from_numpy(3.0 * codes[:4])
    mapped = prop.transform(new)
    by_direction = nearest_neighbors(torch.nn.functional.normalize(new, dim=1),
                                     torch.nn.functional.normalize(torch.from_numpy(scaled),
                                                                   dim=1), 6)
    torch.testing.assert_close(mapped, smooth(new, by_direction, propagated, 0.8))


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="metric must be one of"):
        EmbeddingPropagation(alpha=0.8, n_neighbors=6, steps=3, metric="manhattan")


def test_transformer_metric_changes_the_graph_only(fast_params):
    """``propagation_metric="cosine"``: the same network, the graph by direction."""
    rng = np.random.RandomState(0)
    grey = rng.rand(120, 64).astype(np.float32)
    colour = (grey[:, None, :] * rng.uniform(0.3, 1.0, (120, 3, 1))).reshape(120, -1)
    colour = colour.astype(np.float32)
    params = {**fast_params, "encoder": "mlp", "image_shape": (3, 8, 8)}
    default = VAETransformer(**params).fit(colour)
    assert default.propagation_.metric == "euclidean"
    cosine = VAETransformer(propagation_metric="cosine", **params).fit(colour)
    assert cosine.propagation_.metric == "cosine"
    np.testing.assert_array_equal(cosine.encode(colour), default.encode(colour))
    mu = cosine.encode(colour)
    unit = mu / np.linalg.norm(mu, axis=1, keepdims=True)
    nbrs = NearestNeighbors(n_neighbors=10).fit(unit).kneighbors(unit[:5], return_distance=False)
    alpha = cosine.propagation_alpha_
    want = (1 - alpha) * mu[:5] + alpha * cosine.propagation_.propagated_[nbrs].mean(1)
    np.testing.assert_allclose(cosine.transform(colour[:5]), want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(cosine.transform(colour), default.transform(colour))
    with pytest.raises(ValueError, match="propagation_metric"):
        VAETransformer(propagation_metric="manhattan", **params).fit(colour)


def test_models_saved_before_the_metric_load_as_euclidean():
    codes = torch.from_numpy(np.random.RandomState(0).randn(100, 4).astype(np.float32))
    prop = EmbeddingPropagation(alpha=0.8, n_neighbors=5, steps=2).fit(codes)
    state = dict(prop.__dict__)
    del state["metric"]
    old = EmbeddingPropagation.__new__(EmbeddingPropagation)
    old.__setstate__(state)
    assert old.metric == "euclidean"
    torch.testing.assert_close(old.transform(codes), prop.transform(codes))
