"""Label-preserving random augmentation of flat grey images (pure PyTorch).

Used by the training batch iterator when ``VAETransformer(augmentation=...)`` is
on: every training batch is a fresh random translation (and, optionally, a
horizontal flip) of the images, so the encoder learns codes that do not change
when a garment moves by a pixel or two.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["AUGMENTATIONS", "ImageAugment", "augment_images"]

#: Accepted values of ``VAETransformer(augmentation=...)`` besides ``"auto"``.
AUGMENTATIONS: tuple[str, ...] = ("none", "shift", "shift_flip")


def augment_images(
    x: torch.Tensor,
    image_shape: tuple[int, int],
    *,
    max_shift: int = 2,
    flip: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Randomly translate (zero padding) and optionally flip each flat image.

    Parameters
    ----------
    x : torch.Tensor of shape (n, height * width)
        Flattened images, row-major.
    image_shape : (int, int)
        ``(height, width)`` of one image.
    max_shift : int, default=2
        Each image moves by an independent uniform integer in
        ``[-max_shift, max_shift]`` pixels along each axis.
    flip : bool, default=False
        Mirror each image left-right with probability 1/2.
    generator : torch.Generator or None, default=None
        Source of randomness (a CPU generator); None uses torch's global one.

    Returns
    -------
    torch.Tensor of shape (n, height * width)
        A new tensor; ``x`` is not modified.
    """
    n = len(x)
    h, w = image_shape
    img = x.reshape(n, h, w)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        img = torch.where(mask[:, None, None], img.flip(2), img)
    if max_shift > 0:
        p = int(max_shift)
        pad = F.pad(img, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]
        img = pad[torch.arange(n, device=x.device)[:, None, None], rows, cols]
    return img.reshape(n, h * w)


class ImageAugment:
    """Picklable ``augment(x, generator)`` callable for the training batch iterator.

    Parameters
    ----------
    image_shape : (int, int)
        ``(height, width)`` of one image.
    flip : bool, default=False
        Also mirror images left-right at random.
    max_shift : int, default=2
        Largest translation in pixels.
    """

    def __init__(self, image_shape: tuple[int, int], flip: bool = False,
                 max_shift: int = 2) -> None:
        self.image_shape = tuple(image_shape)
        self.flip = flip
        self.max_shift = max_shift

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Return a randomly augmented copy of the batch ``x``."""
        return augment_images(x, self.image_shape, max_shift=self.max_shift,
                              flip=self.flip, generator=generator)
