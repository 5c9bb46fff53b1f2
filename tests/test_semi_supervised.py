"""The semi-supervised objective: labels shape the latent space (issue 5)."""


import numpy as np
import pytest
import torch
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer
from vaesvm._augment import ImageAugment, augment_images
from vaesvm._net import TensorBatchIterator, TensorDataset


def _nuisance_problem(seed=0, n=600):
    """Two classes told apart only by 2 weak features; 8 loud features are noise.

    An unsupervised 2-d code spends itself on the loud shared factor; only the labels
    can make it encode the class.
    """
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    factor = 3.0 * rng.randn(n, 1)
    loud = factor * rng.uniform(0.5, 1.5, (1, 8)) + 0.1 * rng.randn(n, 8)
    weak = np.where(y[:, None] == 1, 0.4, -0.4) + 0.15 * rng.randn(n, 2)
    return np.hstack([loud, weak]).astype(np.float32), y


SS = dict(n_components=2, hidden_layer_sizes=(32,), likelihood="gaussian", max_epochs=30,
          kl_warmup_epochs=5, batch_size=64, labeled_batch_size=16, learning_rate=1e-2,
          random_state=0)


def test_labels_make_the_code_separate_classes():
    X, y = _nuisance_problem()
    X_test, y_test = _nuisance_problem(seed=1)
    y_partial = np.full_like(y, -1)
    y_partial[:40] = y[:40]  # 40 labels, 560 unlabeled rows

    accuracies = {}
    for name, weight in [("unsupervised", 0.0), ("semi-supervised", 5.0)]:
        vae = VAETransformer(label_weight=weight, **SS).fit(X, y_partial)
        clf = SVC().fit(vae.transform(X[:40]), y[:40])
        accuracies[name] = clf.score(vae.transform(X_test), y_test)
    assert accuracies["unsupervised"] < 0.7, accuracies
    assert accuracies["semi-supervised"] > 0.9, accuracies


def test_minus_one_rows_and_X_unlabeled_are_the_same(blobs, fast_params):
    X, y = blobs
    order = np.random.RandomState(0).permutation(len(X))
    X, y = X[order], y[order]
    lab = 20
    y_minus = y.copy()
    y_minus[lab:] = -1
    a = VAETransformer(**fast_params).fit(X, y_minus)
    b = VAETransformer(**fast_params).fit(X[:lab], y[:lab], X_unlabeled=X[lab:])
    assert a.n_labeled_ == b.n_labeled_ == lab
    np.testing.assert_array_equal(a.classes_, [0, 1])
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert "classification" in a.history_[-1]


def test_no_labels_gives_the_plain_vae(blobs, fast_params):
    X, y = blobs
    plain = VAETransformer(**fast_params).fit(X).transform(X)
    all_unlabeled = VAETransformer(**fast_params).fit(X, np.full(len(X), -1))
    weight_zero = VAETransformer(label_weight=0, **fast_params).fit(X, y)
    for vae in (all_unlabeled, weight_zero):
        assert vae.n_labeled_ == 0
        assert vae.classes_.size == 0
        assert "classification" not in vae.history_[-1]
        np.testing.assert_array_equal(vae.transform(X), plain)
    labeled = VAETransformer(**fast_params).fit(X, y).transform(X)
    assert not np.array_equal(labeled, plain)


def test_single_labeled_class_is_refused(blobs, fast_params):
    X, y = blobs
    y_one = np.full(len(X), -1)
    y_one[:5] = 1
    with pytest.raises(ValueError, match="at least 2 classes.*label_weight=0"):
        VAETransformer(**fast_params).fit(X, y_one)
    VAETransformer(label_weight=0, **fast_params).fit(X, y_one)  # documented way out


def test_continuous_targets_are_refused(blobs, fast_params):
    X, _ = blobs
    with pytest.raises(ValueError, match="continuous.*label_weight=0"):
        VAETransformer(**fast_params).fit(X, np.linspace(0, 1, len(X)))


def test_string_labels(blobs, fast_params):
    X, y = blobs
    names = np.array(["coat", "shirt"])[y].astype(object)
    names[::2] = "-1"
    vae = VAETransformer(**fast_params).fit(X, names)
    np.testing.assert_array_equal(vae.classes_, ["coat", "shirt"])
    assert vae.n_labeled_ == len(X) // 2


def test_each_cv_fold_sees_only_its_own_labels(blobs, fast_params):
    X, y = blobs
    pipe = Pipeline([("vae", VAETransformer(**fast_params)), ("svc", SVC())])
    out = cross_validate(pipe, X, y, cv=4, return_estimator=True,
                         params={"vae__X_unlabeled": X[:50]})
    for est in out["estimator"]:
        assert est[0].n_labeled_ == len(X) * 3 // 4


def test_augmentation_is_off_for_plain_features(blobs, fast_params):
    X, y = blobs
    assert VAETransformer(**fast_params).fit(X, y).augmentation_ == "none"
    with pytest.raises(ValueError, match="needs images"):
        VAETransformer(augmentation="shift", **fast_params).fit(X, y)


def test_augmented_training_on_images_is_reproducible(fast_params):
    rng = np.random.RandomState(0)
    X = rng.rand(96, 64).astype(np.float32)
    y = np.repeat([0, 1, -1], 32)
    params = {**fast_params, "image_shape": (8, 8), "augmentation": "shift_flip"}
    a = VAETransformer(**params).fit(X, y)
    assert a.augmentation_ == "shift_flip"
    b = VAETransformer(**params).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = VAETransformer(**{**params, "augmentation": "none"}).fit(X, y)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_augment_images_shifts_and_flips():
    img = torch.zeros(1, 8, 8)
    img[0, 3:5, 3:5] = 1.0
    x = img.reshape(1, 64).repeat(200, 1)
    gen = torch.Generator().manual_seed(0)
    out = augment_images(x, (8, 8), max_shift=2, flip=True, generator=gen)
    assert out.shape == x.shape
    torch.testing.assert_close(out.sum(1), x.sum(1))  # content fully inside: moved, not cut
    assert len({tuple(r.tolist()) for r in out}) > 10  # many different placements
    assert torch.equal(x[0].reshape(8, 8)[3:5, 3:5], torch.ones(2, 2))  # input untouched
    flipped = augment_images(torch.eye(8).reshape(1, 64), (8, 8), max_shift=0, flip=True,
                             generator=torch.Generator().manual_seed(1))
    assert flipped.reshape(8, 8).sum() == 8


def test_denoising_batches_pair_augmented_input_with_original_target():
    X = torch.rand(40, 64)
    augment = ImageAugment((8, 8), flip=True)
    batches = list(TensorBatchIterator(TensorDataset(X), batch_size=16, shuffle=True, seed=0,
                                       augment=augment, denoise=True))
    seen = torch.cat([xb["target"] for xb, _ in batches])
    # the targets are the original rows (each once), the inputs their augmented copies
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, X.tolist()))
    assert all(not torch.equal(xb["X"], xb["target"]) for xb, _ in batches)
    # the same seed without denoising yields exactly those augmented inputs
    plain = TensorBatchIterator(TensorDataset(X), batch_size=16, shuffle=True, seed=0,
                                augment=augment)
    for (xb, _), pb in zip(batches, plain):
        assert torch.equal(xb["X"], pb[0])


def test_denoising_reconstructs_the_original_image(fast_params):
    rng = np.random.RandomState(0)
    X = rng.rand(96, 64).astype(np.float32)
    y = np.repeat([0, 1, -1], 32)
    vae = VAETransformer(image_shape=(8, 8), augmentation="shift", **fast_params).fit(X, y)
    assert vae.denoising and vae.augmentation_ == "shift"
    net = vae.net_
    x_in, target = torch.from_numpy(X[:8]), torch.from_numpy(X[8:16])
    net.module_.eval()  # z = mu: deterministic outputs
    out = net.infer({"X": x_in, "target": target})
    assert torch.equal(out[1], net.module_.encode(x_in)[0])  # the input is encoded...
    loss = net.get_loss(out, None, X={"X": x_in, "target": target})
    rec, kl = net.module_.elbo_terms(target, out)  # ...and the target reconstructed
    torch.testing.assert_close(loss, net.criterion_(rec, kl))
    off = VAETransformer(denoising=False, **fast_params).fit(X, y)
    assert not np.array_equal(vae.transform(X), off.transform(X))
    # without augmentation, denoising changes nothing
    a = VAETransformer(augmentation="none", **fast_params).fit(X, y)
    b = VAETransformer(augmentation="none", denoising=False, **fast_params).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_auto_label_weight_is_the_resolved_number(blobs, fast_params):
    X, y = blobs
    y_partial = np.full_like(y, -1)
    y_partial[:10], y_partial[-10:] = y[:10], y[-10:]
    assert len(np.unique(y_partial[y_partial >= 0])) == 2
    auto = VAETransformer(**fast_params).fit(X, y_partial)
    assert auto.n_labeled_ == 20 and auto.label_weight_ == 0.3
    # "auto" is exactly the resolved number passed by hand
    same = VAETransformer(label_weight=0.3, **fast_params).fit(X, y_partial)
    np.testing.assert_array_equal(auto.transform(X), same.transform(X))
    assert same.label_weight_ == 0.3
    assert VAETransformer(**fast_params).fit(X).label_weight_ == 0.0
    assert VAETransformer(label_weight=0, **fast_params).fit(X, y).label_weight_ == 0.0


def test_auto_kl_weight_is_the_resolved_number(blobs, fast_params):
    X, y = blobs
    auto = VAETransformer(**fast_params).fit(X, y)
    assert auto.kl_weight_ == 0.25 and auto.history_[-1]["kl_weight"] == 0.25
    same = VAETransformer(kl_weight=0.25, **fast_params).fit(X, y)
    np.testing.assert_array_equal(auto.transform(X), same.transform(X))
    assert same.kl_weight_ == 0.25
    # without labels, or with label_weight=0, the plain VAE keeps the ELBO's weight
    plain = VAETransformer(**fast_params).fit(X)
    assert plain.kl_weight_ == 1.0 and plain.history_[-1]["kl_weight"] == 1.0
    assert VAETransformer(label_weight=0, **fast_params).fit(X, y).kl_weight_ == 1.0
    np.testing.assert_array_equal(
        plain.transform(X), VAETransformer(kl_weight=1.0, **fast_params).fit(X).transform(X))
