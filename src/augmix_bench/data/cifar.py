"""CIFAR-10 / CIFAR-100 with CIFAR-10-C / CIFAR-100-C as a ``Benchmark``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..augment.spatial import RandomCropFlip
from ..augment.views import SpatialTransform
from .arrays import ArrayImageDataset, ArrayTensorDataset
from .benchmark import Benchmark
from .cifar_files import CIFAR_LAYOUTS, cifar_folder, cifar_present, read_cifar
from .corrupted_arrays import read_corruption

#: Folder names of the corruption benchmarks under ``dataset.root``.
CORRUPTED_FOLDERS: dict[str, str] = {"cifar10": "CIFAR-10-C", "cifar100": "CIFAR-100-C"}


class CifarBenchmark(Benchmark):
    """CIFAR-10 or CIFAR-100 (``variant``) under ``root`` in torchvision's format, with its -C set.

    Args:
        root: folder holding ``cifar-10-batches-py`` / ``cifar-100-python`` and ``CIFAR-10-C`` /
            ``CIFAR-100-C``.
        variant: ``cifar10`` or ``cifar100``.
        name: the dataset's name in configs and results (defaults to ``variant``).
        mean, std: normalization; crop_padding: the training crop's zero padding.
    """

    image_size = 32

    def __init__(
        self,
        root: str | Path,
        variant: str = "cifar10",
        name: str | None = None,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
        crop_padding: int = 4,
    ) -> None:
        self.root = Path(root).expanduser()
        self.variant = variant
        self.name = name or variant
        self.num_classes = CIFAR_LAYOUTS[variant].num_classes
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.crop_padding = crop_padding

    @property
    def corrupted_folder(self) -> Path:
        """Folder of the -C arrays."""
        return self.root / CORRUPTED_FOLDERS[self.variant]

    @cached_property
    def _train(self) -> tuple[np.ndarray, np.ndarray]:
        return read_cifar(self.root, self.variant, train=True)

    @cached_property
    def _test(self) -> tuple[np.ndarray, np.ndarray]:
        return read_cifar(self.root, self.variant, train=False)

    def train_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Training images (N, 32, 32, 3) uint8 and labels (N,) int64."""
        return self._train

    def train_set(self) -> Dataset:
        """The training split as (PIL image, label)."""
        return ArrayImageDataset(*self._train)

    def test_set(self) -> Dataset:
        """The test split as (uint8 tensor, label); its size is whatever the test file holds."""
        return ArrayTensorDataset(*self._test)

    def train_spatial(self) -> SpatialTransform:
        """RandomHorizontalFlip + RandomCrop(32, padding=4), as the reference."""
        return RandomCropFlip(self.image_size, self.crop_padding)

    def corrupted_set(self, corruption: str, severity: int) -> Dataset:
        """One severity block of ``<root>/CIFAR-10-C/<corruption>.npy``."""
        return ArrayTensorDataset(
            *read_corruption(self.corrupted_folder, corruption, severity, self.num_classes)
        )

    def missing(self, part: str) -> str | None:
        """What of ``part`` is not on disk (clean: the pickles; corruptions: the -C arrays)."""
        if part == "clean":
            if cifar_present(self.root, self.variant):
                return None
            return f"{self.name} not found in {cifar_folder(self.root, self.variant)}"
        if part == "corruptions":
            folder = self.corrupted_folder
            needed = ["labels"] + list(self.corruption_names())
            absent = [n for n in needed if not (folder / f"{n}.npy").is_file()]
            if not absent:
                return None
            return f"{folder.name} incomplete in {folder} (missing {', '.join(a + '.npy' for a in absent[:3])}{' ...' if len(absent) > 3 else ''})"
        return f"{self.name} has no {part} benchmark in this version"
