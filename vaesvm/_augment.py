"""Label-preserving random augmentation of flat images of any shape (pure PyTorch).

Used by the training batch iterator when ``VAETransformer(augmentation=...)`` is
on: every training batch is a fresh random translation (and, optionally, a
horizontal flip) of the images, so the encoder learns codes that do not change
when an object moves by a pixel or two. Rows are flat, channels-first
(``(channels, height, width)`` flattened, as PyTorch lays out images).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["AUGMENTATIONS", "CHECK_ROWS", "ImageAugment", "augment_images", "check_augmentation"]

#: Rows of the batch on which :func:`check_augmentation` tries a user's callable.
CHECK_ROWS = 8

#: Accepted values of ``VAETransformer(augmentation=...)`` besides ``"auto"``.
AUGMENTATIONS: tuple[str, ...] = ("none", "shift", "shift_flip")


def augment_images(
    x: torch.Tensor,
    image_shape: tuple[int, ...],
    *,
    max_shift: int | tuple[int, int] = 2,
    flip: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Randomly translate (zero padding) and optionally flip each flat image.

    Parameters
    ----------
    x : torch.Tensor of shape (n, channels * height * width)
        Flattened images, channels-first, row-major.
    image_shape : (height, width) or (channels, height, width)
        The shape of one image.
    max_shift : int or (int, int), default=2
        Each image moves by an independent uniform integer in
        ``[-max_shift, max_shift]`` pixels along each axis (one bound for both
        axes, or one per axis: height, width).
    flip : bool, default=False
        Mirror each image left-right with probability 1/2.
    generator : torch.Generator or None, default=None
        Source of randomness (a CPU generator); None uses torch's global one.

    Returns
    -------
    torch.Tensor of shape (n, channels * height * width)
        A new tensor; ``x`` is not modified.
    """
    n = len(x)
    c, h, w = (1, *image_shape) if len(image_shape) == 2 else image_shape
    sy, sx = (max_shift, max_shift) if isinstance(max_shift, int) else max_shift
    img = x.reshape(n, c, h, w)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        img = torch.where(mask[:, None, None, None], img.flip(3), img)
    if sy > 0 or sx > 0:
        pad = F.pad(img, (sx, sx, sy, sy))
        dy = torch.randint(0, 2 * sy + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * sx + 1, (n,), generator=generator).to(x.device)
        rows = dy[:, None] + torch.arange(h, device=x.device)
        cols = dx[:, None] + torch.arange(w, device=x.device)
        # the h x w window of every padded image, by its offsets in the flat padded
        # image: one gather (cheaper than advanced indexing with four index tensors)
        window = (rows[:, :, None] * (w + 2 * sx) + cols[:, None, :]).reshape(n, 1, h * w)
        img = pad.reshape(n, c, -1).gather(2, window.expand(n, c, h * w))
    return img.reshape(n, c * h * w)


class ImageAugment:
    """Picklable ``augment(x, generator)`` callable for the training batch iterator.

    Parameters
    ----------
    image_shape : (height, width) or (channels, height, width)
        The shape of one image.
    flip : bool, default=False
        Also mirror images left-right at random.
    max_shift : int or (int, int), default=2
        Largest translation in pixels (both axes, or per axis: height, width).
    """

    def __init__(self, image_shape: tuple[int, ...], flip: bool = False,
                 max_shift: int | tuple[int, int] = 2) -> None:
        self.image_shape = tuple(image_shape)
        self.flip = flip
        self.max_shift = max_shift

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Return a randomly augmented copy of the batch ``x``."""
        return augment_images(x, self.image_shape, max_shift=self.max_shift,
                              flip=self.flip, generator=generator)


def check_augmentation(augment, X: torch.Tensor) -> None:
    """Try the user's ``augment(batch, generator)`` once on the first rows of ``X``.

    Training calls it on every batch; a wrong output would otherwise surface as a
    torch error deep inside the first training step. The call gets a copy of up
    to :data:`CHECK_ROWS` rows and a generator of its own, so the training data
    and the fit's random streams are untouched.

    Parameters
    ----------
    augment : callable
        The ``augmentation`` parameter.
    X : torch.Tensor of shape (n_rows, n_features), dtype float32
        Training rows, on the training device.

    Raises
    ------
    TypeError
        When the output is not a tensor.
    ValueError
        When its shape, dtype or device differs from the batch's, or it holds
        NaN or infinite values.
    """
    batch = X[:CHECK_ROWS].clone()
    out = augment(batch, torch.Generator().manual_seed(0))
    expected = (f"a torch.Tensor of the batch's shape {tuple(batch.shape)}, dtype "
                f"{batch.dtype} and device {batch.device}")
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"augmentation={augment!r} returned {type(out).__name__} for a batch of "
            f"{len(batch)} rows; it must return {expected} (flat rows: reshape images "
            "back with out.reshape(len(batch), -1))."
        )
    got = f"shape {tuple(out.shape)}, dtype {out.dtype}, device {out.device}"
    if out.shape != batch.shape or out.dtype != batch.dtype or out.device != batch.device:
        raise ValueError(
            f"augmentation={augment!r} returned a tensor of {got} for a batch of "
            f"{len(batch)} rows; it must return {expected} (flat rows: reshape images back "
            "with out.reshape(len(batch), -1); cast with out.float())."
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError(
            f"augmentation={augment!r} returned NaN or infinite values for a batch of "
            f"{len(batch)} finite rows; it must return finite values."
        )
