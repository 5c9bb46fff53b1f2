"""Any image data: declared shapes with channels and any size, augmentation that fits."""

import pickle

import numpy as np
import pytest
import torch

from vaesvm import VAETransformer
from vaesvm._augment import augment_images


def _colour_images(n, shape, seed=0):
    rng = np.random.RandomState(seed)
    c, h, w = shape
    yy, xx = np.mgrid[:h, :w]
    cy, cx = rng.rand(2, n, 1, 1, 1) * [[[[h]]], [[[w]]]][0]
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0)  # (n, 1, h, w)
    tint = rng.rand(n, c, 1, 1)
    return (blob * tint).reshape(n, -1).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 20)])
def test_colour_and_non_square_images_train_with_conv_and_augmentation(fast_params, shape):
    X = _colour_images(96, shape)
    y = np.repeat([0, 1, -1], 32)
    declared = shape if shape[0] > 1 else shape[1:]
    fast_params["learning_rate"] = 1e-3  # 1e-2 diverges on these (and is caught)
    vae = VAETransformer(image_shape=declared, augmentation="shift", **fast_params).fit(X, y)
    assert vae.image_shape_ == shape
    assert (vae.encoder_, vae.augmentation_) == ("conv", "shift")
    convs = [m for m in vae.net_.module_.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].in_channels == shape[0]
    Z = vae.transform(X)
    assert Z.shape == (96, 2) and np.isfinite(Z).all()
    again = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(again.transform(X), Z)
    assert again.image_shape_ == shape
    # plain features of the same width stay plain
    assert VAETransformer(**fast_params).fit(np.random.rand(40, X.shape[1])).image_shape_ is None


def test_augmentation_moves_every_channel_together_and_scales_the_shift():
    x = torch.zeros(50, 3, 10, 6)
    x[:, :, 4:6, 2:4] = torch.tensor([1.0, 0.5, 0.25])[:, None, None]
    gen = torch.Generator().manual_seed(0)
    out = augment_images(x.reshape(50, -1), (3, 10, 6), max_shift=(2, 1), flip=True,
                         generator=gen).reshape(50, 3, 10, 6)
    # the square moved as one piece: each channel keeps its colour and its mass
    torch.testing.assert_close(out.sum((2, 3)), x.sum((2, 3)))
    torch.testing.assert_close(out[:, 1], out[:, 0] * 0.5)
    rows = out[:, 0].sum(2).argmax(1)
    assert set(rows.tolist()) <= {2, 3, 4, 5, 6} and len(set(rows.tolist())) > 2


class AddNoise:
    """A picklable user augmentation drawing from the generator it is given."""

    def __init__(self):
        self.calls = 0

    def __call__(self, batch, generator):
        self.calls += 1
        return batch + 0.01 * torch.rand(batch.shape, generator=generator)


def test_user_callable_augmentation_is_applied_and_reproducible(blobs, fast_params):
    X, y = blobs
    aug = AddNoise()
    a = VAETransformer(augmentation=aug, **fast_params).fit(X, y)
    # once on a few rows before training (the output check), then per batch: 200 / 32: 7
    assert a.augmentation_ is aug and aug.calls == 1 + a.n_iter_ * 7
    b = VAETransformer(augmentation=AddNoise(), **fast_params).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    plain = VAETransformer(augmentation="none", **fast_params).fit(X, y)
    assert not np.array_equal(a.transform(X), plain.transform(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).transform(X), a.transform(X))


def test_wrong_image_shape_fails_before_training(blobs, fast_params):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"image_shape=\(4, 4\) does not fit X's 20 features"):
        VAETransformer(image_shape=(4, 4), **fast_params).fit(X)
    with pytest.raises(ValueError, match="image_shape"):  # sklearn's own parameter check
        VAETransformer(image_shape="square", **fast_params).fit(X)
    VAETransformer(image_shape=(4, 5), **{**fast_params, "max_epochs": 1}).fit(X)
