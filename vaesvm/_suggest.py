"""``suggest_labels``: which images of an unlabeled pool to send to annotators next.

Cold start (no label yet): the pool's codes are split into as many k-means
clusters as there will be labels, and from each of the largest clusters not yet
holding a labeled image the most *typical* image is taken (the one whose nearest
neighbours are closest, TypiClust: Hacohen, Dekel & Weinshall, ICML 2022), so the
suggestions are representative (dense regions) and diverse (one per cluster).

A next round (some labels already in ``y``): the same clusters, counting the
labeled images, so the new suggestions cover what the labels do not; within
each uncovered cluster the image the current classifier is least sure of among
the cluster's typical ones is taken (``SUGGEST`` and ``RULE_TEXTS["suggest_rule"]``
in :mod:`vaesvm._options`).
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._options import SUGGEST, fill_rule_texts
from ._propagation import ApproximateIndex, nearest_neighbors, uses_approximate_search

__all__ = ["suggest_labels"]


@fill_rule_texts
def suggest_labels(X, n_labels: int, y=None, *, estimator=None, random_state=None,
                   verbose: int = 0) -> np.ndarray:
    """Return the indices of the ``n_labels`` images of ``X`` most worth labeling next.

    The images are chosen from the codes of a VAE fitted on the pool ``X`` itself
    (without any label for a cold start): |suggest_rule|. The clusters make the
    picks diverse, typicality makes them representative, and the classifier's
    margin, once there is one, points at what it has not learned yet.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The pool: every image that could be labeled (those labeled already
        included), as for :meth:`VAETransformer.fit`; an ``np.memmap`` works.
    n_labels : int
        How many images to suggest, at most the number of unlabeled ones.
    y : array-like of shape (n_samples,), default=None
        The labels collected so far, ``-1`` on the unlabeled images (the
        :mod:`sklearn.semi_supervised` convention). None: no label yet (a cold
        start). Labeled images are never suggested again.
    estimator : VAETransformer or Pipeline, default=None
        The model whose codes (and, for a classifier, whose scores) guide the
        choice. A fitted one (a ``VAETransformer``, or a ``Pipeline`` of a
        ``VAETransformer`` and a classifier, as after ``pipe.fit``) is used as
        it is: nothing is trained. An unfitted one is cloned and fitted on ``X``
        and ``y`` (a ``Pipeline`` must then end in :class:`LabeledOnlyClassifier`,
        which skips the ``-1`` rows). None: ``VAETransformer(random_state=...)``
        for a cold start, ``Pipeline([("vae", VAETransformer(...)),
        ("svc", LabeledOnlyClassifier(SVC()))])`` when ``y`` holds labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means clustering and the VAE trained here, if any: the same
        seed gives the same suggestions.
    verbose : int, default=0
        Print each step (and the training's progress, when a model is trained).

    Returns
    -------
    ndarray of shape (n_labels,), dtype int64
        Row indices into ``X``, of unlabeled images only, largest uncovered
        cluster first.

    Raises
    ------
    ValueError
        If ``n_labels`` is not between 1 and the number of unlabeled images, if
        ``y`` does not have one entry per row of ``X``, or if an unfitted
        ``Pipeline`` would learn ``-1`` as a class.

    See Also
    --------
    VAETransformer : the model whose codes the choice is made on.
    make_semi_supervised_split : a random class-balanced labeled subset.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from vaesvm import VAETransformer, suggest_labels
    >>> X = load_digits().data / 16.0
    >>> vae = VAETransformer(n_components=10, max_epochs=2, kl_warmup_epochs=1,
    ...                      random_state=0).fit(X)
    >>> idx = suggest_labels(X, 20, estimator=vae, random_state=0)
    >>> idx.shape
    (20,)
    """
    start = time.perf_counter()
    n_samples = _num_samples(X)
    y = _check_labels(y, n_samples)
    labeled = y != -1
    n_unlabeled = int(n_samples - labeled.sum())
    if (not isinstance(n_labels, numbers.Integral) or isinstance(n_labels, bool)
            or not 1 <= n_labels <= n_unlabeled):
        raise ValueError(f"n_labels={n_labels!r}: suggest_labels picks between 1 and the "
                         f"{n_unlabeled:,} unlabeled images of X (y == -1); pass an int in "
                         "that range.")
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    model = _fitted_model(estimator, X, y, labeled, seed, verbose)
    say = print if verbose else (lambda *args: None)
    say(f"suggest_labels: coding {n_samples:,} images")
    classifier = _classifier(model)
    coder = model if classifier is None else model[:-1]
    codes = np.ascontiguousarray(coder.transform(X), dtype=np.float32)
    scores = _margin(classifier, codes) if classifier is not None and labeled.any() else None
    n_clusters = int(labeled.sum()) + n_labels
    say(f"suggest_labels: {n_clusters:,} k-means clusters, typicality from "
        f"{SUGGEST['typical_neighbors']} neighbours")
    clusters = KMeans(n_clusters, n_init=1, random_state=seed).fit_predict(codes)
    typical = typicality(codes, SUGGEST["typical_neighbors"], seed)
    chosen = pick(clusters, typical, labeled, n_labels, scores)
    say(f"suggest_labels: {n_labels:,} images chosen in {time.perf_counter() - start:.1f} s")
    return chosen


def _check_labels(y, n_samples: int) -> np.ndarray:
    """``y`` as a 1-D array with one entry per image; all ``-1`` when None."""
    if y is None:
        return np.full(n_samples, -1)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y has shape {y.shape}, but X has {n_samples:,} rows: pass one label "
                         "per row of X, -1 on the unlabeled ones (or y=None for none).")
    return y


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _fitted_model(estimator, X, y: np.ndarray, labeled: np.ndarray, seed: int, verbose: int):
    """The model to code (and score) the pool with: ``estimator`` as given, or fitted here."""
    from ._labeled import LabeledOnlyClassifier
    from ._transformer import VAETransformer

    if estimator is not None and _is_fitted(estimator):
        return estimator
    if estimator is None:
        vae = VAETransformer(random_state=seed, verbose=verbose)
        estimator = (vae if not labeled.any() else
                     Pipeline([("vae", vae), ("svc", LabeledOnlyClassifier(SVC()))]))
    else:
        estimator = clone(estimator)
        last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else None
        if labeled.any() and not labeled.all() and last is not None and not isinstance(
                last, LabeledOnlyClassifier):
            raise ValueError(
                f"estimator is an unfitted Pipeline ending in {type(last).__name__}, which "
                "would learn the -1 of the unlabeled images as a class; wrap it: "
                f"LabeledOnlyClassifier({type(last).__name__}(...)), or pass a fitted model.")
    return estimator.fit(X, y) if labeled.any() else estimator.fit(X)


def _classifier(model):
    """The classifier ending a Pipeline ``model``; None for a transformer (no scores)."""
    if isinstance(model, Pipeline) and not hasattr(model.steps[-1][1], "transform"):
        return model.steps[-1][1]
    return None


def _margin(classifier, codes: np.ndarray) -> np.ndarray | None:
    """Margin between the two highest class scores of every code; None without scores."""
    for method in ("decision_function", "predict_proba"):
        if hasattr(classifier, method):
            scores = np.asarray(getattr(classifier, method)(codes), dtype=np.float64)
            if scores.ndim == 1:  # two classes: one signed score
                return np.abs(scores)
            top = np.sort(scores, axis=1)
            return top[:, -1] - top[:, -2]
    return None


def typicality(codes: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Inverse mean distance of every code to its ``k`` nearest other codes.

    The graph primitives of the embedding propagation find the neighbours: exact
    for small pools, the seeded approximate index for large ones on a CPU.
    """
    k = min(k, len(codes) - 1)
    if k < 1:
        return np.ones(len(codes))
    tensor = torch.from_numpy(codes)
    if uses_approximate_search(tensor):
        index = ApproximateIndex.fit(codes, seed)
        neighbors = index.search(tensor, k + 1)
        index.release()
    else:
        neighbors = nearest_neighbors(tensor, tensor, k + 1)
    distance = np.empty(len(codes))
    for start in range(0, len(codes), 4096):  # rows x k x d floats at a time
        rows = slice(start, start + 4096)
        near = neighbors[rows, 1:]  # the first neighbour is the code itself
        distance[rows] = (tensor[rows, None, :] - tensor[near]).norm(dim=2).mean(1).numpy()
    return 1.0 / np.maximum(distance, np.finfo(np.float32).tiny)


def pick(clusters: np.ndarray, typical: np.ndarray, labeled: np.ndarray, n: int,
         certainty: np.ndarray | None = None) -> np.ndarray:
    """One image from each of the ``n`` largest clusters without a labeled image.

    Parameters
    ----------
    clusters : ndarray of shape (n_samples,)
        Cluster of every image.
    typical : ndarray of shape (n_samples,)
        Typicality of every image (higher: denser neighbourhood).
    labeled : ndarray of shape (n_samples,), dtype bool
        The images labeled already.
    n : int
        How many images to pick.
    certainty : ndarray of shape (n_samples,), optional
        The classifier's margin; with it, the least certain image among the
        cluster's most typical ``SUGGEST["typical_fraction"]`` is picked
        instead of the most typical one.

    Returns
    -------
    ndarray of shape (n,), dtype int64
    """
    sizes = np.bincount(clusters, minlength=clusters.max() + 1)
    open_clusters = np.setdiff1d(np.flatnonzero(sizes), clusters[labeled])
    order = open_clusters[np.argsort(-sizes[open_clusters], kind="stable")]
    chosen = []
    for c in order[:n]:
        members = np.flatnonzero(clusters == c)
        if certainty is None:
            chosen.append(members[np.argmax(typical[members])])
        else:
            keep = max(1, int(np.ceil(SUGGEST["typical_fraction"] * len(members))))
            dense = members[np.argsort(-typical[members], kind="stable")[:keep]]
            chosen.append(dense[np.argmin(certainty[dense])])
    if len(chosen) < n:  # fewer uncovered clusters than asked: the most typical others
        rest = np.setdiff1d(np.flatnonzero(~labeled), chosen)
        chosen.extend(rest[np.argsort(-typical[rest], kind="stable")[: n - len(chosen)]])
    return np.asarray(chosen, dtype=np.int64)
