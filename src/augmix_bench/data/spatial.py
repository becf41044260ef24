"""The standard spatial training augmentation (flip and crop), drawn from a passed generator.

These mirror torchvision's ``RandomCrop(padding=...)``, ``RandomHorizontalFlip`` and
``RandomResizedCrop`` but take their randomness from a ``numpy.random.Generator``, so a training
sample is a function of (seed, epoch, index) alone, whatever the number of data-loader workers.
"""

from __future__ import annotations

import math

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps

#: A random transform of a PIL image drawing from the sample's generator (flip/crop, AutoAugment).
ImageTransform = Callable[[Image.Image, np.random.Generator], Image.Image]
#: The standard flip/crop of a benchmark's training split: an ``ImageTransform``.
SpatialTransform = ImageTransform


class RandomCropFlip:
    """CIFAR training transform: zero-pad by ``padding``, random ``size`` crop, then flip (p=0.5).

    The same order and distribution as torchvision's ``RandomHorizontalFlip`` followed by
    ``RandomCrop(size, padding)`` (flip and crop commute in distribution).
    """

    def __init__(self, size: int = 32, padding: int = 4) -> None:
        self.size = int(size)
        self.padding = int(padding)

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Flip with probability 1/2, then take a random padded crop."""
        if rng.uniform() < 0.5:
            img = ImageOps.mirror(img)
        if self.padding > 0:
            img = ImageOps.expand(img, border=self.padding, fill=0)
        width, height = img.size
        top = int(rng.integers(0, height - self.size + 1))
        left = int(rng.integers(0, width - self.size + 1))
        return img.crop((left, top, left + self.size, top + self.size))


class RandomResizedCropFlip:
    """ImageNet training transform: ``RandomResizedCrop(size)`` (bilinear) then flip (p=0.5).

    The crop box is drawn as torchvision draws it: up to 10 tries of a scale in ``scale`` of the
    area and a log-uniform aspect ratio in ``ratio``, else a central crop of clamped ratio.
    """

    def __init__(
        self,
        size: int = 224,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ) -> None:
        self.size = int(size)
        self.scale = scale
        self.ratio = ratio

    def box(self, width: int, height: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """A (left, top, crop_width, crop_height) box drawn like torchvision's."""
        area = width * height
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * rng.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(rng.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                return left, top, w, h
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Random resized crop to ``size`` x ``size``, then flip with probability 1/2."""
        left, top, w, h = self.box(img.size[0], img.size[1], rng)
        # crop, then resize, as torchvision's resized_crop (PIL's ``box=`` samples outside the crop)
        img = img.crop((left, top, left + w, top + h)).resize((self.size, self.size), Image.BILINEAR)
        if rng.uniform() < 0.5:
            img = ImageOps.mirror(img)
        return img
