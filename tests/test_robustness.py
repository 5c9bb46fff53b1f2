"""Dependable under Ctrl-C, exceptions, threads, an exploding loss and odd input."""

import pickle
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import LabeledOnlyClassifier, VAETransformer
from vaesvm._callbacks import KLWarmup


def _interrupt_at_epoch(monkeypatch, epoch):
    """Make training raise KeyboardInterrupt (as Ctrl-C does) at the start of ``epoch``."""
    original = KLWarmup.on_epoch_begin

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == epoch:
            raise KeyboardInterrupt
        original(self, net, **kwargs)

    monkeypatch.setattr(KLWarmup, "on_epoch_begin", on_epoch_begin)


def _state(vae):
    return {k: v for k, v in vars(vae).items() if k.endswith("_")}


def test_ctrl_c_reraises_and_leaves_the_fitted_model_as_it_was(blobs, fast_params,
                                                              monkeypatch):
    X, y = blobs
    vae = VAETransformer(**fast_params).fit(X, y)
    before, Z = _state(vae), vae.transform(X)
    _interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt, match="interrupted; the estimator is unchanged"):
        vae.set_params(max_epochs=5).fit(X[:100])
    assert _state(vae).keys() == before.keys()
    assert all(_state(vae)[k] is v for k, v in before.items())  # the very same objects
    np.testing.assert_array_equal(vae.transform(X), Z)
    unfitted = VAETransformer(**fast_params)
    with pytest.raises(KeyboardInterrupt):
        unfitted.fit(X)
    assert _state(unfitted) == {}


def test_ctrl_c_stops_a_grid_search(blobs, fast_params, monkeypatch):
    X, y = blobs
    _interrupt_at_epoch(monkeypatch, 1)
    pipe = Pipeline([("vae", VAETransformer(**fast_params)), ("svc", SVC())])
    search = GridSearchCV(pipe, {"svc__C": [1, 10]}, cv=2, n_jobs=1)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)  # not a NaN score and on to the next candidate


def test_a_failing_refit_leaves_the_previous_model(blobs, fast_params):
    X, y = blobs
    vae = VAETransformer(likelihood="gaussian", **fast_params).fit(X)
    before, Z = _state(vae), vae.transform(X)
    with pytest.raises(FloatingPointError):
        vae.fit(X * 1e20)
    assert all(_state(vae)[k] is v for k, v in before.items())
    np.testing.assert_array_equal(vae.transform(X), Z)
    with pytest.raises(ValueError, match="X_unlabeled has 3 features"):
        vae.fit(X, X_unlabeled=X[:, :3])
    assert vae.n_features_in_ == 20 and vae.net_ is before["net_"]


def test_exploding_loss_without_nan_stops_with_advice_for_the_settings(blobs, fast_params):
    X, _ = blobs
    params = {**fast_params, "learning_rate": 1e3, "batch_norm": False, "max_epochs": 10}
    with pytest.raises(FloatingPointError, match=r"loss grew beyond .*Lower learning_rate "
                                                 r"\(now 1000, e.g. to 100\) or use "
                                                 r"batch_norm=True\."):
        VAETransformer(**params).fit(X)
    with pytest.raises(FloatingPointError) as info:  # batch norm on: not advised
        VAETransformer(**{**params, "batch_norm": True, "learning_rate": 1e6}).fit(X)
    assert "batch_norm" not in str(info.value)


def test_batch_size_one_with_batch_norm_is_refused_before_training(blobs, fast_params):
    X, y = blobs
    with pytest.raises(ValueError, match="batch_size=1 with batch_norm=True cannot train"):
        VAETransformer(**{**fast_params, "batch_size": 1}).fit(X)
    # labeled rows are added to every batch: it can train
    rows = np.r_[0:10, 100:110]
    VAETransformer(**{**fast_params, "batch_size": 1, "max_epochs": 1}).fit(X[rows], y[rows])


def _fit_codes(X, y, params):
    return VAETransformer(**params).fit(X, y).transform(X)


def test_fits_in_threads_equal_serial_fits_and_leave_torch_rng_alone(blobs, fast_params):
    X, y = blobs
    y = np.where(np.arange(len(y)) % 3 == 0, y, -1)
    images = np.random.RandomState(1).rand(120, 64).astype(np.float32)  # conv + augmentation
    image_params = {**fast_params, "image_shape": (8, 8), "augmentation": "shift_flip"}
    jobs = [(X, y, fast_params), (images, np.repeat([0, 1, -1], 40), image_params),
            (X, None, {**fast_params, "random_state": 3})]
    serial = [_fit_codes(*job) for job in jobs]
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    with ThreadPoolExecutor(max_workers=3) as pool:
        threaded = list(pool.map(lambda job: _fit_codes(*job), jobs * 2))
    with joblib.parallel_backend("threading", n_jobs=3):
        via_joblib = joblib.Parallel()(joblib.delayed(_fit_codes)(*job) for job in jobs)
    assert torch.equal(torch.get_rng_state(), state)
    for got in (threaded[:3], threaded[3:], via_joblib):
        for a, b in zip(serial, got):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("y, match", [
    (np.array([None, 1] * 100, dtype=object), "missing labels"),
    (np.r_[np.nan, np.ones(99), np.zeros(100)], "NaN labels"),
    (np.array(["a", "b", -1, "a"] * 50, dtype=object), "mixes strings with numbers"),
])
def test_bad_y_is_refused_before_training_naming_y(blobs, fast_params, y, match):
    X, _ = blobs
    with pytest.raises(ValueError, match=f"^y .*{match}|{match}.*y"):
        VAETransformer(**fast_params).fit(X, y)


def test_minus_one_labels_end_to_end_with_labeled_only_classifier(blobs, fast_params):
    X, y = blobs
    y_semi = np.where(np.random.RandomState(0).rand(len(y)) < 0.2, y, -1)
    plain = Pipeline([("vae", VAETransformer(**fast_params)), ("svc", SVC())]).fit(X, y_semi)
    assert -1 in plain.classes_  # the pitfall: the SVC learned "unlabeled" as a class
    safe = Pipeline([("vae", VAETransformer(**fast_params)),
                     ("svc", LabeledOnlyClassifier(SVC()))]).fit(X, y_semi)
    assert list(safe.classes_) == [0, 1]
    assert set(safe.predict(X)) <= {0, 1}
    assert safe.named_steps["vae"].n_labeled_ == (y_semi >= 0).sum()
    assert safe[-1].n_labeled_ == (y_semi >= 0).sum()
    assert safe.score(X, y) > 0.9
    search = GridSearchCV(safe, {"svc__estimator__C": [1, 10]}, cv=2).fit(X, y_semi)
    assert 0.9 < search.best_score_ <= 1.0  # scored on the labeled rows of each fold


def test_range_message_shows_the_offending_value_in_full(fast_params):
    X = np.full((20, 4), 0.5, np.float32)
    X[0, 0] = 1 + 1e-6
    with pytest.raises(ValueError, match=r"X has values in \[0\.5, 1\.00000095"):
        VAETransformer(**fast_params).fit(X)


def test_odd_calls_and_settings(blobs, fast_params):
    X, _ = blobs
    with pytest.raises(NotFittedError):
        VAETransformer().get_feature_names_out()
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(20)])
    with pytest.raises(ValueError, match="X_unlabeled has the columns.*X.columns"):
        VAETransformer(**fast_params).fit(df, X_unlabeled=df.iloc[:, ::-1])
    np.testing.assert_array_equal(  # reversed views are fine where names don't matter
        VAETransformer(**fast_params).fit(X[:, ::-1].copy()).transform(X[:, ::-1]),
        VAETransformer(**fast_params).fit(X[:, ::-1].copy()).transform(X[:, ::-1].copy()))
    for device in ("mps", "meta"):
        with pytest.raises(ValueError, match="'cpu' or 'cuda' devices only"):
            VAETransformer(device=device, **fast_params).fit(X)
    default = torch.get_default_dtype()
    images = np.random.RandomState(0).rand(64, 64)  # conv encoder under float64 default
    try:
        torch.set_default_dtype(torch.float64)
        Z = VAETransformer(image_shape=(8, 8), **fast_params).fit(images).transform(images)
    finally:
        torch.set_default_dtype(default)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()


def test_saved_model_holds_no_optimizer_state(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    assert vae.net_.optimizer_.state_dict()["state"] == {}
    assert all(p.grad is None for p in vae.net_.module_.parameters())  # nor gradients
    size = len(pickle.dumps(vae))
    n_weights = sum(p.numel() for p in vae.net_.module_.parameters())
    # Adam would add two float32 moments per weight
    assert size < 4 * n_weights * 2 + 4 * len(X) * 2 * 10 + 200_000
