"""ImageNet with ImageNet-C and ImageNet-P as a ``Benchmark``.

Layout under ``dataset.root`` (see docs/benchmarks.md)::

    <folder>/train/<wnid>/*.JPEG                       clean training images (``folder`` = imagenet)
    <folder>/val/<wnid>/*.JPEG                         clean validation images, one folder per class
    ImageNet-C/<corruption>/<severity>/<wnid>/*.JPEG   the Zenodo release, unpacked
    ImageNet-P/<perturbation>/<wnid>/*.mp4             the Zenodo release, unpacked

Class indices are the positions of the wnids among the sorted class folders of ``train/`` (of
``val/`` when there is no ``train/``), and the -C and -P sets are labelled with those indices, so a
corrupted folder that lacks some classes stays aligned with the clean classes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from torch.utils.data import Dataset
from torchvision import transforms

from ..augment.augmix import IMAGENET_MEAN, IMAGENET_STD
from ..augment.spatial import RandomResizedCropFlip
from ..augment.views import SpatialTransform
from ..errors import UserError
from .benchmark import Benchmark, PerturbedSequences
from .download import install_archive
from .image_folders import IMAGE_SUFFIXES, ImageFileDataset, class_folders, scan_files
from .names import IMAGENET_PERTURBATIONS, SEVERITIES
from .sources import (
    IMAGENET_CORRUPTED,
    IMAGENET_INSTRUCTIONS,
    IMAGENET_P_INSTRUCTIONS,
    Archive,
)
from .videos import VIDEO_SUFFIXES, VideoFramesDataset

#: Folder names of the released benchmarks under ``dataset.root``.
CORRUPTED_FOLDER = "ImageNet-C"
PERTURBED_FOLDER = "ImageNet-P"
#: How -C / -P images are prepared: ``resize_crop`` (Resize + CenterCrop like the clean set, the AugMix
#: reference's ``imagenet.py``) or ``center_crop`` (CenterCrop only, Hendrycks' ImageNet-C ``test.py``).
CORRUPTED_TRANSFORMS: tuple[str, ...] = ("resize_crop", "center_crop")


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")


class ImageNetBenchmark(Benchmark):
    """ImageNet (ImageFolder ``train/`` and ``val/``) with ImageNet-C and ImageNet-P under ``root``.

    Args:
        root: folder holding ``<folder>/``, ``ImageNet-C/`` and ``ImageNet-P/``.
        name: the dataset's name in configs and results.
        folder: the folder under ``root`` that holds ``train/`` and ``val/``.
        image_size: the training crop and the evaluation centre crop (224 in the reference).
        resize_size: the shorter side clean evaluation images are resized to before the crop (256).
        mean, std: normalization (None: ``IMAGENET_MEAN`` / ``IMAGENET_STD``).
        corruptions_url: a folder URL holding the ImageNet-C archives (noise.tar, blur.tar,
            weather.tar, digital.tar), for mirrors; default Zenodo record 2235448.
        corruptions_md5: md5 per archive name (``noise``, ...) replacing the recorded ones.
        corrupted_transform: how -C / -P images are prepared: ``resize_crop`` (the clean set's
            Resize + CenterCrop, as the AugMix reference ``imagenet.py``) or ``center_crop``
            (CenterCrop only, as Hendrycks' ImageNet-C ``test.py`` that measured the AlexNet errors).
    """

    alexnet_normalized = True

    def __init__(
        self,
        root: str | Path,
        name: str = "imagenet",
        folder: str = "imagenet",
        image_size: int = 224,
        resize_size: int = 256,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        corruptions_url: str | None = None,
        corruptions_md5: Mapping[str, str] | None = None,
        corrupted_transform: str = "resize_crop",
    ) -> None:
        self.root = Path(root).expanduser()
        self.name = name
        self.folder = self.root / folder
        self.image_size = int(image_size)
        self.resize_size = int(resize_size)
        if corrupted_transform not in CORRUPTED_TRANSFORMS:
            raise UserError(
                f"dataset.corrupted_transform={corrupted_transform!r} is invalid; "
                f"accepted: {', '.join(CORRUPTED_TRANSFORMS)}"
            )
        self.corrupted_transform = corrupted_transform
        self.mean = tuple(IMAGENET_MEAN if mean is None else mean)
        self.std = tuple(IMAGENET_STD if std is None else std)
        unknown = sorted(set(corruptions_md5 or {}) - set(IMAGENET_CORRUPTED))
        if unknown:
            raise UserError(
                f"dataset.corruptions_md5 has no archive {unknown[0]!r}; "
                f"accepted: {', '.join(IMAGENET_CORRUPTED)}"
            )
        self.corruption_archives = {
            key: dataclasses.replace(
                archive,
                url=f"{corruptions_url.rstrip('/')}/{archive.filename}" if corruptions_url else archive.url,
                md5=(corruptions_md5 or {}).get(key, archive.md5),
            )
            for key, archive in IMAGENET_CORRUPTED.items()
        }

    @property
    def corrupted_folder(self) -> Path:
        """``<root>/ImageNet-C``."""
        return self.root / CORRUPTED_FOLDER

    @property
    def perturbed_folder(self) -> Path:
        """``<root>/ImageNet-P``."""
        return self.root / PERTURBED_FOLDER

    @cached_property
    def classes(self) -> list[str]:
        """The sorted wnids of ``train/`` (of ``val/`` without a ``train/``); index = class label."""
        train = self.folder / "train"
        return class_folders(train if train.is_dir() else self.folder / "val")

    @cached_property
    def class_to_index(self) -> dict[str, int]:
        """wnid -> class index."""
        return {wnid: index for index, wnid in enumerate(self.classes)}

    @property
    def num_classes(self) -> int:  # type: ignore[override]
        """The number of clean classes."""
        return len(self.classes)

    def eval_transform(self) -> transforms.Compose:
        """Clean evaluation: Resize(resize_size) + CenterCrop(image_size) -> uint8 tensor (3, H, W)."""
        return transforms.Compose(
            [
                transforms.Resize(self.resize_size),
                transforms.CenterCrop(self.image_size),
                transforms.PILToTensor(),
            ]
        )

    def released_transform(self) -> transforms.Compose:
        """-C / -P images (224 x 224 in the release): the clean set's transform for ``resize_crop``,
        CenterCrop(image_size) alone for ``center_crop`` -> uint8 tensor."""
        if self.corrupted_transform == "resize_crop":
            return self.eval_transform()
        return transforms.Compose([transforms.CenterCrop(self.image_size), transforms.PILToTensor()])

    def train_set(self) -> Dataset:
        """``train/`` as (PIL image, label)."""
        return ImageFileDataset(scan_files(self.folder / "train", self.class_to_index, IMAGE_SUFFIXES))

    def test_set(self) -> Dataset:
        """``val/`` as (uint8 tensor, label), resized and centre-cropped."""
        return ImageFileDataset(
            scan_files(self.folder / "val", self.class_to_index, IMAGE_SUFFIXES), self.eval_transform()
        )

    def train_spatial(self) -> SpatialTransform:
        """RandomResizedCrop(image_size) + horizontal flip, as the reference."""
        return RandomResizedCropFlip(self.image_size)

    def corrupted_set(self, corruption: str, severity: int) -> Dataset:
        """``ImageNet-C/<corruption>/<severity>`` as (uint8 tensor, clean class index)."""
        if severity not in SEVERITIES:
            raise UserError(f"severity {severity} is invalid; accepted: 1-5")
        folder = self.corrupted_folder / corruption / str(severity)
        return ImageFileDataset(
            scan_files(folder, self.class_to_index, IMAGE_SUFFIXES), self.released_transform()
        )

    def perturbation_names(self) -> tuple[str, ...]:
        """The 10 ImageNet-P test perturbations."""
        return IMAGENET_PERTURBATIONS

    def perturbed_set(self, perturbation: str) -> PerturbedSequences:
        """The frames of ``ImageNet-P/<perturbation>``'s videos, labelled with the clean class index."""
        if perturbation not in IMAGENET_PERTURBATIONS:
            raise UserError(
                f"unknown perturbation {perturbation!r}; choose from: {', '.join(IMAGENET_PERTURBATIONS)}"
            )
        videos = scan_files(
            self.perturbed_folder / perturbation, self.class_to_index, VIDEO_SUFFIXES, "videos"
        )
        frames = VideoFramesDataset(videos, self.released_transform())
        return PerturbedSequences(frames, len(videos), frames.num_frames)

    def missing(self, part: str) -> str | None:
        """What of ``part`` is not on disk, with how to obtain what cannot be downloaded."""
        if part == "clean":
            if (self.folder / "val").is_dir():
                return None
            return f"{self.name} not found: {self.folder / 'val'} does not exist; {IMAGENET_INSTRUCTIONS}"
        if part == "corruptions":
            absent = [
                f"{c}/{s}"
                for c in self.corruption_names()
                for s in SEVERITIES
                if not (self.corrupted_folder / c / str(s)).is_dir()
            ]
            return (
                f"ImageNet-C incomplete in {self.corrupted_folder} (missing {_listing(absent)})"
                if absent
                else None
            )
        if part == "perturbations":
            absent = [p for p in self.perturbation_names() if not (self.perturbed_folder / p).is_dir()]
            if not absent:
                return None
            return (
                f"ImageNet-P incomplete in {self.perturbed_folder} (missing {_listing(absent)}); "
                f"{IMAGENET_P_INSTRUCTIONS} {self.perturbed_folder}"
            )
        return f"{self.name} has no {part} part"

    def can_download(self, part: str) -> bool:
        """Only ImageNet-C can be downloaded (and verified)."""
        return part == "corruptions"

    def _archive_missing(self, archive: Archive) -> bool:
        return any(
            not (self.corrupted_folder / c / str(s)).is_dir() for c in archive.folders for s in SEVERITIES
        )

    def download(self, part: str, progress: bool = True) -> None:
        """Fetch, verify and unpack the ImageNet-C archives not yet installed; other parts refuse."""
        if not self.can_download(part):
            super().download(part, progress)
            return
        for archive in self.corruption_archives.values():
            if self._archive_missing(archive):
                install_archive(archive, self.corrupted_folder, self.downloads_folder(), progress)
