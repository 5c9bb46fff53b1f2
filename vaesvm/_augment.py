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

__all__ = ["AUGMENTATIONS", "ImageAugment", "augment_images"]

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
        # image: one gather (advanced indexing with four index tensors cost 4.5x)
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
