"""The "auto" rules (vaesvm._options): values, errors, and the texts rendered from them."""

import dataclasses
import re

import numpy as np
import pytest
import torch

from vaesvm import VAETransformer
from vaesvm._options import (
    AUTO_LABEL_WEIGHT,
    AUTO_PROPAGATION_ALPHA,
    RULE_TEXTS,
    FitOptions,
    image_shape_of,
    resolve_augmentation,
    resolve_device,
    resolve_encoder,
    resolve_label_weight,
    resolve_options,
    resolve_propagation_alpha,
)


def test_auto_label_weight_grows_with_the_labels():
    got = [resolve_label_weight("auto", n) for n in (30, 100, 600, 1000, 1500, 3000, 60000)]
    np.testing.assert_allclose(got, [0.3, 2 / 3, 4.0, 20 / 3, 10.0, 10.0, 10.0])
    assert resolve_label_weight(2.5, 100) == 2.5
    assert resolve_label_weight("auto", 0) == resolve_label_weight(2.5, 0) == 0.0


def test_auto_propagation_alpha_falls_with_the_labels():
    got = [resolve_propagation_alpha("auto", n) for n in (0, 100, 1000, 2000, 3000, 60000)]
    np.testing.assert_allclose(got, [0.9, 0.9, 0.9, 0.7, 0.5, 0.5])
    assert resolve_propagation_alpha(0.3, 100) == 0.3


def test_image_rule_for_augmentation_and_encoder():
    assert image_shape_of(784) == (28, 28) and image_shape_of(64) == (8, 8)
    assert image_shape_of(49) is None and image_shape_of(20) is None
    assert resolve_augmentation("auto", 784, "bernoulli") == "shift_flip"
    assert resolve_augmentation("auto", 784, "gaussian") == "none"
    assert resolve_augmentation("auto", 20, "bernoulli") == "none"
    assert resolve_augmentation("shift", 64, "gaussian") == "shift"
    assert resolve_encoder("auto", 784, "bernoulli") == "conv"
    assert resolve_encoder("auto", 784, "gaussian") == "mlp"
    assert resolve_encoder("conv", 64, "gaussian") == "conv"
    for param, resolve in (("augmentation", resolve_augmentation), ("encoder", resolve_encoder)):
        value = "shift" if param == "augmentation" else "conv"
        with pytest.raises(ValueError, match=f"{param}='{value}' needs square images.*"
                                             f"Use {param}="):
            resolve(value, 20, "bernoulli")


def test_device_rule():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == "cpu"
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available.*device='auto'"):
            resolve_device("cuda")


def test_resolve_options_is_one_frozen_record():
    vae = VAETransformer(n_neighbors=500, random_state=0)
    opts = resolve_options(vae, n_features=784, n_rows=300, n_labeled=100)
    assert opts == FitOptions(device=resolve_device("auto"), hidden_layer_sizes=(600, 600),
                              label_weight=pytest.approx(2 / 3), augmentation="shift_flip",
                              encoder="conv", image_shape=(28, 28), propagation_alpha=0.9,
                              n_neighbors=300, seed=opts.seed)
    assert opts.seed == resolve_options(vae, n_features=784, n_rows=300, n_labeled=100).seed
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 1
    plain = resolve_options(VAETransformer(hidden_layer_sizes=32), n_features=20, n_rows=50,
                            n_labeled=0)
    assert (plain.label_weight, plain.augmentation, plain.encoder, plain.image_shape) == (
        0.0, "none", "mlp", None)
    assert plain.hidden_layer_sizes == (32,)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be a positive int"):
        resolve_options(VAETransformer(hidden_layer_sizes=(8, 0)), n_features=20, n_rows=50,
                        n_labeled=0)


def test_rule_texts_are_rendered_from_the_constants():
    lw, pa = AUTO_LABEL_WEIGHT, AUTO_PROPAGATION_ALPHA
    assert f"/ {lw['scale']:g}, clipped to [{lw['low']:g}, {lw['high']:g}]" in \
        RULE_TEXTS["label_weight_rule"]
    assert f"{pa['high']:g} up to {pa['start']}" in RULE_TEXTS["propagation_rule"]
    doc = VAETransformer.__doc__
    assert not re.search(r"\|\w+_rule\|", doc)  # every placeholder filled
    for text in RULE_TEXTS.values():
        assert text in doc
    assert RULE_TEXTS["label_weight_rule"] in resolve_label_weight.__doc__
