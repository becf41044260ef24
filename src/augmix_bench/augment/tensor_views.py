"""Training views made from uint8 batches on the device: the tensor twins of the PIL views.

- ``TensorCropFlip``: the CIFAR flip + padded random crop of ``RandomCropFlip``, per image.
- ``TensorViews``: (clean, AugMix, AugMix) with JSD, one AugMix view without, or the clean view
  for standard training: the same inputs ``AugMixViews`` / ``StandardViews`` give.
- ``PixelSamples``: a per-sample dataset that stops after the spatial transform and returns the
  uint8 pixels, for pipelines that decode and crop in data-loader workers and make the views
  on the device.

Randomness comes from a ``torch.Generator`` on the batch's device that the caller passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .augmix import normalize_pixels
from .batched import BatchedAugMix, check_image_batch
from .views import PerSampleRandomDataset

#: One batch's model input: a tensor, or the tuple of views (clean, aug1, aug2).
Inputs = torch.Tensor | tuple[torch.Tensor, ...]
#: One augmented, normalized view of every image of a uint8 batch, drawn from the generator
#: (``BatchedAugMix``, ``prime_views.BatchedPrime``).
BatchAugment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class TensorCropFlip:
    """Zero-pad by ``padding``, take a random ``size`` crop and mirror it with probability 1/2.

    Every image draws its own offsets and flip. Mirroring the crop instead of the image before
    cropping (``RandomCropFlip``'s order) gives the same distribution: the horizontal offset is
    uniform and symmetric.
    """

    def __init__(self, size: int = 32, padding: int = 4) -> None:
        self.size = int(size)
        self.padding = int(padding)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """uint8 (B, C, H, W) -> uint8 (B, C, size, size) on the same device."""
        batch, _, height, width = images.shape
        device = images.device
        pad = self.padding
        padded = F.pad(images, (pad, pad, pad, pad)) if pad else images
        flip = torch.rand(batch, device=device, generator=generator) < 0.5
        top, left = (
            torch.randint(0, extent + 2 * pad - self.size + 1, (batch,), device=device, generator=generator)
            for extent in (height, width)
        )
        offsets = torch.arange(self.size, device=device)
        rows = top[:, None] + offsets
        cols = left[:, None] + offsets
        cols = torch.where(flip[:, None], cols.flip(1), cols)
        image = torch.arange(batch, device=device)[:, None, None]
        picked = padded[image, :, rows[:, :, None], cols[:, None, :]]  # (B, size, size, C)
        return picked.permute(0, 3, 1, 2).contiguous()


class TensorViews:
    """Model inputs from a uint8 batch (B, 3, H, W) on the device.

    With ``augmix`` (AugMix's ``BatchedAugMix``, or any ``BatchAugment`` such as PRIME's):
    ``(clean, aug1, aug2)`` when ``jsd`` (two independent draws per image), else the single
    augmented view; without it (standard training), the clean view. Views are normalized with
    ``mean``/``std``.
    """

    def __init__(
        self,
        mean: Sequence[float],
        std: Sequence[float],
        augmix: BatchedAugMix | BatchAugment | None = None,
        jsd: bool = True,
    ) -> None:
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.augmix = augmix
        self.jsd = bool(jsd)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> Inputs:
        """The training inputs of ``images``, drawn from ``generator``."""
        check_image_batch(images)
        if self.augmix is None:
            return normalize_pixels(images, self.mean, self.std)
        if not self.jsd:
            return self.augmix(images, generator)
        aug1, aug2 = self.augmix(torch.cat((images, images)), generator).split(images.shape[0])
        return normalize_pixels(images, self.mean, self.std), aug1, aug2


class PixelSamples(PerSampleRandomDataset):
    """Training samples as ``(uint8 tensor (3, H, W), label)`` after the spatial transform.

    The views are made later, a batch at a time on the device, by ``TensorViews``.
    """

    def make(self, img: Image.Image, rng: np.random.Generator) -> torch.Tensor:
        """The spatially augmented image's pixels, channels first."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        return torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).contiguous()
