"""CIFAR-10 / CIFAR-100 with CIFAR-10-C / CIFAR-100-C as a ``Benchmark``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from ..augment.augmix import CIFAR_MEAN, CIFAR_STD
from ..augment.spatial import RandomCropFlip
from ..augment.views import SpatialTransform
from ..errors import UserError
from .arrays import ArrayImageDataset, ArrayTensorDataset
from .benchmark import Benchmark, PerturbedSequences
from .cifar_files import CIFAR_LAYOUTS, cifar_folder, cifar_present, read_cifar
from .corrupted_arrays import check_corrupted_folder, read_corruption
from .download import install_archive
from .names import CIFAR_PERTURBATIONS
from .perturbed_arrays import perturbed_frames
from .sources import CIFAR_CLEAN, CIFAR_CORRUPTED, CIFAR_PERTURBED, Archive

#: Folder names of the corruption benchmarks under ``dataset.root``.
CORRUPTED_FOLDERS: dict[str, str] = {variant: a.folders[0] for variant, a in CIFAR_CORRUPTED.items()}

#: Folder names of the perturbation benchmarks under ``dataset.root`` (CIFAR-10-P only).
PERTURBED_FOLDERS: dict[str, str] = {variant: a.folders[0] for variant, a in CIFAR_PERTURBED.items()}


def mirrored(archive: Archive, url: str | None, md5: str | None) -> Archive:
    """``archive`` fetched from ``url`` (a mirror) and/or checked against ``md5`` where given."""
    return dataclasses.replace(archive, url=url or archive.url, md5=md5 or archive.md5)


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (" ..." if len(names) > 3 else "")


class CifarBenchmark(Benchmark):
    """CIFAR-10 or CIFAR-100 (``variant``) under ``root`` in torchvision's format, with its -C set.

    Args:
        root: folder holding ``cifar-10-batches-py`` / ``cifar-100-python`` and ``CIFAR-10-C`` /
            ``CIFAR-100-C``.
        variant: ``cifar10`` or ``cifar100``.
        name: the dataset's name in configs and results (defaults to ``variant``).
        mean, std: normalization (None: ``CIFAR_MEAN`` / ``CIFAR_STD``).
        crop_padding: the training crop's zero padding.
        url, md5: source of the clean archive (default: torchvision's).
        corruptions_url, corruptions_md5, perturbations_url, perturbations_md5: sources of the -C and
            -P archives (default: the Zenodo releases of ``sources.py``), for mirrors.
    """

    image_size = 32

    def __init__(
        self,
        root: str | Path,
        variant: str = "cifar10",
        name: str | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        crop_padding: int = 4,
        url: str | None = None,
        md5: str | None = None,
        corruptions_url: str | None = None,
        corruptions_md5: str | None = None,
        perturbations_url: str | None = None,
        perturbations_md5: str | None = None,
    ) -> None:
        if variant not in CIFAR_LAYOUTS:
            raise UserError(f"unknown CIFAR variant {variant!r}; choose from: {', '.join(CIFAR_LAYOUTS)}")
        self.root = Path(root).expanduser()
        self.variant = variant
        self.name = name or variant
        self.num_classes = CIFAR_LAYOUTS[variant].num_classes
        self.mean = tuple(CIFAR_MEAN if mean is None else mean)
        self.std = tuple(CIFAR_STD if std is None else std)
        self.crop_padding = crop_padding
        self.sources = {
            "clean": mirrored(CIFAR_CLEAN[variant], url, md5),
            "corruptions": mirrored(CIFAR_CORRUPTED[variant], corruptions_url, corruptions_md5),
        }
        if variant in CIFAR_PERTURBED:
            self.sources["perturbations"] = mirrored(
                CIFAR_PERTURBED[variant], perturbations_url, perturbations_md5
            )

    @property
    def corrupted_folder(self) -> Path:
        """Folder of the -C arrays."""
        return self.root / CORRUPTED_FOLDERS[self.variant]

    @property
    def perturbed_folder(self) -> Path:
        """Folder of the -P arrays (CIFAR-10-P)."""
        return self.root / PERTURBED_FOLDERS[self.variant]

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
            *read_corruption(self.corrupted_folder, corruption, severity, self.num_classes, self.image_size)
        )

    def verify(self, part: str) -> None:
        """-C: every corruption file's dtype, shape and row count, and labels.npy against the test
        labels (when the clean set is on disk)."""
        if part == "corruptions":
            test_labels = None if self.missing("clean") else self._test[1]
            check_corrupted_folder(
                self.corrupted_folder, self.corruption_names(), test_labels, self.num_classes, self.image_size
            )

    def perturbation_names(self) -> tuple[str, ...]:
        """The 10 CIFAR-10-P perturbations (CIFAR-100 has no -P set)."""
        return CIFAR_PERTURBATIONS if "perturbations" in self.sources else ()

    def perturbed_set(self, perturbation: str) -> PerturbedSequences:
        """The frames of ``<root>/CIFAR-10-P/<perturbation>.npy``."""
        if perturbation not in self.perturbation_names():
            return super().perturbed_set(perturbation)
        return perturbed_frames(self.perturbed_folder, perturbation, self.image_size)

    def missing(self, part: str) -> str | None:
        """What of ``part`` is not on disk (clean: the pickles; -C / -P: the arrays)."""
        if part == "clean":
            if cifar_present(self.root, self.variant):
                return None
            return f"{self.name} not found in {cifar_folder(self.root, self.variant)}"
        if part == "corruptions":
            return self._missing_arrays(self.corrupted_folder, ["labels", *self.corruption_names()])
        if part == "perturbations":
            if not self.perturbation_names():
                return f"{self.name} has no perturbation benchmark (-P)"
            return self._missing_arrays(self.perturbed_folder, list(self.perturbation_names()))
        return f"{self.name} has no {part} part"

    @staticmethod
    def _missing_arrays(folder: Path, names: list[str]) -> str | None:
        absent = [f"{n}.npy" for n in names if not (folder / f"{n}.npy").is_file()]
        if not absent:
            return None
        return f"{folder.name} incomplete in {folder} (missing {_listing(absent)})"

    def can_download(self, part: str) -> bool:
        """Every part with a source: clean, -C, and -P for CIFAR-10."""
        return part in self.sources

    def download(self, part: str, progress: bool = True) -> None:
        """Fetch, verify and unpack the archive of ``part`` into ``root``."""
        if not self.can_download(part):
            super().download(part, progress)
            return
        install_archive(self.sources[part], self.root, self.downloads_folder(), progress)
