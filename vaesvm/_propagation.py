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

__all__ = ["AUTO_PROPAGATION_RULE", "nearest_neighbors", "propagate",
           "resolve_propagation_alpha", "smooth"]

#: ``propagation_alpha="auto"``: ``high`` up to ``start`` labeled rows, then
#: linearly down to ``low`` at ``end`` labeled rows, ``low`` from there on.
AUTO_PROPAGATION_ALPHA = {"high": 0.9, "low": 0.5, "start": 1000, "end": 3000}

#: The ``"auto"`` rule in words, for docs and result files.
AUTO_PROPAGATION_RULE = (
    f"{AUTO_PROPAGATION_ALPHA['high']:g} up to {AUTO_PROPAGATION_ALPHA['start']} labeled "
    f"rows, falling linearly to {AUTO_PROPAGATION_ALPHA['low']:g} at "
    f"{AUTO_PROPAGATION_ALPHA['end']} and held there"
)

#: Largest distance block (query rows x reference rows) held in memory at once.
_MAX_BLOCK = 2**24


def resolve_propagation_alpha(alpha: float | str, n_labeled: int) -> float:
    """Turn ``propagation_alpha="auto"`` into the value used with ``n_labeled`` labels.

    Parameters
    ----------
    alpha : float or "auto"
        The parameter value; a number is returned unchanged.
    n_labeled : int
        Number of labeled training rows (0 without labels).

    Returns
    -------
    float
        For ``"auto"``: 0.9 up to 1000 labeled rows (and without labels),
        then linearly down to 0.5 at 3000, 0.5 from there on; strong smoothing
        lets a few labels stand for their whole neighbourhood, while with many
        labels it blurs boundaries the classifier can already draw.
    """
    if alpha != "auto":
        return float(alpha)
    a = AUTO_PROPAGATION_ALPHA
    frac = min(1.0, max(0.0, (n_labeled - a["start"]) / (a["end"] - a["start"])))
    return float(a["high"] + frac * (a["low"] - a["high"]))


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
        computed by blocks of at most ``2**24`` distances).
    """
    ref_sq = (reference * reference).sum(1)
    rows = max(1, _MAX_BLOCK // max(1, len(reference)))
    out = []
    for start in range(0, len(queries), rows):
        q = queries[start:start + rows]
        # |q|^2 is the same for every reference row: it does not change the order
        dist = ref_sq - 2.0 * (q @ reference.T)
        out.append(torch.topk(dist, k, dim=1, largest=False, sorted=True).indices)
    return torch.cat(out) if out else torch.empty(0, k, dtype=torch.long,
                                                  device=queries.device)


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
        The smoothed codes.
    """
    return (1.0 - alpha) * codes + alpha * propagated[neighbors].mean(1)
