"""The "auto" rules (vaesvm._options): values, errors, and the texts rendered from them."""

import dataclasses
import re

import numpy as np
import pytest
import torch

from vaesvm import VAETransformer, suggest_labels
from vaesvm._options import (
    AUGMENT_MIN_ROWS,
    AUTO_EPOCHS,
    AUTO_KL_WEIGHT,
    AUTO_LABEL_WEIGHT,
    AUTO_PROPAGATION_ALPHA,
    RULE_TEXTS,
    FitOptions,
    flips_keep_labels,
    image_shape_of,
    max_shift,
    resolve_augmentation,
    resolve_device,
    resolve_encoder,
    resolve_image_shape,
    resolve_kl_weight,
    resolve_label_weight,
    resolve_max_epochs,
    resolve_options,
    resolve_precision,
    resolve_propagation_alpha,
    smoothness,
)
from vaesvm._validation import check_training_data


def test_auto_label_weight_grows_with_the_labels():
    got = [resolve_label_weight("auto", n) for n in (30, 100, 600, 1000, 1500, 3000, 60000)]
    np.testing.assert_allclose(got, [0.3, 2 / 3, 4.0, 20 / 3, 10.0, 10.0, 10.0])
    assert resolve_label_weight(2.5, 100) == 2.5
    assert resolve_label_weight("auto", 0) == resolve_label_weight(2.5, 0) == 0.0


def test_auto_kl_weight_is_lighter_where_labels_shape_the_codes():
    assert resolve_kl_weight("auto", resolve_label_weight("auto", 100)) == 0.25
    assert resolve_kl_weight("auto", resolve_label_weight("auto", 3000)) == 0.25
    assert resolve_kl_weight("auto", 0.0) == 1.0  # the plain VAE: the ELBO itself
    assert resolve_kl_weight(0.5, 0.0) == resolve_kl_weight(0.5, 2.0) == 0.5
    assert AUTO_KL_WEIGHT == {"labeled": 0.25, "unlabeled": 1.0}
    assert RULE_TEXTS["kl_rule"].startswith("0.25 when labels shape the codes")
    assert "1 (the evidence lower bound) otherwise" in RULE_TEXTS["kl_rule"]


def test_auto_propagation_alpha_falls_with_the_labels():
    got = [resolve_propagation_alpha("auto", n) for n in (0, 100, 1000, 2000, 3000, 60000)]
    np.testing.assert_allclose(got, [0.9, 0.9, 0.9, 0.7, 0.5, 0.5])
    assert resolve_propagation_alpha(0.3, 100) == 0.3


def _images(n=300, side=28, seed=0):
    """Smooth random blobs: images as far as the smoothness test can tell."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:side, :side]
    cy, cx = rng.rand(2, n, 1, 1) * side
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / side).reshape(n, -1).astype(np.float32)


def test_image_shape_auto_is_conservative():
    images = _images()
    assert resolve_image_shape("auto", images, "bernoulli") == (1, 28, 28)
    assert smoothness(images, (1, 28, 28)) < 0.8
    assert resolve_image_shape("auto", images, "gaussian") is None
    rng = np.random.RandomState(0)
    for n_features in (64, 100, 784):  # binary tabular features that happen to be squares
        table = (rng.rand(200, n_features) < 0.3).astype(np.float32)
        assert resolve_image_shape("auto", table, "bernoulli") is None
    assert resolve_image_shape("auto", images[:, :783], "bernoulli") is None  # not a square
    assert image_shape_of(784) == (28, 28) and image_shape_of(49) is None


def test_declared_image_shapes():
    X = np.zeros((4, 3 * 32 * 20), np.float32)
    assert resolve_image_shape((3, 32, 20), X, "gaussian") == (3, 32, 20)
    assert resolve_image_shape((96, 20), X, "bernoulli") == (1, 96, 20)
    assert resolve_image_shape(None, X, "bernoulli") is None
    for bad in ((32, 32), (3, 32, 21), (0, 1920), (1920,)):
        with pytest.raises(ValueError, match=r"does not fit X's 1920 features.*channels-first"):
            resolve_image_shape(bad, X, "bernoulli")
    assert max_shift((1, 28, 28)) == (2, 2)
    assert max_shift((1, 8, 8)) == max_shift((1, 14, 14)) == max_shift((1, 27, 27)) == (1, 1)
    assert max_shift((3, 32, 20)) == (2, 1)


def test_flip_rule_keeps_clothes_mirrored_not_asymmetric_shapes():
    rng = np.random.RandomState(0)
    side = 12
    left = np.zeros((side, side), np.float32)
    left[2:10, 1:4] = 1  # a bar near the left edge: class 0
    right = left[:, ::-1].copy()  # its mirror image: class 1
    X = np.stack([left] * 20 + [right] * 20).reshape(40, -1) + 0.05 * rng.rand(40, side * side)
    y = np.repeat([0, 1], 20)
    assert not flips_keep_labels(X, y, (1, side, side))  # mirroring turns 0 into 1
    wide, tall = np.zeros((2, side, side), np.float32)
    wide[5:7, 2:10], tall[2:10, 5:7] = 1, 1  # centred bars: mirroring keeps their class
    X2 = np.stack([wide] * 20 + [tall] * 20).reshape(40, -1)
    assert flips_keep_labels(X2 + 0.05 * rng.rand(40, side * side), y, (1, side, side))
    assert not flips_keep_labels(X, None, (1, side, side))  # no labels: no flips
    assert not flips_keep_labels(X, np.where(np.arange(40) == 0, 0, -1), (1, side, side))


def test_augmentation_and_encoder_follow_the_image_shape():
    image, never = (1, 28, 28), lambda: pytest.fail("flip rule evaluated")
    many = AUGMENT_MIN_ROWS
    assert resolve_augmentation("auto", image, many, lambda: True) == "shift_flip"
    assert resolve_augmentation("auto", image, many, lambda: False) == "shift"
    assert resolve_augmentation("auto", image, many - 1, never) == "none"  # too few rows
    assert resolve_augmentation("auto", None, many, never) == "none"
    assert resolve_augmentation("auto", (1, 8, 8), many, never) == "none"  # too small
    assert resolve_augmentation("auto", (3, 14, 20), many, lambda: False) == "shift"
    assert resolve_augmentation("shift", (1, 8, 8), 10, never) == "shift"  # asked for
    assert resolve_augmentation("shift", image, 10, never) == "shift"
    assert resolve_augmentation(print, None, 10, never) is print  # a user callable
    assert resolve_encoder("auto", image) == "conv" and resolve_encoder("auto", None) == "mlp"
    assert resolve_encoder("mlp", image) == "mlp"
    with pytest.raises(ValueError, match="augmentation='shift' needs images.*image_shape="):
        resolve_augmentation("shift", None, 10, never)
    with pytest.raises(ValueError, match="encoder='conv' needs images.*encoder='mlp'"):
        resolve_encoder("conv", None)


def test_device_rule():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == "cpu"
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available.*device='auto'"):
            resolve_device("cuda")


def _data(X, y=None):
    return check_training_data(VAETransformer(), X, y)


def test_resolve_options_is_one_frozen_record():
    images = _images(300)
    y = np.where(np.arange(300) < 100, np.arange(300) % 2, -1)
    vae = VAETransformer(n_neighbors=500, random_state=0)
    opts = resolve_options(vae, _data(images, y))
    assert opts == FitOptions(device=resolve_device("auto"), hidden_layer_sizes=(600, 600),
                              label_weight=pytest.approx(2 / 3), kl_weight=0.25,
                              augmentation=opts.augmentation,
                              encoder="conv", image_shape=(1, 28, 28), propagation_alpha=0.9,
                              n_neighbors=300, max_epochs=250,
                              precision=resolve_precision("auto", resolve_device("auto")),
                              seed=opts.seed)
    assert opts.augmentation == "none"  # 300 rows: too few to augment
    assert resolve_options(vae, _data(images)).kl_weight == 1.0  # no labels: the ELBO's
    # 300 rows are 2 batches of 256: 250 epochs make the rule's 500 optimizer steps
    assert opts.seed == resolve_options(vae, _data(images, y)).seed
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 1
    table = np.random.RandomState(0).rand(50, 20).astype(np.float32)
    plain = resolve_options(VAETransformer(hidden_layer_sizes=32), _data(table))
    assert (plain.label_weight, plain.augmentation, plain.encoder, plain.image_shape) == (
        0.0, "none", "mlp", None)
    assert plain.hidden_layer_sizes == (32,)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive int"):
        resolve_options(VAETransformer(hidden_layer_sizes=(8, 0)), _data(table))


def test_auto_epochs_give_small_training_sets_enough_steps():
    a = AUTO_EPOCHS
    assert resolve_max_epochs(7, 10, 256) == 7  # a number is kept
    # large sets keep the epochs (the Fashion-MNIST study's VAEs are unchanged)
    for rows in (60000, 70000, 12000, 4097):
        assert resolve_max_epochs("auto", rows, 256) == a["epochs"]
    assert resolve_max_epochs("auto", 4096, 256) == 32  # 16 batches an epoch
    assert resolve_max_epochs("auto", 1257, 256) == 100  # the digits: 5 batches
    assert resolve_max_epochs("auto", 1257, 64) == a["epochs"]  # 20 batches
    for rows in (1, 300, 1257, 2000, 4096):
        epochs = resolve_max_epochs("auto", rows, 256)
        assert epochs * -(-rows // 256) >= a["min_steps"]
    assert f"at least {a['min_steps']} optimizer steps" in RULE_TEXTS["epochs_rule"]
    assert "up to 4,096 training rows; 100 epochs on 1,257 rows" in RULE_TEXTS["epochs_rule"]


def test_rule_texts_are_rendered_from_the_constants():
    lw, pa = AUTO_LABEL_WEIGHT, AUTO_PROPAGATION_ALPHA
    assert f"/ {lw['scale']:g}, clipped to [{lw['low']:g}, {lw['high']:g}]" in \
        RULE_TEXTS["label_weight_rule"]
    assert f"{pa['high']:g} up to {pa['start']}" in RULE_TEXTS["propagation_rule"]
    doc = VAETransformer.__doc__
    assert not re.search(r"\|\w+_rule\|", doc)  # every placeholder filled
    # every rule in the docstring of what applies it: suggest_labels' rule in its own
    suggest_doc = suggest_labels.__doc__
    assert not re.search(r"\|\w+_rule\|", suggest_doc)
    for name, text in RULE_TEXTS.items():
        assert text in (suggest_doc if name == "suggest_rule" else doc)
    assert RULE_TEXTS["label_weight_rule"] in resolve_label_weight.__doc__
