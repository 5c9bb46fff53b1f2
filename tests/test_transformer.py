"""VAETransformer on its own: outputs, reproducibility, history, input errors."""

import re
import weakref

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from vaesvm import VAETransformer
from vaesvm._model import VAE, make_conv_encoder


def test_outputs_shapes_and_dtypes(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (len(X), 2) and Z.dtype == np.float32
    X_rec = vae.inverse_transform(Z)
    assert X_rec.shape == X.shape and X_rec.min() >= 0 and X_rec.max() <= 1
    samples = vae.sample(5, random_state=0)
    assert samples.shape == (5, 20)
    np.testing.assert_array_equal(samples, vae.sample(5, random_state=0))
    scores = vae.score_samples(X)
    assert scores.shape == (len(X),) and np.all(scores < 0)
    assert vae.score(X) == pytest.approx(scores.mean())
    assert list(vae.get_feature_names_out()) == ["vaetransformer0", "vaetransformer1"]
    assert vae.n_features_in_ == 20 and vae.n_iter_ == 3 and vae.device_ == "cpu"


def test_training_improves_elbo(blobs, fast_params):
    X, _ = blobs
    short = VAETransformer(**{**fast_params, "max_epochs": 1}).fit(X)
    long = VAETransformer(**{**fast_params, "max_epochs": 30}).fit(X)
    assert long.score(X) > short.score(X) + 1.0
    assert long.history_[-1]["loss"] < long.history_[0]["loss"]


def test_random_state_gives_bit_identical_output(blobs, fast_params):
    X, _ = blobs
    Z1 = VAETransformer(**fast_params).fit(X).transform(X)
    Z2 = VAETransformer(**fast_params).fit(X).transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    Z3 = VAETransformer(**{**fast_params, "random_state": 1}).fit(X).transform(X)
    assert not np.array_equal(Z1, Z3)


def test_fit_leaves_torch_global_rng_alone(blobs, fast_params):
    X, _ = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    VAETransformer(**fast_params).fit(X).transform(X)  # transform draws nothing either
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_transform_is_batch_independent(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    full = vae.transform(X)
    parts = np.vstack([vae.transform(X[i:i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_allclose(parts, full, rtol=1e-5, atol=1e-5)


def test_map_batches_fills_one_array_across_batches(blobs, fast_params):
    X, _ = blobs
    net = VAETransformer(**fast_params).fit(X).net_
    whole = net.map_batches(X, lambda m, x: m.encode(x)[0])
    net.iterator_valid__batch_size = 7  # 28 full batches and one of 4 rows
    codes = net.map_batches(X, lambda m, x: m.encode(x)[0])
    assert codes.shape == (200, 2) and codes.dtype == np.float32 and codes.flags.c_contiguous
    np.testing.assert_allclose(codes, whole, rtol=1e-5, atol=1e-6)
    # one value per row (score_samples' shape) and the rows in order
    rows = net.map_batches(X, lambda m, x: x[:, 0])
    np.testing.assert_array_equal(rows, X[:, 0])
    # no batch's result outlives it: each is freed before the next batch is computed
    # (kept results fragmented the heap between large transient buffers)
    results = []

    def encode(module, x):
        assert all(ref() is None for ref in results)
        out = module.encode(x)[0]
        results.append(weakref.ref(out))
        return out

    np.testing.assert_array_equal(net.map_batches(X, encode), codes)
    assert len(results) == 29


def test_history_records_every_epoch_and_kl_warmup(blobs):
    X, _ = blobs
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(8,), max_epochs=5,
                         kl_weight=0.5, kl_warmup_epochs=2, random_state=0).fit(X)
    assert [h["epoch"] for h in vae.history_] == [1, 2, 3, 4, 5]
    assert [h["kl_weight"] for h in vae.history_] == [0.0, 0.25, 0.5, 0.5, 0.5]
    for h in vae.history_:
        assert set(h) == {"epoch", "loss", "reconstruction", "kl", "kl_weight", "dur"}
        assert h["loss"] == pytest.approx(h["reconstruction"] + h["kl_weight"] * h["kl"],
                                          rel=1e-5)
        assert h["dur"] > 0
    no_warmup = VAETransformer(n_components=2, hidden_layer_sizes=(8,), max_epochs=2,
                               kl_warmup_epochs=0, random_state=0).fit(X)
    assert [h["kl_weight"] for h in no_warmup.history_] == [1.0, 1.0]


def test_verbose_prints_per_epoch_and_default_is_silent(blobs, fast_params, capsys):
    X, _ = blobs
    VAETransformer(**fast_params).fit(X)
    assert capsys.readouterr().out == ""
    VAETransformer(**{**fast_params, "verbose": 1}).fit(X)
    out = capsys.readouterr().out
    assert "train_loss" in out and "kl_weight" in out
    assert len([line for line in out.splitlines() if re.match(r"\s+\d+\s", line)]) == 3


def test_gaussian_likelihood_accepts_real_valued_data(fast_params):
    X = np.random.RandomState(0).randn(100, 5) * 3 - 7
    vae = VAETransformer(likelihood="gaussian", **fast_params).fit(X)
    assert np.isfinite(vae.transform(X)).all()
    assert vae.inverse_transform(vae.transform(X)).shape == X.shape
    assert vae.net_.module_.log_var_x.shape == (5,)


def test_no_batch_norm_and_every_activation(blobs, fast_params):
    X, _ = blobs
    for activation in ["softplus", "relu", "elu", "leaky_relu", "tanh"]:
        vae = VAETransformer(activation=activation, batch_norm=False, **fast_params).fit(X)
        assert np.isfinite(vae.transform(X)).all()
        assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in vae.net_.module_.modules())


def test_odd_batch_leftover_of_one_sample_trains_with_batch_norm(fast_params):
    X = np.random.RandomState(0).rand(33, 4)  # 33 = 32 + 1
    vae = VAETransformer(**fast_params).fit(X)
    assert vae.n_iter_ == 3


def test_set_output_pandas(blobs, fast_params):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(20)])
    vae = VAETransformer(**fast_params).set_output(transform="pandas").fit(df)
    out = vae.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["vaetransformer0", "vaetransformer1"]
    assert list(vae.feature_names_in_) == list(df.columns)


def test_cuda_trained_model_loads_on_cpu(blobs, fast_params, tmp_path):
    """Simulate a GPU-trained net: its pickle says device='cuda'.

    skorch maps the saved tensors to the CPU when CUDA is absent; the
    transformer must then run on the net's (new) device, not on ``device_``.
    """
    if torch.cuda.is_available():
        pytest.skip("needs a CPU-only machine")
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    expected = vae.transform(X)
    vae.net_.device = "cuda"
    vae.device_ = "cuda"
    path = tmp_path / "vae.joblib"
    joblib.dump(vae, path)
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        loaded = joblib.load(path)
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.transform(X), expected)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_refused(blobs, fast_params, bad):
    X, _ = blobs
    X = X.copy()
    X[3, 4] = bad
    with pytest.raises(ValueError, match="contains NaN or infinity.*SimpleImputer"):
        VAETransformer(**fast_params).fit(X)


def test_bernoulli_range_error(fast_params):
    X = np.random.RandomState(0).randint(0, 256, size=(50, 10)).astype(float)
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs values in \[0, 1\]"
                       r".*X / 255\.0.*MinMaxScaler"):
        VAETransformer(**fast_params).fit(X)
    with pytest.raises(ValueError, match="X_unlabeled has values in"):
        VAETransformer(**fast_params).fit(X / 255.0, X_unlabeled=-X)


def test_bernoulli_range_checked_at_transform(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    with pytest.raises(ValueError, match=r"needs values in \[0, 1\]"):
        vae.transform(X * 255)


@pytest.mark.parametrize("shape", [(20,), (10, 4, 5)])
def test_wrong_dimensionality(fast_params, shape):
    X = np.random.RandomState(0).rand(*shape)
    match = "Expected 2D array" if len(shape) == 1 else r"must be 2-D.*reshape\(len\(X\), -1\)"
    with pytest.raises(ValueError, match=match):
        VAETransformer(**fast_params).fit(X)


def test_sparse_refused(fast_params):
    X = sp.random(20, 5, density=0.3, format="csr", random_state=0)
    with pytest.raises(TypeError, match="Sparse data was passed.*toarray"):
        VAETransformer(**fast_params).fit(X)


def test_empty_and_too_small(fast_params):
    with pytest.raises(ValueError, match="0 sample"):
        VAETransformer(**fast_params).fit(np.empty((0, 5)))
    with pytest.raises(ValueError, match="at least 2 training samples.*got 1 sample"):
        VAETransformer(**fast_params).fit(np.full((1, 5), 0.5))
    # one labeled row is fine when unlabeled rows come with it
    vae = VAETransformer(**fast_params).fit(np.full((1, 5), 0.5),
                                            X_unlabeled=np.full((9, 5), 0.4))
    assert vae.transform(np.full((2, 5), 0.5)).shape == (2, 2)


def test_wrong_feature_counts(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    for method in (vae.transform, vae.score_samples, vae.score):
        with pytest.raises(ValueError, match="X has 19 features, but VAETransformer is "
                                             "expecting 20 features"):
            method(X[:, :19])
    with pytest.raises(ValueError, match="n_components=2 columns; got 3"):
        vae.inverse_transform(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X_unlabeled has 19 features but X has 20"):
        VAETransformer(**fast_params).fit(X, X_unlabeled=X[:, :19])


def test_non_numeric_data(fast_params):
    X = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object)
    with pytest.raises(ValueError, match="needs numeric features.*OneHotEncoder"):
        VAETransformer(**fast_params).fit(X)


def test_y_of_wrong_length(blobs, fast_params):
    X, y = blobs
    with pytest.raises(ValueError, match="one label per row of X: X has 200 rows"):
        VAETransformer(**fast_params).fit(X, y[:-1])


def test_y_with_unlabeled_rows_accepted(blobs, fast_params):
    X, y = blobs
    y = y.copy()
    y[::2] = -1
    vae = VAETransformer(**fast_params).fit(X, y)
    assert vae.n_labeled_ == len(X) // 2
    # label_weight=0: y is ignored, the plain VAE
    Z = VAETransformer(label_weight=0, **fast_params).fit(X, y).transform(X)
    np.testing.assert_array_equal(Z, VAETransformer(**fast_params).fit(X).transform(X))


def test_diverging_loss_raises(fast_params):
    X = np.random.RandomState(0).randn(64, 4) * 1e20
    with pytest.raises(FloatingPointError, match="Training diverged.*Lower learning_rate"):
        VAETransformer(likelihood="gaussian", **fast_params).fit(X)


def test_unfitted_raises(blobs):
    from sklearn.exceptions import NotFittedError

    X, _ = blobs
    vae = VAETransformer()
    for call in (lambda: vae.transform(X), lambda: vae.sample(2),
                 lambda: vae.inverse_transform(np.zeros((2, 50)))):
        with pytest.raises(NotFittedError):
            call()


def test_encoder_is_mlp_for_plain_features(blobs, fast_params):
    X, _ = blobs  # 20 features: not an image
    assert VAETransformer(**fast_params).fit(X).encoder_ == "mlp"
    with pytest.raises(ValueError, match="encoder='conv' needs images"):
        VAETransformer(encoder="conv", **fast_params).fit(X)
    with pytest.raises(ValueError, match="image_shape"):
        VAE(784, encoder="conv")


def test_conv_encoder_shapes():
    body, width = make_conv_encoder((28, 28), (600, 600))
    assert width == 600
    assert body(torch.zeros(3, 784)).shape == (3, 600)
    convs = [m for m in body if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [16, 32]
    assert [m.kernel_size for m in convs] == [(5, 5), (3, 3)]  # 28 -> 14 -> 7 either way
    assert [m(torch.zeros(1, 16, 14, 14)).shape[-1] for m in convs[1:]] == [7]
    body, width = make_conv_encoder((9, 9), (40,), batch_norm=False)  # 9 -> 5 -> 3
    assert width == 32 * 3 * 3 and body(torch.zeros(2, 81)).shape == (2, width)


def test_conv_encoder_on_images_trains_reproducibly(fast_params):
    rng = np.random.RandomState(0)
    X = rng.rand(96, 64).astype(np.float32)  # 8x8 "images" (declared: noise is not smooth)
    fast_params = {**fast_params, "image_shape": (8, 8)}
    a = VAETransformer(**fast_params).fit(X)
    assert a.encoder_ == "conv"
    assert any(isinstance(m, torch.nn.Conv2d) for m in a.net_.module_.modules())
    Z = a.transform(X)
    assert Z.shape == (96, 2) and np.isfinite(Z).all()
    np.testing.assert_array_equal(Z, VAETransformer(**fast_params).fit(X).transform(X))
    mlp = VAETransformer(encoder="mlp", **fast_params).fit(X)
    assert mlp.encoder_ == "mlp" and not np.array_equal(Z, mlp.transform(X))
    assert a.inverse_transform(Z).shape == X.shape and np.isfinite(a.score(X))
