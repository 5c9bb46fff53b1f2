"""The label-count study and the ablations of the reference paper, reproducible.

Every accuracy is measured on the official 10,000-image Fashion-MNIST test set; every
choice (classifier hyper-parameters) is made by cross-validation on the labeled
subset alone. Each finished cell is handed to the caller at once (``on_cell``), so an
interrupted run keeps what it computed.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from .. import VAETransformer, suggest_labels
from .._options import (
    RULE_TEXTS,
    flips_keep_labels,
    resolve_augmentation,
    resolve_encoder,
    resolve_image_shape,
    uses_labels,
)
from ..datasets import make_semi_supervised_split
from .config import M1_PARAMS, StudyConfig

__all__ = ["REFERENCE", "SUGGESTED", "TRANSDUCTIVE", "Method", "METHODS", "ABLATIONS",
           "M1_PARAMS", "CV_MIN_FOLDS", "PCA_COMPONENTS", "LABEL_SPREADING", "SelfTrainingSVC",
           "rows_by_vae", "run_study", "run_ablation", "tuned_svc",
           "default_svc", "logreg", "label_spreading", "self_training",
           "validation_split", "setting_key", "vae_fits", "versions", "config_dict",
           "fitted_options", "study_options"]

#: The study's row of the default Pipeline trained on the images it suggested.
SUGGESTED = "SS-VAE + SVC, suggested labels"

#: The study's row of the default Pipeline given the test images as unlabeled images.
TRANSDUCTIVE = "SS-VAE + SVC, transductive"

#: Test accuracies of the reference study (VAE + RBF SVM on 50-d latent means).
REFERENCE = {100: 0.6985, 600: 0.7720}

#: C values, and multiples of sklearn's gamma="scale" value, searched by CV.
SVC_C = (1.0, 10.0, 100.0)
SVC_GAMMA_FACTORS = (0.25, 1.0, 4.0)

#: Folds of that CV: min(``CV_MAX_FOLDS``, labels per class), at least ``CV_MIN_FOLDS``;
#: stratified k-fold needs k images of every class, so a tuned SVC needs at least
#: ``CV_MIN_FOLDS`` labels per class (:attr:`Method.min_labels_per_class`).
CV_MAX_FOLDS = 5
CV_MIN_FOLDS = 2

#: Components of the ``PCA + SVC`` baseline (PCA needs at least as many train images).
PCA_COMPONENTS = 50


def tuned_svc(X_lab: np.ndarray, random_state: int) -> BaseEstimator:
    """RBF SVC whose ``C`` and ``gamma`` are chosen by stratified CV on the labeled set.

    ``gamma`` is searched around sklearn's ``"scale"`` value, 1 / (n_features *
    Var(X)), computed on the labeled features.

    Parameters
    ----------
    X_lab : ndarray of shape (n_labels, n_features)
        The labeled features, 10 classes balanced (they fix the gamma grid and the
        number of folds: the labels per class, at most 5, at least 2).
    random_state : int
        Seed of the fold shuffling.

    Returns
    -------
    estimator
        An unfitted ``GridSearchCV`` around ``Pipeline([("svc", SVC())])``.
    """
    gamma0 = 1.0 / (X_lab.shape[1] * (float(np.var(X_lab)) or 1.0))
    grid = {"svc__C": list(SVC_C), "svc__gamma": [gamma0 * f for f in SVC_GAMMA_FACTORS]}
    per_class = len(X_lab) // 10
    folds = StratifiedKFold(n_splits=max(CV_MIN_FOLDS, min(CV_MAX_FOLDS, per_class)),
                            shuffle=True, random_state=random_state)
    return GridSearchCV(make_pipeline(SVC()), grid, cv=folds)


def default_svc(X_lab: np.ndarray, random_state: int) -> BaseEstimator:
    """scikit-learn's default RBF ``SVC()`` (C=1, gamma="scale")."""
    return SVC()


#: The graph peer's settings, chosen on validation data (benchmarks/validation/peers.py;
#: pixels and M1 codes, 3 subsets): ``alpha`` 0.8 rather than scikit-learn's 0.2 (ahead
#: or level on both sets); ``n_neighbors`` 7 (scikit-learn's) on the digits' 1,257
#: images but 20 on Fashion-MNIST's 60,000, so 7 below ``few_rows`` rows and 20 from
#: there on (the 12,000-image Fashion-MNIST variants take 20 without a validation of
#: their own).
LABEL_SPREADING = {"kernel": "knn", "alpha": 0.8, "max_iter": 100,
                   "n_neighbors": 20, "few_rows": 10_000, "n_neighbors_few": 7}


def label_spreading(X: np.ndarray, random_state: int) -> BaseEstimator:
    """``LabelSpreading`` with :data:`LABEL_SPREADING` for the row count of ``X``."""
    s = LABEL_SPREADING
    few = X is not None and len(X) < s["few_rows"]
    return LabelSpreading(kernel=s["kernel"], alpha=s["alpha"], max_iter=s["max_iter"],
                          n_neighbors=s["n_neighbors_few"] if few else s["n_neighbors"])


class SelfTrainingSVC(ClassifierMixin, BaseEstimator):
    """The study's self-training peer: the CV-tuned pixel SVC, self-trained.

    ``C`` and ``gamma`` are chosen as for the study's SVC rows (:func:`tuned_svc`, on
    the labeled rows only); an ``SVC`` with them, its probabilities calibrated by
    ``CalibratedClassifierCV(ensemble=False)`` (scikit-learn's replacement for
    ``SVC(probability=True)``; as many folds as the SVC's search), is then wrapped in
    scikit-learn's ``SelfTrainingClassifier`` and fitted on every row. The defaults
    are scikit-learn's, and were chosen on validation data
    (``benchmarks/validation/self_training.py``).

    Parameters
    ----------
    criterion : {"threshold", "k_best"}, default="threshold"
        ``SelfTrainingClassifier``'s selection criterion.
    threshold : float, default=0.75
        Predicted probability from which an image is pseudo-labeled
        (``criterion="threshold"``).
    k_best : int, default=10
        Images pseudo-labeled per round (``criterion="k_best"``).
    max_iter : int, default=10
        Most rounds of self-training.
    random_state : int or None, default=None
        Seed of the cross-validation folds.

    Attributes
    ----------
    search_ : GridSearchCV
        The fitted search of ``C`` and ``gamma``.
    self_training_ : SelfTrainingClassifier
        The fitted self-training classifier.
    classes_ : ndarray
        The class labels.
    """

    def __init__(self, criterion: str = "threshold", threshold: float = 0.75,
                 k_best: int = 10, max_iter: int = 10,
                 random_state: int | None = None) -> None:
        self.criterion = criterion
        self.threshold = threshold
        self.k_best = k_best
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SelfTrainingSVC":
        """Tune the SVC on the labeled rows, then self-train it on all rows (-1: unlabeled).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Class labels, -1 for the unlabeled rows.

        Returns
        -------
        self
        """
        labeled = y != -1
        self.search_ = tuned_svc(X[labeled], self.random_state).fit(X[labeled], y[labeled])
        svc = SVC(**{k.split("__", 1)[1]: v for k, v in self.search_.best_params_.items()})
        calibrated = CalibratedClassifierCV(svc, cv=self.search_.cv, ensemble=False)
        self.self_training_ = SelfTrainingClassifier(
            calibrated, criterion=self.criterion, threshold=self.threshold,
            k_best=self.k_best, max_iter=self.max_iter).fit(X, y)
        self.classes_ = self.self_training_.classes_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted classes of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.self_training_.predict(X)


def self_training(X: np.ndarray, random_state: int) -> BaseEstimator:
    """The study's self-training peer, :class:`SelfTrainingSVC`."""
    return SelfTrainingSVC(random_state=random_state)


def logreg(X_lab: np.ndarray, random_state: int) -> BaseEstimator:
    """``LogisticRegression(max_iter=2000)``."""
    return LogisticRegression(max_iter=2000)


@dataclass(frozen=True)
class Method:
    """One row of the study: a feature set and the classifier fitted on it.

    Attributes
    ----------
    name : str
        The row's name in the tables.
    features : {"ssvae", "ssvae_mu", "vae", "pca", "pixels"}
        The default VAE's ``transform`` (latent means with embedding propagation), its
        ``encode`` (plain latent means), the M1 VAE's latent means, 50 PCA
        components, or the raw pixels.
    classifier : callable
        ``classifier(X_labeled, random_state)`` returns the unfitted classifier.
    transductive : bool, default=False
        The classifier is fitted on every train row, ``-1`` marking the unlabeled
        ones (a semi-supervised baseline), instead of on the labeled rows only.
    min_labels_per_class : int, default=1
        The fewest labeled images per class the classifier can be fitted on (the
        command line refuses smaller ``--labels`` before any training).
    labels : {"random", "suggested"}, default="random"
        Which images are labeled: a random class-balanced subset
        (:func:`~vaesvm.make_semi_supervised_split`), or those
        :func:`~vaesvm.suggest_labels` chooses from the codes of a VAE trained on the
        train images without labels (one per seed, shared by the label counts);
        either way with their true training labels.
    test_unlabeled : bool, default=False
        The VAE is trained with the test images added to ``X_unlabeled`` (the
        transductive recipe: the images to classify are known when fitting, as a
        graph method's are); a VAE of its own per seed and label count.
    """

    name: str
    features: str
    classifier: Callable[[np.ndarray, int], BaseEstimator]
    transductive: bool = False
    min_labels_per_class: int = 1
    labels: str = "random"
    test_unlabeled: bool = False


#: method name -> :class:`Method`.
#: Each method's classifier was chosen on validation data (10,000 held-out train
#: images, 100 and 1000 labels, 3 subset seeds; benchmarks/validation/select_defaults.py),
#: never on the test set. At 100 labels: VAE + plain SVC 72.96%, VAE + CV-tuned SVC
#: 72.85%; pixels CV-tuned SVC 71.88% vs plain 69.79%; PCA CV-tuned 72.13% vs plain
#: 70.29%. Standardizing the latent means cost 6.8 points (it inflates near-collapsed
#: dimensions), so no features are standardized.
#: "SS-VAE + SVC" is the package default: ``Pipeline([("vae", VAETransformer()),
#: ("svc", SVC())]).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)``, one VAE per seed and
#: label count (the labels shape it). "SS-VAE means + SVC": the same VAE's latent
#: means without embedding propagation (``VAETransformer.encode``). "VAE" rows are the
#: reference's M1 recipe: one MLP VAE per seed trained without labels, augmentation or
#: propagation, shared by the label counts. "SS-VAE + SVC, suggested labels" is the
#: default Pipeline again, trained on the images ``suggest_labels`` chose instead;
#: "SS-VAE + SVC, transductive" the default Pipeline with the test images passed as
#: unlabeled images too (never part of the inductive rows).
#: The LabelSpreading rows are scikit-learn's graph peer, fitted on every train row (the
#: unlabeled ones -1) of the pixels or of the M1 VAE's latent means; "SelfTraining
#: (pixels)" is scikit-learn's self-training around the CV-tuned pixel SVC, fitted on
#: the same rows.
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("SS-VAE + SVC", "ssvae", default_svc),
    Method(SUGGESTED, "ssvae", default_svc, labels="suggested"),
    Method(TRANSDUCTIVE, "ssvae", default_svc, test_unlabeled=True),
    Method("SS-VAE means + SVC", "ssvae_mu", default_svc),
    Method("VAE + SVC", "vae", default_svc),
    Method("VAE + LogReg", "vae", logreg),
    Method("SVC (pixels)", "pixels", tuned_svc, min_labels_per_class=CV_MIN_FOLDS),
    Method("PCA + SVC", "pca", tuned_svc, min_labels_per_class=CV_MIN_FOLDS),
    Method("LogReg (pixels)", "pixels", logreg),
    Method("LabelSpreading (pixels)", "pixels", label_spreading, transductive=True),
    Method("LabelSpreading (VAE codes)", "vae", label_spreading, transductive=True),
    Method("SelfTraining (pixels)", "pixels", self_training, transductive=True,
           min_labels_per_class=CV_MIN_FOLDS),
)}

#: factor -> list of (label, VAETransformer parameters). Every factor varies the
#: package default (the semi-supervised VAE) one setting at a time. The factor names,
#: in this order, are :data:`vaesvm.study.config.ABLATION_FACTORS` (the command line
#: reads them from there, without importing torch). :data:`M1_PARAMS` (the
#: reference's plain VAE) is defined there too.
ABLATIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "semi_supervision": [("default (labels + shift_flip, denoising, conv, propagation)", {}),
                         ("M1: MLP, no labels, no augmentation", dict(M1_PARAMS)),
                         ("labels, no augmentation", {"augmentation": "none"}),
                         ("augmentation, no labels", {"label_weight": 0.0})],
    "label_weight": [(f"auto ({RULE_TEXTS['label_weight_rule']})", {}),
                     ("0.3", {"label_weight": 0.3}), ("1", {"label_weight": 1.0}),
                     ("3", {"label_weight": 3.0}), ("10", {"label_weight": 10.0})],
    "augmentation": [("none", {"augmentation": "none"}), ("shift", {"augmentation": "shift"}),
                     ("shift_flip", {})],
    "denoising": [("on", {}), ("off", {"denoising": False})],
    "propagation": [(f"auto ({RULE_TEXTS['propagation_rule']})", {}),
                    ("off (latent means)", {"propagation_alpha": 0.0}),
                    ("0.5", {"propagation_alpha": 0.5}), ("0.9", {"propagation_alpha": 0.9}),
                    ("0.99", {"propagation_alpha": 0.99}),
                    ("30 neighbours", {"n_neighbors": 30})],
    "encoder": [("conv (auto)", {}), ("mlp", {"encoder": "mlp"})],
    "kl_weight": [(f"auto ({RULE_TEXTS['kl_rule']})", {}), ("0.1", {"kl_weight": 0.1}),
                  ("0.25", {"kl_weight": 0.25}), ("0.5", {"kl_weight": 0.5}),
                  ("1", {"kl_weight": 1.0}), ("2", {"kl_weight": 2.0}),
                  ("auto, no warm-up", {"kl_warmup_epochs": 0})],
    "batch_norm": [("on", {}), ("off", {"batch_norm": False})],
    "activation": [(a, {"activation": a}) for a in
                   ("softplus", "relu", "elu", "leaky_relu", "tanh")],
    "n_components": [(str(d), {"n_components": d}) for d in (10, 20, 50, 100)],
}


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the numbers."""
    import sklearn
    import skorch
    import torch

    from .. import __version__

    return {"vaesvm": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "torch": torch.__version__, "skorch": skorch.__version__,
            "machine": platform.machine(), "torch_threads": str(torch.get_num_threads())}


def fitted_options(vae: VAETransformer) -> dict[str, Any]:
    """What a fitted VAE resolved its ``"auto"`` parameters to, as JSON-ready data."""
    augmentation = vae.augmentation_
    return {"image_shape": None if vae.image_shape_ is None else list(vae.image_shape_),
            "encoder": vae.encoder_,
            "augmentation": augmentation if isinstance(augmentation, str) else repr(augmentation),
            "label_weight": vae.label_weight_, "propagation_alpha": vae.propagation_alpha_,
            "precision": vae.precision_, "device": vae.device_}


def study_options(data, config: StudyConfig) -> dict[tuple[int, int], dict[str, Any]]:
    """The image shape, encoder and augmentation of every SS-VAE of a study, before training.

    The estimator's own rules (:mod:`vaesvm._options`) applied to the rows each
    ``fit`` of :func:`run_study` will see (the labeled subset first, then the other
    train images), so reports can state them before the first VAE is trained;
    :func:`fitted_options` reads the same choices from a fitted VAE.

    Returns
    -------
    dict
        ``(seed, n_labels) -> {"image_shape", "encoder", "augmentation"}``.
    """
    X_train, y_train = data.X_train[: config.n_train], data.y_train[: config.n_train]
    out = {}
    for seed in config.seeds:
        vae = config.vae(seed)
        for n in config.n_labels:
            lab, unl = make_semi_supervised_split(y_train, n, random_state=seed)
            X = X_train[np.concatenate([lab, unl])]
            shape = resolve_image_shape(vae.image_shape, X, vae.likelihood)
            augmentation = resolve_augmentation(
                vae.augmentation, shape, len(X),
                lambda lab=lab, shape=shape: flips_keep_labels(X_train[lab], y_train[lab],
                                                               shape))
            out[seed, n] = {"image_shape": None if shape is None else list(shape),
                            "encoder": resolve_encoder(vae.encoder, shape),
                            "augmentation": augmentation if isinstance(augmentation, str)
                            else repr(augmentation)}
    return out


def _ignore(*args: Any) -> None:
    """A callback that does nothing."""


def _vae_info(vae: VAETransformer, X_test: np.ndarray) -> dict[str, Any]:
    """Training time and test ELBO of a fitted VAE, for its cells."""
    return {"vae_train_seconds": sum(h["dur"] for h in vae.history_),
            "vae_test_elbo": vae.score(X_test)}


def _evaluate(method: str, X_lab: np.ndarray, X_test: np.ndarray, y_lab: np.ndarray,
              y_test: np.ndarray, seed: int) -> dict[str, Any]:
    """Fit ``method``'s classifier on the labeled rows; score it on the test set."""
    start = time.perf_counter()
    clf = METHODS[method].classifier(X_lab, seed).fit(X_lab, y_lab)
    pred = clf.predict(X_test)
    cell = {"method": method, "accuracy": float(np.mean(pred == y_test)),
            "fit_predict_seconds": time.perf_counter() - start,
            "confusion_matrix": confusion_matrix(y_test, pred).tolist()}
    if isinstance(clf, GridSearchCV):
        cell["chosen_params"] = {k: v for k, v in clf.best_params_.items()}
        cell["cv_accuracy"] = float(clf.best_score_)
    return cell


def _unlabeled_features(data, config: StudyConfig, seed: int, needs: set[str],
                        progress: Callable[[str], None], on_vae: Callable
                        ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, Any]]:
    """The feature sets fitted without labels (M1 VAE, PCA, pixels), train and test.

    Returns the features and the M1 VAE's training time and test ELBO.
    """
    X_train = data.X_train[: config.n_train]
    features, info = {}, {}
    if "vae" in needs:
        progress(f"seed {seed}: training the M1 VAE")
        vae = config.vae(seed, **M1_PARAMS).fit(X_train)
        features["vae"] = (vae.transform(X_train), vae.transform(data.X_test))
        info = _vae_info(vae, data.X_test)
        on_vae(seed, None, vae)
    if "pca" in needs:
        pca = PCA(PCA_COMPONENTS, random_state=seed).fit(X_train)
        features["pca"] = (pca.transform(X_train), pca.transform(data.X_test))
    if "pixels" in needs:
        features["pixels"] = (X_train, data.X_test)
    return features, info


def _ssvae_features(data, config: StudyConfig, seed: int, lab: np.ndarray, unl: np.ndarray,
                    test_unlabeled: bool = False
                    ) -> tuple[VAETransformer, dict[str, tuple], dict[str, Any]]:
    """Fit the default VAE as the user's Pipeline; its labeled and test features.

    With ``test_unlabeled`` the test images are passed as unlabeled images too (the
    transductive recipe). Returns the fitted VAE, its ``transform`` and ``encode``
    features of the labeled rows and the test set, and its training time, test ELBO
    and Pipeline accuracy.
    """
    X_train, y_train = data.X_train[: config.n_train], data.y_train[: config.n_train]
    X_unl = X_train[unl]
    if test_unlabeled:
        X_unl = np.concatenate([X_unl, data.X_test])
    pipe = Pipeline([("vae", config.vae(seed)), ("svc", SVC())])
    pipe.fit(X_train[lab], y_train[lab], vae__X_unlabeled=X_unl)
    ss = pipe.named_steps["vae"]
    features = {"ssvae": (ss.transform(X_train[lab]), ss.transform(data.X_test)),
                "ssvae_mu": (ss.encode(X_train[lab]), ss.encode(data.X_test))}
    info = {**_vae_info(ss, data.X_test),
            "pipeline_accuracy": float(pipe.score(data.X_test, data.y_test))}
    return ss, features, info


def rows_by_vae(methods: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split study rows by the VAE they need: ``(drawn, suggested, seen_test)``.

    ``drawn`` rows share the seed's M1 VAE and the SS-VAE of each label count (random
    labeled subsets); ``suggested`` rows need a VAE per seed that picks the labels and
    an SS-VAE per label count; ``seen_test`` rows an SS-VAE per label count trained
    with the test images too.
    """
    methods = list(methods)
    seen_test = [m for m in methods if METHODS[m].test_unlabeled]
    suggested = [m for m in methods if METHODS[m].labels == "suggested"]
    drawn = [m for m in methods if m not in seen_test and m not in suggested]
    return drawn, suggested, seen_test


def run_study(data, config: StudyConfig, *, on_cell: Callable[[dict], None] | None = None,
              progress: Callable[[str], None] | None = None,
              on_vae: Callable[[int, int | None, VAETransformer], None] | None = None
              ) -> None:
    """Run the label-count study; report each finished cell through ``on_cell``.

    Per seed and label count, the default (semi-supervised) VAE is trained in the
    user's Pipeline form on the labeled subset plus every other train image as
    ``X_unlabeled``. Per seed, one plain M1 VAE (:data:`M1_PARAMS`) is trained on all
    ``n_train`` train images without labels, so it is shared by every label count
    of that seed, as in the reference study. PCA is fitted on the same images.

    Parameters
    ----------
    data : Bunch
        Output of :func:`~vaesvm.load_fashion_mnist`.
    config : StudyConfig
        What to run.
    on_cell : callable, optional
        Called with each finished cell (a dict with seed, n_labels, method, accuracy...).
    progress : callable, optional
        Called with a short description before each step (for a progress bar): the
        training of a VAE (its epochs are reported apart, see
        :mod:`vaesvm.study.progress`) and each method's classifier.
    on_vae : callable, optional
        Called with ``(seed, n_labels, fitted VAETransformer)`` after each VAE is
        trained; ``n_labels`` is None for the shared M1 VAE of the seed.
    """
    on_cell, progress, on_vae = on_cell or _ignore, progress or _ignore, on_vae or _ignore
    y_train = data.y_train[: config.n_train]
    drawn, suggested, seen_test = rows_by_vae(config.methods)
    needs = {METHODS[m].features for m in drawn}
    for seed in config.seeds:
        features, m1_info = _unlabeled_features(data, config, seed, needs, progress, on_vae)
        chooser = _suggestion_vae(data, config, seed, progress) if suggested else None
        for n in config.n_labels:
            lab, unl = make_semi_supervised_split(y_train, n, random_state=seed)
            # labeled rows and test set per feature set
            subset = {k: (train[lab], test) for k, (train, test) in features.items()}
            everything = {k: (np.concatenate([train[lab], train[unl]]), test)
                          for k, (train, test) in features.items()}
            y_all = np.concatenate([y_train[lab], np.full(len(unl), -1)])
            info = {"vae": m1_info}  # extra keys of the cells, per feature set
            if needs & {"ssvae", "ssvae_mu"}:
                progress(f"seed {seed}, {n} labels: training SS-VAE")
                ss, ss_features, info["ssvae"] = _ssvae_features(data, config, seed, lab, unl)
                subset.update(ss_features)
                on_vae(seed, n, ss)
            for method in drawn:
                progress(f"seed {seed}, {n} labels: {method}")
                kind = METHODS[method].features
                if METHODS[method].transductive:
                    cell = _evaluate(method, *everything[kind], y_all, data.y_test, seed)
                else:
                    cell = _evaluate(method, *subset[kind], y_train[lab], data.y_test, seed)
                cell.update(seed=seed, n_labels=n, **info.get(kind, {}))
                on_cell(cell)
            for method in suggested:
                on_cell(_suggested_cell(method, data, config, seed, n, chooser, progress))
            for method in seen_test:
                progress(f"seed {seed}, {n} labels: training SS-VAE with the test images")
                _, seen, seen_info = _ssvae_features(data, config, seed, lab, unl,
                                                     test_unlabeled=True)
                cell = _evaluate(method, *seen[METHODS[method].features], y_train[lab],
                                 data.y_test, seed)
                cell.update(seed=seed, n_labels=n, **seen_info)
                on_cell(cell)


def _suggestion_vae(data, config: StudyConfig, seed: int, progress: Callable[[str], None]
                    ) -> tuple[VAETransformer, float]:
    """The default VAE trained on the train images without labels, and its fit time."""
    progress(f"seed {seed}: training the VAE that suggests labels (no labels)")
    start = time.perf_counter()
    vae = config.vae(seed).fit(data.X_train[: config.n_train])
    return vae, time.perf_counter() - start


def _suggested_cell(method: str, data, config: StudyConfig, seed: int, n: int,
                    chooser: tuple[VAETransformer, float],
                    progress: Callable[[str], None]) -> dict[str, Any]:
    """Label the images ``suggest_labels`` picks; fit the default Pipeline on them; score it.

    The cell's ``suggestion`` records the class counts of the picked images, the
    seconds the choice took on top of the VAE, and that VAE's fit seconds.
    """
    X_train, y_train = data.X_train[: config.n_train], data.y_train[: config.n_train]
    vae, vae_seconds = chooser
    progress(f"seed {seed}, {n} labels: suggesting which images to label")
    start = time.perf_counter()
    lab = np.sort(suggest_labels(X_train, n, estimator=vae, random_state=seed))
    seconds = time.perf_counter() - start
    unl = np.setdiff1d(np.arange(len(X_train)), lab)
    progress(f"seed {seed}, {n} suggested labels: training SS-VAE")
    _, features, info = _ssvae_features(data, config, seed, lab, unl)
    cell = _evaluate(method, *features[METHODS[method].features], y_train[lab],
                     data.y_test, seed)
    counts = np.bincount(y_train[lab], minlength=len(data.target_names))
    cell.update(seed=seed, n_labels=n, **info,
                suggestion={"class_counts": counts.tolist(), "seconds": seconds,
                            "vae_seconds": vae_seconds})
    return cell


def validation_split(n_train: int, n_val: int = 10000, seed: int = 123
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``n_val`` train images for validation; return ``(pool, val)`` indices.

    Labeled subsets for design choices are drawn from ``pool``; ``val``'s labels only
    score the choices. At most a sixth of the images is held out.
    """
    n_val = min(n_val, n_train // 6)
    val = np.sort(np.random.RandomState(seed).permutation(n_train)[:n_val])
    return np.setdiff1d(np.arange(n_train), val), val


def setting_key(config: StudyConfig, overrides: dict[str, Any]) -> tuple:
    """Hashable identity of a VAE setting (overrides equal to the default vanish)."""
    params = config.vae(0, **overrides).get_params()
    return tuple(sorted((k, str(v)) for k, v in params.items()))


def run_ablation(data, config: StudyConfig, factors: Iterable[str] = tuple(ABLATIONS), *,
                 on_cell: Callable[[dict], None] | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
    """Vary one VAE setting at a time; each cell: VAE + SVC accuracy and test ELBO.

    The VAE trains on all ``n_train`` images; a setting that uses labels
    (``label_weight`` "auto" or > 0) is trained once per label count, with that count's
    labeled subset (every other row unlabeled). Labeled subsets are drawn from the
    train images outside a held-out validation set (:func:`validation_split`), so
    each cell reports validation accuracy (usable for choosing settings) next to the
    test accuracy (for reporting only). Identical settings (the default appears in
    every factor) are trained once and reused.

    Parameters
    ----------
    data : Bunch
        Output of :func:`~vaesvm.load_fashion_mnist`.
    config : StudyConfig
        Label counts, seeds, epochs and defaults.
    factors : iterable of str, default=all of ABLATIONS
        Which factors to vary.
    on_cell : callable, optional
        Called with each finished cell.
    progress : callable, optional
        Called as ``progress(description, vae_fits)`` before each setting is trained
        (:func:`vae_fits`).
    """
    on_cell, progress = on_cell or _ignore, progress or _ignore
    y_train = data.y_train[: config.n_train]
    pool, val = validation_split(len(y_train))
    cache: dict[tuple, dict[str, Any]] = {}
    for seed in config.seeds:
        splits = {n: pool[make_semi_supervised_split(y_train[pool], n, random_state=seed)[0]]
                  for n in config.n_labels}
        for factor in factors:
            for label, overrides in ABLATIONS[factor]:
                key = (seed, setting_key(config, overrides))
                if key not in cache:
                    progress(f"seed {seed}: {factor} = {label}", vae_fits(config, overrides))
                    cache[key] = _ablation_cell(data, config, seed, overrides, splits, val)
                on_cell({"factor": factor, "value": label, "seed": seed, "params": overrides,
                         **cache[key]})


def vae_fits(config: StudyConfig, overrides: dict[str, Any]) -> int:
    """VAEs an ablation setting trains per seed: one per label count when it uses labels."""
    return len(config.n_labels) if uses_labels(config.vae(0, **overrides).label_weight) else 1


def _ablation_cell(data, config: StudyConfig, seed: int, overrides: dict[str, Any],
                   splits: dict[int, np.ndarray], val: np.ndarray) -> dict[str, Any]:
    """Train one setting (one VAE per label count when it uses labels) and score it."""
    X_train, y_train = data.X_train[: config.n_train], data.y_train[: config.n_train]
    with_labels = uses_labels(config.vae(seed, **overrides).label_weight)
    test, valid, elbo, loss, seconds = {}, {}, [], [], 0.0
    vae = None
    for n, lab in splits.items():
        if vae is None or with_labels:
            y_partial = np.full(len(X_train), -1)
            y_partial[lab] = y_train[lab]
            vae = config.vae(seed, **overrides).fit(X_train, y_partial)
            Z, Z_test = vae.transform(X_train), vae.transform(data.X_test)
            elbo.append(vae.score(data.X_test))
            loss.append(vae.history_[-1]["loss"])
            seconds += sum(h["dur"] for h in vae.history_)
        clf = default_svc(Z[lab], seed).fit(Z[lab], y_train[lab])
        test[str(n)] = float(clf.score(Z_test, data.y_test))
        valid[str(n)] = float(clf.score(Z[val], y_train[val]))
    # with labels, ELBO and loss are those of the VAE trained with the last label count
    return {"accuracy": test, "val_accuracy": valid, "test_elbo": elbo[-1],
            "final_train_loss": loss[-1], "vae_train_seconds": seconds,
            "vae_fits": len(elbo)}


def config_dict(config: StudyConfig) -> dict[str, Any]:
    """``config`` as plain JSON-ready data."""
    out = asdict(config)
    out["n_labels"], out["seeds"] = list(config.n_labels), list(config.seeds)
    out["methods"] = list(config.methods)
    out["vae_defaults"] = config.vae(0).get_params()
    return out
