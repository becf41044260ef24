"""A user's own model, dataset and augmentation for augmix-bench, outside the package.

Nothing here edits augmix-bench: the YAML files in ../conf name these classes with ``_target_``,
and ``augmix-train --config-dir conf`` picks them up (docs/extending.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from augmix_bench.augment import RandomCropFlip
from augmix_bench.data import Benchmark
from augmix_bench.data.arrays import ArrayImageDataset, ArrayTensorDataset


class TinyNet(nn.Module):
    """A small convolutional network: two conv layers, global average pooling, a linear head.

    ``num_classes`` is passed by augmix-bench (it knows the dataset); ``width`` comes from the YAML.
    """

    def __init__(self, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2), nn.BatchNorm2d(width), nn.ReLU(),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


class RandomShift:
    """A per-image augmentation (PIL -> PIL): rolls the image sideways by up to ``most`` pixels.

    It draws from torch's generator, as torchvision's transforms do; augmix-bench seeds that
    generator per sample, so training stays reproducible.
    """

    def __init__(self, most: int = 4) -> None:
        self.most = most

    def __call__(self, img: Image.Image) -> Image.Image:
        step = int(torch.randint(-self.most, self.most + 1, ()).item())
        return Image.fromarray(np.roll(np.asarray(img), step, axis=1))


class StripesBenchmark(Benchmark):
    """A dataset of the user's own: 32x32 images whose class is a stripe direction and colour,
    generated in memory, with one corruption (Gaussian noise, five severities) for the -C suite.
    """

    image_size = 32

    def __init__(self, root: str | Path, name: str = "stripes", classes: int = 4, train_size: int = 400,
                 test_size: int = 100, seed: int = 0) -> None:
        self.root = Path(root)
        self.name = name
        self.num_classes = classes
        self.mean = (0.5, 0.5, 0.5)
        self.std = (0.25, 0.25, 0.25)
        rng = np.random.default_rng(seed)
        self._train = self._draw(train_size, rng)
        self._test = self._draw(test_size, rng)
        self._rng_seed = seed

    def _draw(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, self.num_classes, size=count)
        grid = np.arange(32)
        images = rng.normal(100, 25, size=(count, 32, 32, 3))
        for i, label in enumerate(labels):
            stripes = ((grid[:, None] if label % 2 else grid[None, :]) // 4) % 2
            images[i] += stripes[..., None] * np.array([60 + 40 * label, 120, 200 - 40 * label])
        return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)

    def train_set(self) -> ArrayImageDataset:
        return ArrayImageDataset(*self._train)

    def test_set(self) -> ArrayTensorDataset:
        return ArrayTensorDataset(*self._test)

    def train_spatial(self) -> RandomCropFlip:
        return RandomCropFlip(32, 4)

    def corruption_names(self) -> tuple[str, ...]:
        return ("gaussian_noise",)

    def corrupted_set(self, corruption: str, severity: int) -> ArrayTensorDataset:
        images, labels = self._test
        rng = np.random.default_rng((self._rng_seed, severity))
        noisy = np.clip(images + rng.normal(0, 12 * severity, size=images.shape), 0, 255).astype(np.uint8)
        return ArrayTensorDataset(noisy, labels)

    def missing(self, part: str) -> str | None:
        return None if part in ("clean", "corruptions") else f"{self.name} has no {part} part"
