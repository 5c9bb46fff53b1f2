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
"""

from __future__ import annotations

import torch

__all__ = ["EmbeddingPropagation", "nearest_neighbors", "propagate", "smooth"]

#: Largest block of distances (query rows x reference rows) computed at once, into
#: one buffer (64 MiB of float32) that every block reuses: a fresh 64 MiB tensor per
#: block cost more in page faults than the matrix product itself (see the
#: Performance page for the measurements).
BLOCK_DISTANCES = 2**24

#: Columns per tile of the neighbour search: only the ``k`` tiles of a distance row
#: with the smallest minima are searched for its ``k`` nearest (see :func:`_candidates`).
NEIGHBOR_TILE = 32

#: Rows smoothed at once by :func:`smooth`.
SMOOTH_ROWS = 4096


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

    Attributes
    ----------
    codes_ : ndarray of shape (n_rows, d), dtype float32
        The training codes, the nodes of the graph.
    propagated_ : ndarray of shape (n_rows, d), dtype float32
        Their propagated codes F.
    """

    def __init__(self, alpha: float, n_neighbors: int, steps: int) -> None:
        self.alpha = float(alpha)
        self.n_neighbors = int(n_neighbors)
        self.steps = int(steps)

    def _build(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Build the graph of ``codes`` and propagate; return its neighbours and F."""
        neighbors = nearest_neighbors(codes, codes, self.n_neighbors)
        propagated = propagate(codes, neighbors, self.alpha, self.steps)
        self.codes_, self.propagated_ = codes.numpy(), propagated.numpy()
        return neighbors, propagated

    def fit(self, codes: torch.Tensor) -> "EmbeddingPropagation":
        """Build the graph of the training ``codes`` and propagate; return ``self``."""
        self._build(codes)
        return self

    def fit_transform(self, codes: torch.Tensor) -> torch.Tensor:
        """Build the graph of ``codes``, propagate, and return ``transform(codes)``.

        The training codes' own neighbours come from the graph itself, so they
        are not searched twice.

        Parameters
        ----------
        codes : torch.Tensor of shape (n_rows, d)
            Latent means of the training rows.

        Returns
        -------
        torch.Tensor of shape (n_rows, d)
            What :meth:`transform` returns for ``codes``.
        """
        neighbors, propagated = self._build(codes)
        return smooth(codes, neighbors, propagated, self.alpha)

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
        neighbors = nearest_neighbors(codes, torch.from_numpy(self.codes_), self.n_neighbors)
        return smooth(codes, neighbors, torch.from_numpy(self.propagated_), self.alpha)


def nearest_neighbors(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Return the indices of the ``k`` nearest reference rows of every query row.

    Parameters
    ----------
    queries : torch.Tensor of shape (n_queries, d)
        Query points.
    reference : torch.Tensor of shape (n_reference, d)
        Reference points, on the same device.
    k : int
        Number of neighbours; at most ``n_reference``.

    Returns
    -------
    torch.Tensor of shape (n_queries, k), dtype int64
        Indices into ``reference``, nearest first (squared Euclidean distance;
        computed by blocks of at most :data:`BLOCK_DISTANCES` distances; exact:
        :func:`_candidates` only skips tiles that cannot hold a neighbour).
    """
    ref_sq = (reference * reference).sum(1)
    rows = max(1, min(len(queries), BLOCK_DISTANCES // max(1, len(reference))))
    dist = torch.empty(rows, len(reference), dtype=queries.dtype, device=queries.device)
    out = torch.empty(len(queries), k, dtype=torch.long, device=queries.device)
    for start in range(0, len(queries), rows):
        q = queries[start:start + rows]
        n = len(q)
        # |q|^2 is the same for every reference row: it does not change the order
        torch.addmm(ref_sq, q, reference.T, alpha=-2.0, out=dist[:n])
        cand = _candidates(dist[:n], k)
        if cand is None:
            out[start:start + n] = torch.topk(dist[:n], k, dim=1, largest=False).indices
        else:
            top = torch.topk(dist[:n].gather(1, cand), k, dim=1, largest=False).indices
            out[start:start + n] = cand.gather(1, top)
    return out


def _candidates(dist: torch.Tensor, k: int) -> torch.Tensor | None:
    """Columns of ``dist`` that hold every row's ``k`` smallest entries, or None.

    Each row is cut into tiles of :data:`NEIGHBOR_TILE` columns. The ``k`` tiles
    with the smallest minima hold ``k`` entries no larger than the k-th smallest
    minimum, so every entry among the row's ``k`` smallest lies in one of them
    (or is tied with the k-th smallest); the columns past the last whole tile are
    always kept. A row is thus searched in ``k * NEIGHBOR_TILE`` columns instead
    of all of them, after one cheap minimum per tile (``torch.topk`` cost five
    to ten times a minimum per entry on the CPUs measured; the Performance page
    has the timings). None when the rows are too short for that to pay.
    """
    n, width = dist.shape
    n_tiles = width // NEIGHBOR_TILE
    if n_tiles < 4 * k:
        return None
    main = n_tiles * NEIGHBOR_TILE
    minima = dist[:, :main].view(n, n_tiles, NEIGHBOR_TILE).amin(2)
    tiles = torch.topk(minima, k, dim=1, largest=False, sorted=False).indices
    offsets = torch.arange(NEIGHBOR_TILE, device=dist.device)
    cand = (tiles.unsqueeze(2) * NEIGHBOR_TILE + offsets).view(n, k * NEIGHBOR_TILE)
    if main < width:
        tail = torch.arange(main, width, device=dist.device).expand(n, -1)
        cand = torch.cat([cand, tail], 1)
    return cand


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
        The propagated codes F.
    """
    propagated = codes
    for _ in range(steps):
        propagated = smooth(codes, neighbors, propagated, alpha)
    return propagated


def smooth(codes: torch.Tensor, neighbors: torch.Tensor, propagated: torch.Tensor,
           alpha: float) -> torch.Tensor:
    """Return ``(1 - alpha) * codes + alpha * propagated[neighbors].mean(1)``.

    Parameters
    ----------
    codes : torch.Tensor of shape (n, d)
        The points' own codes.
    neighbors : torch.Tensor of shape (n, k)
        Indices of each point's neighbours among the rows of ``propagated``.
    propagated : torch.Tensor of shape (n_reference, d)
        Propagated codes of the graph's nodes.
    alpha : float
        Weight of the neighbourhood, in [0, 1).

    Returns
    -------
    torch.Tensor of shape (n, d)
        The smoothed codes (the neighbours' mean by ``embedding_bag``, by blocks
        of :data:`SMOOTH_ROWS` rows: on a CPU it gathers rows x k x d floats).
    """
    out = torch.empty_like(codes)
    for start in range(0, len(codes), SMOOTH_ROWS):
        rows = slice(start, start + SMOOTH_ROWS)
        means = torch.nn.functional.embedding_bag(neighbors[rows], propagated, mode="mean")
        torch.add(means * alpha, codes[rows], alpha=1.0 - alpha, out=out[rows])
    return out
