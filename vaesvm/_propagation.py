"""Embedding propagation: smooth latent codes over a k-nearest-neighbour graph.

The codes of the training rows (labeled and unlabeled) are the nodes of a graph
in which every node is joined to its ``k`` nearest codes (itself included). A
few steps of the personalized-PageRank iteration of label spreading (Zhou et
al., 2004), applied to the codes instead of to label distributions,

    F <- (1 - alpha) * Z + alpha * P F,      P = mean over the k neighbours,

pull every code towards the codes of its neighbourhood, so points of one dense
region (one class, under the cluster assumption of semi-supervised learning)
move together and the few labeled points stand for their whole region (the
"embedding propagation" of Rodriguez et al., 2020). A new point is mapped with
one more step against the propagated training codes:
``(1 - alpha) * mu(x) + alpha * mean of F over its k nearest training codes``.
For a training row that is one more step of the same iteration.

The neighbours are the nearest codes by Euclidean distance, or by cosine similarity
(``metric="cosine"``: among the codes scaled to unit length, :func:`search_space`);
the codes propagated are the latent means as they are either way. They are found by
an exact search (:func:`nearest_neighbors`) for up to
``APPROXIMATE_GRAPH["min_codes"]`` training codes and on a GPU; beyond that, on a
CPU, by a seeded inverted-file index of faiss (:class:`ApproximateIndex`), whose
search costs grow far more slowly with the number of codes.
"""

from __future__ import annotations

import ctypes
import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from ._options import APPROXIMATE_GRAPH

__all__ = ["METRICS", "ApproximateIndex", "EmbeddingPropagation", "nearest_neighbors",
           "nearest_tiles", "neighbor_dtype", "propagate", "search_space", "search_tiles",
           "smooth", "uses_approximate_search"]

#: How the propagation graph measures the nearness of codes (``propagation_metric``).
METRICS: tuple[str, ...] = ("euclidean", "cosine")

#: What ``fit`` says when the approximate search would be used but faiss is missing.
MISSING_FAISS = (
    "The propagation graph of {n:,} codes would be searched approximately, but faiss is "
    "not installed: the exact search is used instead, whose time grows with the square of "
    "the number of codes. Install the extra: pip install \"vaesvm[large]\" (faiss-cpu).")

#: Rows and columns of one block of distances (a multiple of :data:`NEIGHBOR_TILE`):
#: 2048 x 2048 float32 is written by a matrix product and read by the tile minima
#: while it is still in a CPU's last-level cache. The search holds one block, the tile
#: minima of one block of queries (BLOCK x (k + n_tiles)) and every query's k best
#: tiles, so its memory grows with the number of codes only through those
#: (figures: the performance record page).
BLOCK = 2048

#: Reference rows per tile of the neighbour search: the first pass keeps, for every
#: query, only the ``k`` tiles with the smallest minimum distance (see
#: :func:`nearest_tiles`); the second searches those ``k * NEIGHBOR_TILE`` rows.
NEIGHBOR_TILE = 64

#: Queries searched at once in the approximate index (:class:`ApproximateIndex`).
SEARCH_ROWS = 65536

#: Rows smoothed at once by :func:`smooth`.
SMOOTH_ROWS = 4096


def search_space(codes: torch.Tensor, metric: str) -> torch.Tensor:
    """The codes as the graph's neighbours are searched among them.

    Parameters
    ----------
    codes : torch.Tensor of shape (n, d)
        Latent means.
    metric : {"euclidean", "cosine"}
        ``"euclidean"``: ``codes`` itself (the same tensor). ``"cosine"``: each code
        scaled to unit length, among which the nearest by Euclidean distance are
        those of largest cosine similarity.

    Returns
    -------
    torch.Tensor of shape (n, d)
    """
    if metric == "cosine":
        return torch.nn.functional.normalize(codes, dim=1)
    return codes


class EmbeddingPropagation:
    """Embedding propagation over the k-nearest-neighbour graph of training codes.

    ``fit`` joins every training code to its ``n_neighbors`` nearest codes and
    runs ``steps`` iterations of :func:`propagate`; ``transform`` maps any codes
    (new or training rows) with one more step against the propagated training
    codes. ``VAETransformer`` owns one as its fitted ``propagation_``.

    Parameters
    ----------
    alpha : float
        Weight of the neighbourhood, in (0, 1).
    n_neighbors : int
        Neighbours per node (at most the number of training codes).
    steps : int
        Iterations of the propagation.
    random_state : int, default=0
        Seed of the approximate index's k-means (used above the size threshold).
    metric : {"euclidean", "cosine"}, default="euclidean"
        How neighbours are found (:func:`search_space`); the codes propagated are
        the same either way.

    Attributes
    ----------
    codes_ : ndarray of shape (n_rows, d), dtype float32
        The training codes, the nodes of the graph.
    propagated_ : ndarray of shape (n_rows, d), dtype float32
        Their propagated codes F.
    index_ : ApproximateIndex or None
        The approximate index of ``codes_`` (in the search space of ``metric``) that
        ``transform`` searches too; None when the graph was searched exactly.
    """

    def __init__(self, alpha: float, n_neighbors: int, steps: int,
                 random_state: int = 0, metric: str = "euclidean") -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        self.alpha = float(alpha)
        self.n_neighbors = int(n_neighbors)
        self.steps = int(steps)
        self.random_state = int(random_state)
        self.metric = metric

    def _searched_codes(self) -> np.ndarray:
        """``codes_`` in the search space: the array itself for ``"euclidean"``."""
        if self.metric == "euclidean":
            return self.codes_
        return search_space(torch.from_numpy(self.codes_), self.metric).numpy()

    def _build(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Build the graph of ``codes`` and propagate; return its neighbours and F.

        The neighbours are kept as :func:`neighbor_dtype` indices (int32 below 2**31
        codes): half the memory of int64, and ``embedding_bag`` reads either alike.
        """
        index, host_codes = None, codes.cpu().numpy()
        space = search_space(codes, self.metric)  # codes itself for "euclidean"
        if uses_approximate_search(codes):
            # for "euclidean" the index shares host_codes: pickled once
            host_space = host_codes if space is codes else space.cpu().numpy()
            index = ApproximateIndex.fit(host_space, self.random_state)
            neighbors = index.search(space, self.n_neighbors)
            # the index holds a copy of the codes: free it before the propagation
            # allocates its codes, transform rebuilds it (as after loading)
            index.release()
        else:
            neighbors = nearest_neighbors(space, space, self.n_neighbors)
            neighbors = neighbors.to(neighbor_dtype(len(codes)))
        propagated = propagate(codes, neighbors, self.alpha, self.steps)
        self.codes_, self.propagated_ = host_codes, propagated.cpu().numpy()
        self.index_ = index
        return neighbors, propagated

    def __setstate__(self, state: dict) -> None:
        """Restore, and give the approximate index back the training codes it searches."""
        self.__dict__.setdefault("metric", "euclidean")  # models saved before the metric
        self.__dict__.update(state)
        if getattr(self, "index_", None) is not None:
            self.index_.codes_ = self._searched_codes()

    def fit(self, codes: torch.Tensor) -> "EmbeddingPropagation":
        """Build the graph of the training ``codes`` (on their device), propagate; return self."""
        self._build(codes)
        return self

    def fit_transform(self, codes: torch.Tensor, n_first: int | None = None) -> torch.Tensor:
        """Build the graph of ``codes``, propagate, and return ``transform(codes[:n_first])``.

        The training codes' own neighbours come from the graph itself, so they
        are not searched twice.

        Parameters
        ----------
        codes : torch.Tensor of shape (n_rows, d)
            Latent means of the training rows, on the device the graph is
            searched on (``VAETransformer``: the training device); ``codes_``
            and ``propagated_`` are kept in host memory.
        n_first : int or None, default=None
            Map only the first ``n_first`` rows (``VAETransformer``: the rows of
            ``X``, not those of ``X_unlabeled``); None: all of them. Each row is
            mapped on its own, so these rows are the same either way.

        Returns
        -------
        torch.Tensor of shape (n_first, d)
            What :meth:`transform` returns for ``codes[:n_first]``.
        """
        neighbors, propagated = self._build(codes)
        rows = slice(None, n_first)
        return smooth(codes[rows], neighbors[rows], propagated, self.alpha)

    def transform(self, codes: torch.Tensor) -> torch.Tensor:
        """Return ``(1 - alpha) * codes + alpha * mean of F over their nearest training codes``.

        Parameters
        ----------
        codes : torch.Tensor of shape (n, d)
            Codes to map; each row is mapped on its own.

        Returns
        -------
        torch.Tensor of shape (n, d)
        """
        index = getattr(self, "index_", None)  # models saved before the index existed
        queries = search_space(codes, self.metric)
        if index is not None:
            neighbors = index.search(queries, self.n_neighbors)
        else:
            neighbors = nearest_neighbors(queries, torch.from_numpy(self._searched_codes()),
                                          self.n_neighbors)
        return smooth(codes, neighbors, torch.from_numpy(self.propagated_), self.alpha)


def uses_approximate_search(codes: torch.Tensor) -> bool:
    """Whether the graph of ``codes`` is searched approximately (``APPROXIMATE_GRAPH``).

    More than ``min_codes`` codes on a CPU, and faiss installed; without faiss it
    warns (a ``UserWarning`` naming the extra) and answers False.
    """
    if len(codes) <= APPROXIMATE_GRAPH["min_codes"] or codes.device.type != "cpu":
        return False
    try:
        import faiss  # noqa: F401
    except ImportError:
        from ._validation import user_stacklevel
        warnings.warn(MISSING_FAISS.format(n=len(codes)), UserWarning,
                      stacklevel=user_stacklevel())
        return False
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (not glibc, Windows)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):
        return None


def _trim_heap() -> None:
    """Hand the free pages of the C heap back to the system, where the C library can.

    faiss holds an index's inverted lists (a copy of the codes) in many small heap
    blocks; freed, they stay resident as long as anything allocated after them
    lives (free() gives back only the heap's top), and the propagation's buffers,
    too large to be carved from the heap, would then come on top of them. Only
    free pages are returned: nothing that is computed changes.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def neighbor_dtype(n_codes: int) -> torch.dtype:
    """The dtype of indices into ``n_codes`` codes: int32 where it holds them, else int64."""
    return torch.int32 if n_codes <= torch.iinfo(torch.int32).max else torch.int64


@contextmanager
def _faiss_threads() -> Iterator[None]:
    """Run faiss on as many threads as torch (``n_threads`` of the estimator), then restore."""
    import faiss
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(torch.get_num_threads())
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class ApproximateIndex:
    """An inverted-file index (faiss ``IndexIVFFlat``) of the training codes.

    The codes are split into the cells of ``lists_per_sqrt * sqrt(n)`` k-means
    centroids (``APPROXIMATE_GRAPH``), trained on a seeded sample; a query is
    compared exactly with the codes of its ``probes`` nearest cells. The same
    seed, data and thread count give the same centroids, hence the same graph.
    The filled index (a second copy of the codes) exists only while it is
    searched: :meth:`release` frees it and the next search rebuilds it from the
    centroids and the codes (assigning each code to its nearest centroid is
    deterministic), as after unpickling, since only the centroids are pickled.

    Attributes
    ----------
    centroids_ : ndarray of shape (n_lists, d), dtype float32
        The k-means centroids of the cells.
    codes_ : ndarray of shape (n_codes, d), dtype float32
        The indexed codes (shared with the owning :class:`EmbeddingPropagation`).
    """

    def __init__(self, centroids: np.ndarray, codes: np.ndarray) -> None:
        self.centroids_ = centroids
        self.codes_ = codes
        self._index = self._quantizer = None

    @classmethod
    def fit(cls, codes: np.ndarray, seed: int) -> "ApproximateIndex":
        """Train the centroids on a seeded sample of ``codes`` and index every code."""
        import faiss
        g = APPROXIMATE_GRAPH
        n_lists = max(1, min(len(codes), round(g["lists_per_sqrt"] * np.sqrt(len(codes)))))
        n_train = min(len(codes), g["train_per_list"] * n_lists)
        sample = np.random.default_rng(seed).choice(len(codes), n_train, replace=False)
        kmeans = faiss.Kmeans(codes.shape[1], n_lists, niter=g["iterations"], seed=seed,
                              max_points_per_centroid=g["train_per_list"],
                              min_points_per_centroid=1, verbose=False)
        with _faiss_threads():
            kmeans.train(np.ascontiguousarray(codes[np.sort(sample)], dtype=np.float32))
        return cls(np.ascontiguousarray(kmeans.centroids, dtype=np.float32), codes)

    def _ivf(self):
        """The faiss index: the centroids' cells filled with the codes (built when missing)."""
        if self._index is None:
            import faiss
            quantizer = faiss.IndexFlatL2(self.centroids_.shape[1])
            quantizer.add(self.centroids_)
            index = faiss.IndexIVFFlat(quantizer, self.centroids_.shape[1],
                                       len(self.centroids_))
            index.is_trained = True
            with _faiss_threads():
                index.add(np.ascontiguousarray(self.codes_, dtype=np.float32))
            index.nprobe = min(APPROXIMATE_GRAPH["probes"], len(self.centroids_))
            self._quantizer, self._index = quantizer, index  # the index needs its quantizer
        return self._index

    def search(self, queries: torch.Tensor, k: int) -> torch.Tensor:
        """Return the indices of (about) the ``k`` nearest codes of every query, nearest first.

        A query whose probed cells hold fewer than ``k`` codes is searched exactly.
        The indices are :func:`neighbor_dtype` of the number of codes.
        """
        q = np.ascontiguousarray(queries.detach().cpu().numpy(), dtype=np.float32)
        found = torch.empty(len(q), k, dtype=neighbor_dtype(len(self.codes_)))
        # by blocks into one result: faiss's distances and int64 labels never exist
        # for every query at once
        distances = np.empty((min(len(q), SEARCH_ROWS), k), dtype=np.float32)
        labels = np.empty((len(distances), k), dtype=np.int64)
        with _faiss_threads():
            for start in range(0, len(q), SEARCH_ROWS):
                block = q[start:start + SEARCH_ROWS]
                self._ivf().search(block, k, D=distances[:len(block)], I=labels[:len(block)])
                found.numpy()[start:start + len(block)] = labels[:len(block)]
        short = torch.nonzero((found < 0).any(1)).flatten()
        if len(short):
            found[short] = nearest_neighbors(queries.cpu()[short],
                                             torch.from_numpy(self.codes_), k).to(found.dtype)
        return found.to(queries.device)

    def release(self) -> None:
        """Free the faiss index (its copy of the codes); the next search rebuilds it."""
        self._index = self._quantizer = None
        _trim_heap()

    def __getstate__(self) -> dict:
        """Pickle the centroids only.

        Not the faiss index (rebuilt when searched), nor the codes: the owning
        :class:`EmbeddingPropagation` pickles those and hands them back (joblib
        would otherwise store them twice).
        """
        return {"centroids_": self.centroids_, "codes_": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index = self._quantizer = None


def nearest_neighbors(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Return the indices of the ``k`` nearest reference rows of every query row.

    Two passes over tiles of :data:`NEIGHBOR_TILE` consecutive reference rows:
    :func:`nearest_tiles` finds every query's ``k`` tiles with the smallest minimum
    distance, :func:`search_tiles` the ``k`` nearest rows within them. The search
    is exact: the ``k`` chosen tiles hold ``k`` rows no farther than the k-th
    smallest minimum, and every row of another tile is at least that far (ties
    and float32 rounding of the distances aside).

    Parameters
    ----------
    queries : torch.Tensor of shape (n_queries, d)
        Query points. Passing ``reference`` itself (the same tensor object)
        builds the graph of ``reference``: every distance is then computed once
        for both of its rows, half the work.
    reference : torch.Tensor of shape (n_reference, d)
        Reference points, on the same device.
    k : int
        Number of neighbours; at most ``n_reference``.

    Returns
    -------
    torch.Tensor of shape (n_queries, k), dtype int64
        Indices into ``reference``, nearest first (squared Euclidean distance).
    """
    if not 1 <= k <= len(reference):
        raise ValueError(f"k={k} neighbours among {len(reference)} reference rows: "
                         "k must be between 1 and the number of reference rows.")
    return search_tiles(queries, reference, nearest_tiles(queries, reference, k), k)


def nearest_tiles(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Return, for every query, the ``k`` tiles of ``reference`` nearest to it.

    A tile is :data:`NEIGHBOR_TILE` consecutive reference rows (the last one may
    be shorter); its distance to a query is that of its nearest row. Distances
    are computed by blocks of :data:`BLOCK` x :data:`BLOCK` and each block is
    reduced at once to its tile minima. The minima of a block of queries over
    all tiles are reduced to every query's ``k`` smallest (``torch.topk``) once
    per block of queries. With ``queries is reference`` only the blocks on and
    above the diagonal are computed: a block's minima over its columns serve its
    rows, and its minima over its rows serve its columns (merged into those
    queries' ``k`` best right away).

    Parameters
    ----------
    queries : torch.Tensor of shape (n_queries, d)
        Query points; ``reference`` itself for the graph of ``reference``.
    reference : torch.Tensor of shape (n_reference, d)
        Reference points, on the same device.
    k : int
        Number of tiles (the number of neighbours sought).

    Returns
    -------
    torch.Tensor of shape (n_queries, min(k, n_tiles)), dtype int64
        Tile numbers, in no particular order (all tiles when there are at most ``k``).
    """
    n_tiles = -(-len(reference) // NEIGHBOR_TILE)
    if n_tiles <= k:
        return torch.arange(n_tiles, device=queries.device).expand(len(queries), -1)
    symmetric = queries is reference
    per_block = BLOCK // NEIGHBOR_TILE  # BLOCK is a multiple of NEIGHBOR_TILE
    best, tiles = _no_nearest(queries, k)
    new = {"dtype": queries.dtype, "device": queries.device}
    dist = torch.empty(min(BLOCK, len(queries)), min(BLOCK, len(reference)), **new)
    # tile minima after k columns that _keep_nearest fills: of a block of queries over
    # every tile (one merge per block of queries: a topk per row and block made the
    # search slower), and of one block's columns over its rows' tiles
    row_minima = torch.empty(len(dist), k + n_tiles, **new)
    column_minima = torch.empty(dist.shape[1], k + per_block, **new) if symmetric else None
    for i in range(0, len(queries), BLOCK):
        left = _augmented(queries[i:i + BLOCK], left=True)
        rows = slice(i, i + len(left))
        first = i if symmetric else 0  # the blocks left of the diagonal were seen as columns
        for j in range(first, len(reference), BLOCK):
            block = dist[:len(left), :min(BLOCK, len(reference) - j)]
            torch.mm(left, _augmented(reference[j:j + BLOCK], left=False).T, out=block)
            _tile_minima(block, row_minima[:len(left), k + j // NEIGHBOR_TILE:])
            if symmetric and j > i:  # the same distances, seen from the block's columns
                width = k + -(-len(left) // NEIGHBOR_TILE)
                candidates = column_minima[:block.shape[1], :width]
                _tile_minima(block.T, candidates[:, k:])
                _keep_nearest(best, tiles, slice(j, j + block.shape[1]), candidates,
                              i // NEIGHBOR_TILE)
        # the k columns before the first tile searched take the best so far
        start = first // NEIGHBOR_TILE
        _keep_nearest(best, tiles, rows, row_minima[:len(left), start:], start)
    return tiles


def _augmented(x: torch.Tensor, left: bool) -> torch.Tensor:
    """``[x, |x|^2, 1]`` (left) or ``[-2 x, 1, |x|^2]``: their products are squared distances."""
    sq = (x * x).sum(1, keepdim=True)
    if left:
        return torch.cat([x, sq, torch.ones_like(sq)], 1)
    return torch.cat([-2 * x, torch.ones_like(sq), sq], 1)


def _tile_minima(block: torch.Tensor, out: torch.Tensor) -> None:
    """Write the minimum of every run of :data:`NEIGHBOR_TILE` columns of ``block`` to ``out``.

    The columns after the last whole run make one more (shorter) run; ``out``
    (``block``'s rows, at least as many columns as runs) may be a strided view.
    """
    n, width = block.shape
    whole = width - width % NEIGHBOR_TILE
    runs = whole // NEIGHBOR_TILE
    if block.stride(1) == 1:
        torch.amin(block[:, :whole].reshape(n, runs, NEIGHBOR_TILE), 2, out=out[:, :runs])
    else:  # a transposed block: reduce along its rows, the contiguous direction (an
        # out= that is transposed too made amin much slower than this copy)
        out[:, :runs] = block.T[:whole].reshape(runs, NEIGHBOR_TILE, n).amin(1).T
    if whole < width:
        torch.amin(block[:, whole:], 1, keepdim=True, out=out[:, runs:runs + 1])


def _no_nearest(queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The state :func:`_keep_nearest` updates: k values (inf) and k column numbers per query."""
    best = torch.full((len(queries), k), torch.inf, dtype=queries.dtype, device=queries.device)
    return best, torch.zeros(len(queries), k, dtype=torch.long, device=queries.device)


def _keep_nearest(best: torch.Tensor, index: torch.Tensor, rows: slice | torch.Tensor,
                  candidates: torch.Tensor, offset: int) -> None:
    """Keep the ``k`` smallest of ``best`` and ``candidates`` for ``rows``, in place.

    ``candidates`` holds ``k`` scratch columns and then the values of columns
    ``offset``, ``offset + 1``, ... for the ``rows`` (a slice, or distinct row
    numbers); ``best`` and the column numbers ``index`` of those rows are updated.
    """
    k = best.shape[1]
    if isinstance(rows, slice):
        candidates[:, :k], old_index = best[rows], index[rows]
    else:  # index_select / index_copy_: faster than [rows] on a CPU
        candidates[:, :k], old_index = best.index_select(0, rows), index.index_select(0, rows)
    top = torch.topk(candidates, k, dim=1, largest=False, sorted=False)
    kept = old_index.gather(1, top.indices.clamp(max=k - 1))
    new_index = torch.where(top.indices < k, kept, top.indices + (offset - k))
    if isinstance(rows, slice):
        best[rows], index[rows] = top.values, new_index
    else:
        best.index_copy_(0, rows, top.values)
        index.index_copy_(0, rows, new_index)


def search_tiles(queries: torch.Tensor, reference: torch.Tensor, tiles: torch.Tensor,
                 k: int) -> torch.Tensor:
    """Return the ``k`` nearest reference rows of every query among the rows of its ``tiles``.

    The (query, tile) pairs are grouped by tile, so every tile's rows are read once,
    for all the queries that chose it, by one matrix product.

    Parameters
    ----------
    queries : torch.Tensor of shape (n_queries, d)
        Query points.
    reference : torch.Tensor of shape (n_reference, d)
        Reference points, on the same device.
    tiles : torch.Tensor of shape (n_queries, n_chosen), dtype int64
        Distinct tile numbers per query (from :func:`nearest_tiles`).
    k : int
        Number of neighbours; at most the rows in a query's tiles.

    Returns
    -------
    torch.Tensor of shape (n_queries, k), dtype int64
        Indices into ``reference``, nearest first.
    """
    ref_sq = (reference * reference).sum(1)
    best, index = _no_nearest(queries, k)
    pairs = torch.argsort(tiles.reshape(-1), stable=True)
    ends = torch.bincount(tiles.reshape(-1)).cumsum(0).tolist()
    start = 0
    for tile, end in enumerate(ends):
        if end > start:
            rows = pairs[start:end] // tiles.shape[1]  # distinct: a query's tiles are
            cols = slice(tile * NEIGHBOR_TILE, (tile + 1) * NEIGHBOR_TILE)
            width = min(NEIGHBOR_TILE, len(reference) - tile * NEIGHBOR_TILE)
            # |q|^2 is the same for every reference row: it does not change the order
            candidates = torch.empty(len(rows), k + width, dtype=queries.dtype,
                                     device=queries.device)
            torch.addmm(ref_sq[cols], queries.index_select(0, rows), reference[cols].T,
                        alpha=-2.0, out=candidates[:, k:])
            _keep_nearest(best, index, rows, candidates, tile * NEIGHBOR_TILE)
            start = end
    order = torch.argsort(best, dim=1, stable=True)
    return index.gather(1, order)


def propagate(codes: torch.Tensor, neighbors: torch.Tensor, alpha: float,
              steps: int) -> torch.Tensor:
    """Run ``steps`` iterations of ``F <- (1 - alpha) Z + alpha * mean_k F[neighbors]``.

    Parameters
    ----------
    codes : torch.Tensor of shape (n, d)
        The codes Z of the graph's nodes.
    neighbors : torch.Tensor of shape (n, k)
        Each node's neighbours (from :func:`nearest_neighbors` of ``codes``
        against itself).
    alpha : float
        Weight of the neighbourhood, in [0, 1).
    steps : int
        Number of iterations.

    Returns
    -------
    torch.Tensor of shape (n, d)
        The propagated codes F (``codes`` itself when ``steps`` is 0).
    """
    if steps == 0:
        return codes
    propagated = smooth(codes, neighbors, codes, alpha)
    # every later step reads one buffer and writes the other: two of codes' size
    # in all, allocated once rather than a new one per step
    spare = torch.empty_like(codes) if steps > 1 else None
    for _ in range(steps - 1):
        propagated, spare = smooth(codes, neighbors, propagated, alpha, out=spare), propagated
    return propagated


def smooth(codes: torch.Tensor, neighbors: torch.Tensor, propagated: torch.Tensor,
           alpha: float, out: torch.Tensor | None = None) -> torch.Tensor:
    """Return ``(1 - alpha) * codes + alpha * propagated[neighbors].mean(1)``.

    Parameters
    ----------
    codes : torch.Tensor of shape (n, d)
        The points' own codes.
    neighbors : torch.Tensor of shape (n, k), dtype int32 or int64
        Indices of each point's neighbours among the rows of ``propagated``.
    propagated : torch.Tensor of shape (n_reference, d)
        Propagated codes of the graph's nodes.
    alpha : float
        Weight of the neighbourhood, in [0, 1).
    out : torch.Tensor of shape (n, d) or None, default=None
        Where to write the result (not ``propagated`` itself, which it reads);
        None: a new tensor.

    Returns
    -------
    torch.Tensor of shape (n, d)
        The smoothed codes (the neighbours' mean by ``embedding_bag``, by blocks
        of :data:`SMOOTH_ROWS` rows: on a CPU it gathers rows x k x d floats).
    """
    if out is None:
        out = torch.empty_like(codes)
    for start in range(0, len(codes), SMOOTH_ROWS):
        rows = slice(start, start + SMOOTH_ROWS)
        means = torch.nn.functional.embedding_bag(neighbors[rows], propagated, mode="mean")
        torch.add(means * alpha, codes[rows], alpha=1.0 - alpha, out=out[rows])
    return out
