"""Dependable, round two (issue 29, estimator half): saved models always load, settings
that cannot train say so, fitted dimensions come from fitted state."""

import copy
import io
import pickle
import warnings
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from vaesvm import VAETransformer
from vaesvm._net import loadable_device
from vaesvm._options import canonical_device, resolve_device
from vaesvm._validation import far_from_unit_scale


@contextmanager
def _no_warnings():
    """A block in which any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------- saved models always load
def _round_trips(vae):
    """The model after pickle, joblib and deepcopy."""
    buffer = io.BytesIO()
    joblib.dump(vae, buffer)
    buffer.seek(0)
    return {"pickle": pickle.loads(pickle.dumps(vae)), "joblib": joblib.load(buffer),
            "deepcopy": copy.deepcopy(vae)}


CPU_SPELLINGS = ["cpu", "cpu:0", "CPU", " Cpu:0 ", torch.device("cpu"), torch.device("cpu", 0)]


@pytest.mark.parametrize("device", CPU_SPELLINGS, ids=repr)
def test_every_cpu_spelling_trains_saves_and_loads(blobs, fast_params, device):
    X, _ = blobs
    vae = VAETransformer(device=device, **fast_params).fit(X)
    assert vae.device_ == "cpu" and vae.net_.device == "cpu"
    assert vae.get_params()["device"] == device  # the parameter keeps what was given
    expected = vae.transform(X)
    for how, loaded in _round_trips(vae).items():
        np.testing.assert_array_equal(loaded.transform(X), expected, err_msg=how)
    assert clone(vae).get_params()["device"] == device


@pytest.mark.parametrize("saved_as", ["cpu:0", "CPU"])
def test_models_saved_with_an_unnormalized_cpu_device_load(blobs, fast_params, saved_as):
    """A model saved before fit normalized the device: its net says e.g. 'cpu:0'.

    torch cannot restore tensors to the location 'cpu:0'; the net's ``__setstate__``
    loads them on 'cpu'.
    """
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    expected = vae.transform(X)
    vae.net_.device = saved_as
    for how, loaded in _round_trips(vae).items():
        assert loaded.net_.device == "cpu", how
        np.testing.assert_array_equal(loaded.transform(X), expected, err_msg=how)


def test_simulated_cuda_model_with_cuda_tagged_tensors_loads_on_cpu(
        blobs, fast_params, monkeypatch):
    """Tensors tagged 'cuda:0' in the pickle (as a GPU fit writes them) load on a CPU.

    torch writes each storage's location into the pickle; patching the tag makes the
    saved bytes those of a GPU-trained model without a GPU.
    """
    if torch.cuda.is_available():
        pytest.skip("needs a CPU-only machine")
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    expected = vae.transform(X)
    vae.net_.device = vae.device_ = "cuda:0"
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        saved = pickle.dumps(vae)
    assert b"cuda:0" in saved
    with pytest.raises(RuntimeError, match="CUDA"):  # what torch does without help
        torch.load(io.BytesIO(_first_tensor_bytes(vae.net_, monkeypatch)),
                   weights_only=True)
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        loaded = pickle.loads(saved)
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), expected)


def _first_tensor_bytes(net, monkeypatch):
    """A weight of ``net`` saved by ``torch.save`` with its storage tagged 'cuda:0'."""
    buffer = io.BytesIO()
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save(next(net.module_.parameters()).detach(), buffer)
    return buffer.getvalue()


def test_loadable_device_rules(monkeypatch):
    for spelling in ["cpu", "cpu:0", "CPU", torch.device("cpu", 0)]:
        assert loadable_device(spelling) == "cpu"
    assert loadable_device(None) is None
    # no CUDA: unchanged, skorch maps the tensors to the CPU and says so
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert loadable_device("CUDA:1") == "cuda:1"
    # a GPU index this machine lacks: the current GPU, with a warning
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.warns(UserWarning, match=r"trained on 'cuda:3'.*1 CUDA device\(s\).*'cuda'"):
        assert loadable_device("cuda:3") == "cuda"
    with _no_warnings():
        assert loadable_device("cuda:0") == "cuda:0"
        assert loadable_device("cuda") == "cuda"


def test_canonical_device_spellings():
    assert canonical_device("cpu:0") == canonical_device("CPU") == "cpu"
    assert canonical_device(torch.device("cpu", 0)) == "cpu"
    assert canonical_device("CUDA:1") == "cuda:1" and canonical_device("cuda") == "cuda"
    with pytest.raises(ValueError, match="not a valid torch device"):
        canonical_device("gpu")


def test_a_cuda_index_this_machine_lacks_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"device='cuda:2' but this machine has 1 CUDA"):
        resolve_device("cuda:2")
    assert resolve_device("CUDA:0") == "cuda:0"


# ------------------------------------------------------------- settings that cannot train
def test_warmup_longer_than_training_warns_and_trains_as_asked(blobs, fast_params):
    X, _ = blobs
    params = {**fast_params, "max_epochs": 2, "kl_warmup_epochs": 10}
    with pytest.warns(UserWarning, match=r"kl_warmup_epochs=10 is longer than max_epochs=2.*"
                      r"only 0\.1 \(not kl_weight='auto' \(1 here\)\).*"
                      r"kl_warmup_epochs=0: no warm-up"):
        vae = VAETransformer(**params).fit(X)
    assert [row["kl_weight"] for row in vae.history_] == [0.0, 0.1]
    with pytest.warns(UserWarning, match="kl_warmup_epochs=10, a third of training"):
        VAETransformer(**{**params, "max_epochs": 30, "kl_warmup_epochs": 31}).fit(X[:40])
    with _no_warnings():  # the warm-up fits, or there is no KL term to warm up
        VAETransformer(**{**params, "kl_warmup_epochs": 2}).fit(X)
        VAETransformer(**{**params, "kl_weight": 0.0}).fit(X)


def test_a_training_that_does_not_move_warns(blobs, fast_params):
    X, _ = blobs
    with pytest.warns(ConvergenceWarning, match=r"Training did not move the network.*"
                      r"learning_rate \(now 1e-12.*max_epochs \(now 3\)"):
        VAETransformer(**{**fast_params, "learning_rate": 1e-12}).fit(X)


def test_gaussian_features_far_from_unit_scale_warn(blobs, fast_params):
    X = np.random.RandomState(0).randn(200, 6)
    gaussian = {**fast_params, "likelihood": "gaussian"}
    for scaled in (X * 1e6, X * 0.01, X + 100):
        with pytest.warns(UserWarning, match=r"likelihood='gaussian' needs features on a "
                          r"unit scale, but 6 of 6.*StandardScaler"):
            VAETransformer(**gaussian).fit(scaled)
    one = X.copy()
    one[:, 4] *= 1e3
    assert far_from_unit_scale(one)[:2] == (1, 4)
    with _no_warnings():  # standardized, or merely not standardized, features pass
        VAETransformer(**gaussian).fit(StandardScaler().fit_transform(X * 1e6 + 5))
        VAETransformer(**gaussian).fit(X * 3 - 7)
        VAETransformer(**gaussian).fit(np.hstack([X, np.zeros((200, 1))]))  # constant
        VAETransformer(**fast_params).fit(blobs[0])  # Bernoulli: never checked


def test_label_weight_without_labels_warns(blobs, fast_params):
    X, y = blobs
    for labels in (None, np.full(len(X), -1)):
        with pytest.warns(UserWarning, match=r"label_weight=5 has no effect: fit got no "
                          "labeled rows"):
            VAETransformer(label_weight=5, **fast_params).fit(X, labels)
    with _no_warnings():
        VAETransformer(**fast_params).fit(X)  # "auto": nothing asked
        VAETransformer(label_weight=5, **fast_params).fit(X, y)


def test_default_settings_on_normal_data_warn_nothing(blobs):
    X, y = blobs
    with _no_warnings():
        VAETransformer(n_components=2, hidden_layer_sizes=(16,), random_state=0).fit(X, y)


def test_batch_larger_than_the_data_trains_full_batch(blobs, fast_params):
    """Accepted on purpose: one batch per epoch, nothing dropped."""
    X, _ = blobs
    with _no_warnings():
        vae = VAETransformer(**{**fast_params, "batch_size": 10 * len(X)}).fit(X)
    assert len(vae.net_.history[-1, "batches"]) == 1


# ---------------------------------------------------- fitted dimensions from fitted state
def test_methods_use_the_fitted_state_after_set_params(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    Z = vae.transform(X)
    before = {"names": vae.get_feature_names_out(), "inverse": vae.inverse_transform(Z),
              "sample": vae.sample(3, random_state=0), "encode": vae.encode(X),
              "score": vae.score(X)}
    vae.set_params(n_components=7, likelihood="gaussian", image_shape=(4, 5), device="cuda",
                   propagation_alpha=0.0)
    assert vae.n_components_ == 2
    np.testing.assert_array_equal(vae.transform(X), Z)
    np.testing.assert_array_equal(vae.get_feature_names_out(), before["names"])
    np.testing.assert_array_equal(vae.inverse_transform(Z), before["inverse"])
    np.testing.assert_array_equal(vae.sample(3, random_state=0), before["sample"])
    np.testing.assert_array_equal(vae.encode(X), before["encode"])
    assert vae.score(X) == before["score"]
    with pytest.raises(ValueError, match="likelihood='bernoulli' needs values in"):
        vae.transform(X * 3)  # the range of the fitted likelihood, not the new one
    with pytest.raises(ValueError, match="n_components=2 columns; got 7"):
        vae.inverse_transform(np.zeros((2, 7)))


# ------------------------------------------------------ empty X_unlabeled, augmentation
def test_empty_X_unlabeled_is_no_unlabeled_rows(blobs, fast_params):
    X, y = blobs
    for labels in (None, y):
        expected = VAETransformer(**fast_params).fit(X, labels).transform(X)
        for empty in (X[np.array([], dtype=int)], np.empty((0, X.shape[1]))):
            vae = VAETransformer(**fast_params).fit(X, labels, X_unlabeled=empty)
            np.testing.assert_array_equal(vae.transform(X), expected)
    with pytest.raises(ValueError, match="X_unlabeled has 3 features but X has 20"):
        VAETransformer(**fast_params).fit(X, X_unlabeled=np.empty((0, 3)))


def _wrong_shape(batch, generator):
    return batch[:, :10]


def _float64(batch, generator):
    return batch.double()


def _numpy(batch, generator):
    return batch.numpy()


def _nan(batch, generator):
    return batch * float("nan")


def _in_place_noise(batch, generator):
    batch.add_(torch.rand(batch.shape, generator=generator) * 0.01)
    return batch.clamp_(0, 1)


@pytest.mark.parametrize("augment, error, match", [
    (_wrong_shape, ValueError, r"returned a tensor of shape \(8, 10\).*batch's shape \(8, 20\)"),
    (_float64, ValueError, r"dtype torch.float64.*dtype torch.float32"),
    (_numpy, TypeError, r"returned ndarray.*must return a torch.Tensor"),
    (_nan, ValueError, r"returned NaN or infinite values"),
])
def test_a_wrong_augmentation_output_is_refused_before_training(
        blobs, fast_params, augment, error, match):
    X, _ = blobs
    vae = VAETransformer(augmentation=augment, **fast_params)
    with pytest.raises(error, match=r"augmentation=<function " + augment.__name__ + ".*" + match):
        vae.fit(X)
    assert not hasattr(vae, "net_")


def test_a_good_augmentation_is_checked_without_touching_data_or_results(blobs, fast_params):
    X, _ = blobs
    X_before = X.copy()
    first = VAETransformer(augmentation=_in_place_noise, **fast_params).fit(X).transform(X)
    np.testing.assert_array_equal(X, X_before)  # the check worked on a copy
    again = VAETransformer(augmentation=_in_place_noise, **fast_params).fit(X).transform(X)
    np.testing.assert_array_equal(first, again)
