"""``LabeledOnlyClassifier``: the last Pipeline step when ``y`` marks unlabeled rows with -1."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._validation import unlabeled_mask

__all__ = ["LabeledOnlyClassifier"]

#: Checks of X left to the wrapped classifier (any dtype, sparse, NaN if it takes them).
_PASS_THROUGH = {"accept_sparse": "csr", "dtype": None, "ensure_all_finite": False}


def _estimator_has(method: str):
    def check(self) -> bool:
        target = getattr(self, "estimator_", self.estimator)
        return hasattr(target, method)

    return check


class LabeledOnlyClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier on the labeled rows only (``y != -1``) and score on them only.

    In ``Pipeline([("vae", VAETransformer()), ("svc", SVC())]).fit(X, y)`` with
    ``y = -1`` on the unlabeled rows (the :mod:`sklearn.semi_supervised`
    convention), the VAE uses those rows as unlabeled data, but the SVC learns
    ``-1`` as one more class and may predict it. Wrapping the last step,
    ``Pipeline([("vae", VAETransformer()), ("svc", LabeledOnlyClassifier(SVC()))])``,
    keeps the unlabeled rows for the VAE and hides them from the classifier;
    :meth:`score` (used by ``GridSearchCV`` and ``cross_val_score``) ignores them
    too, so folds are scored on labels only.

    Parameters
    ----------
    estimator : classifier
        The classifier to fit on the labeled rows (cloned in ``fit``).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone.
    classes_ : ndarray
        The classes it learned (never ``-1``).
    n_labeled_ : int
        Labeled rows it was fitted on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from vaesvm import LabeledOnlyClassifier
    >>> X = np.array([[0.0], [0.1], [0.9], [1.0], [0.05], [0.95]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> clf = LabeledOnlyClassifier(SVC()).fit(X, y)
    >>> clf.classes_, clf.n_labeled_
    (array([0, 1]), 4)
    >>> clf.score(X, y)  # the two -1 rows are not scored
    1.0
    """

    def __init__(self, estimator) -> None:
        self.estimator = estimator

    def fit(self, X, y, sample_weight=None, **fit_params) -> "LabeledOnlyClassifier":
        """Fit a clone of ``estimator`` on the rows whose label is not -1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (e.g. the VAE's codes in a Pipeline).
        y : array-like of shape (n_samples,)
            Labels, -1 (or the string "-1") on unlabeled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows; those of the labeled rows are passed on.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : LabeledOnlyClassifier
        """
        X, y = validate_data(self, X, y, **_PASS_THROUGH)
        labeled = self._labeled(y)
        if labeled.sum() == 0:
            raise ValueError("Every row of y is -1 (unlabeled): label some rows to fit "
                             f"{type(self.estimator).__name__}.")
        if sample_weight is not None:
            fit_params["sample_weight"] = _check_sample_weight(sample_weight, X)[labeled]
        self.estimator_ = clone(self.estimator).fit(X[labeled], y[labeled], **fit_params)
        self.classes_ = self.estimator_.classes_
        self.n_labeled_ = int(labeled.sum())
        return self

    @staticmethod
    def _labeled(y) -> np.ndarray:
        return ~unlabeled_mask(np.asarray(y))

    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, **_PASS_THROUGH)

    def predict(self, X) -> np.ndarray:
        """Predict with the fitted classifier."""
        X = self._check_X(X)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the fitted classifier."""
        X = self._check_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X) -> np.ndarray:
        """Decision function of the fitted classifier."""
        X = self._check_X(X)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on the labeled rows of ``(X, y)``; rows labeled -1 are ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,)
            Labels, -1 on unlabeled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        float
        """
        X = self._check_X(X)
        labeled = self._labeled(y)
        weights = None if sample_weight is None else np.asarray(sample_weight)[labeled]
        return float(accuracy_score(np.asarray(y)[labeled],
                                    self.estimator_.predict(X[labeled]),
                                    sample_weight=weights))
