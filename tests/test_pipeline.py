"""VAETransformer inside scikit-learn: Pipeline, GridSearchCV + memory, CV, persistence."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC

import vaesvm._transformer
from vaesvm import VAETransformer
from vaesvm._net import fit_seeded



@pytest.fixture
def training_runs(monkeypatch):
    """Rows of every VAE trained (cache hits of Pipeline(memory=...) train none)."""
    runs = []

    def counting(net, X, y, seed):
        runs.append(len(X))
        return fit_seeded(net, X, y, seed)

    monkeypatch.setattr(vaesvm._transformer, "fit_seeded", counting)
    return runs


@pytest.fixture
def semi(blobs):
    """40 labeled rows (20 per class) and 160 unlabeled ones."""
    X, y = blobs
    rng = np.random.RandomState(1)
    idx = rng.permutation(len(X))
    lab, unl = idx[:40], idx[40:]
    return X[lab], y[lab], X[unl], y[unl]


def make_pipe(fast_params, **kw):
    return Pipeline([("vae", VAETransformer(**{**fast_params, "max_epochs": 10})),
                     ("svc", SVC())], **kw)


def test_pipeline_with_unlabeled_data(semi, fast_params):
    X_lab, y_lab, X_unl, y_unl = semi
    pipe = make_pipe(fast_params).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
    assert pipe.score(X_unl, y_unl) > 0.9
    # the VAE really saw the unlabeled rows: same as fitting it on all of them, -1 marking
    # the unlabeled ones
    direct = VAETransformer(**{**fast_params, "max_epochs": 10}).fit(
        np.vstack([X_lab, X_unl]), np.concatenate([y_lab, np.full(len(X_unl), -1)]))
    np.testing.assert_array_equal(pipe.named_steps["vae"].transform(X_lab),
                                  direct.transform(X_lab))
    assert pipe.named_steps["svc"].n_features_in_ == 2
    assert pipe.named_steps["svc"].support_vectors_.shape[0] <= len(X_lab)


def test_grid_search_with_memory_fits_vae_once_per_setting_and_fold(semi, fast_params,
                                                                    tmp_path, training_runs):
    X_lab, y_lab, X_unl, _ = semi
    grid = {"vae__n_components": [2, 3], "vae__kl_weight": [0.5, 1.0],
            "svc__C": [1, 10], "svc__gamma": ["scale", 0.1]}
    search = GridSearchCV(make_pipe(fast_params, memory=str(tmp_path)), grid, cv=3)
    search.fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
    # 4 VAE settings x 3 folds, plus the refit on all labeled rows; not x 4 SVC settings
    assert len(training_runs) == 4 * 3 + 1
    assert len(search.cv_results_["params"]) == 16
    # every fold's VAE trained on its ~2/3 of the 40 labeled rows plus all 160 unlabeled
    assert set(training_runs[:-1]) <= {26 + 160, 27 + 160}
    assert training_runs[-1] == 40 + 160
    assert search.best_score_ > 0.9

    training_runs.clear()
    GridSearchCV(make_pipe(fast_params), grid, cv=3).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
    assert len(training_runs) == 16 * 3 + 1  # without memory: once per candidate and fold


def test_cross_val_score_and_clone(semi, fast_params):
    X_lab, y_lab, X_unl, _ = semi
    pipe = make_pipe(fast_params)
    scores = cross_val_score(pipe, X_lab, y_lab, cv=3, params={"vae__X_unlabeled": X_unl})
    assert scores.shape == (3,) and scores.mean() > 0.9
    pipe.fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
    cloned = clone(pipe)
    assert not hasattr(cloned.named_steps["vae"], "net_")
    assert cloned.get_params()["vae__n_components"] == 2


@pytest.mark.parametrize("save", ["joblib", "pickle"])
@pytest.mark.parametrize("kind", ["semi-supervised pipeline", "plain VAE", "conv on images"])
def test_persistence_round_trip_gives_identical_outputs(semi, fast_params, tmp_path, save,
                                                        kind):
    X_lab, y_lab, X_unl, _ = semi
    if kind == "semi-supervised pipeline":  # labels, propagation, SVC
        model = make_pipe(fast_params).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
        X, outputs = X_unl, ("predict", "decision_function")
    elif kind == "plain VAE":
        model = VAETransformer(**fast_params).fit(X_lab)
        X, outputs = X_unl, ("transform", "encode", "score_samples")
    else:  # 8x8 images: conv encoder and augmentation
        X = np.random.RandomState(0).rand(96, 64).astype(np.float32)
        model = VAETransformer(image_shape=(8, 8), augmentation="shift_flip",
                               **fast_params).fit(X, np.repeat([0, 1, -1], 32))
        assert (model.encoder_, model.image_shape_) == ("conv", (1, 8, 8))
        outputs = ("transform", "inverse_transform")
    if save == "joblib":
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    else:
        loaded = pickle.loads(pickle.dumps(model))
    for method in outputs:
        arg = model.transform(X) if method == "inverse_transform" else X
        np.testing.assert_array_equal(getattr(loaded, method)(arg), getattr(model, method)(arg))


def test_minus_one_labels_in_front_of_self_training(blobs, fast_params):
    X, y = blobs
    y_semi = y.copy()
    rng = np.random.RandomState(0)
    y_semi[rng.rand(len(y)) > 0.1] = -1  # ~10% labeled
    pipe = Pipeline([("vae", VAETransformer(**{**fast_params, "max_epochs": 10})),
                     # SVC(probability=True) is deprecated from scikit-learn 1.9 on
                     ("selftrain", SelfTrainingClassifier(
                         CalibratedClassifierCV(SVC(random_state=0), ensemble=False)))])
    pipe.fit(X, y_semi)
    assert pipe.score(X, y) > 0.9
    assert set(pipe.classes_) == {0, 1}
