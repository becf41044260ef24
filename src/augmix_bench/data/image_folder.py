"""Any image dataset in ImageFolder layout, at any square size, with its own -C set.

``root`` holds ``train/<class>/*`` and ``val/<class>/*`` and, for corruption robustness,
``corruptions/<corruption>/<severity>/<class>/*`` (the layout ``augmix-corrupt`` writes). The
corruptions evaluated are the ones found there; each needs all five severities.

Training crops follow a size rule, overridable with ``train_crop``: images of side up to 64 px
get CIFAR's treatment (zero-pad by ``crop_padding``, random crop, flip), larger ones ImageNet's
(RandomResizedCrop, flip). Evaluation resizes the shorter side and centre-crops to ``image_size``:
to ``image_size`` itself for ``pad`` (a no-op for images already that size), to
``image_size / crop_fraction`` for ``resized`` (256 for 224, as ImageNet). Corrupted images get
the same evaluation transform as the clean ones.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from torchvision import transforms

from ..errors import UserError
from .constants import IMAGENET_MEAN, IMAGENET_STD
from .spatial import RandomCropFlip, RandomResizedCropFlip, SpatialTransform
from .benchmark import Benchmark
from .identity import corruption_source, listing_fingerprint
from .image_files import IMAGE_SUFFIXES, FolderClasses, ImageFileDataset, scan_files
from .names import SEVERITIES

#: Accepted values of ``train_crop``.
TRAIN_CROPS: tuple[str, ...] = ("auto", "pad", "resized")
#: ``train_crop=auto`` pads and crops images of at most this side, and resize-crops larger ones.
PAD_CROP_MAX_SIDE = 64


class ImageFolderBenchmark(FolderClasses, Benchmark):
    """Clean ``train``/``val`` splits and a ``corruptions`` tree under ``root``.

    Args:
        root: the folder holding ``train/``, ``val/`` and optionally ``corruptions/``.
        name: the dataset's name in results and reports.
        image_size: side of the square training and evaluation images.
        train_crop: ``pad`` (CIFAR-style), ``resized`` (ImageNet-style) or ``auto`` (the size rule).
        crop_padding: zero padding of the ``pad`` crop.
        crop_fraction: the ``resized`` evaluation's centre crop takes this fraction of the resized side.
        mean, std: normalization (None: ImageNet's statistics).
        corruptions_dir: the corruption tree (None: ``root/corruptions``).
        corruptions_bar_dir: the -C-bar tree in the same layout (None: ``root/corruptions_bar``).
    """

    def __init__(
        self,
        root: str | Path,
        name: str = "image_folder",
        image_size: int = 32,
        train_crop: str = "auto",
        crop_padding: int = 4,
        crop_fraction: float = 0.875,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        corruptions_dir: str | Path | None = None,
        corruptions_bar_dir: str | Path | None = None,
    ) -> None:
        if train_crop not in TRAIN_CROPS:
            raise UserError(f"dataset.train_crop={train_crop!r} is invalid; choose from: {', '.join(TRAIN_CROPS)}")
        if int(image_size) < 1:
            raise UserError(f"dataset.image_size={image_size} is invalid; accepted: an integer >= 1")
        if not 0 < float(crop_fraction) <= 1:
            raise UserError(f"dataset.crop_fraction={crop_fraction} is invalid; accepted: (0, 1]")
        self.root = self.folder = Path(root).expanduser()
        self.name = name
        self.image_size = int(image_size)
        if train_crop == "auto":
            train_crop = "pad" if self.image_size <= PAD_CROP_MAX_SIDE else "resized"
        self.train_crop = train_crop
        self.crop_padding = int(crop_padding)
        self.crop_fraction = float(crop_fraction)
        self.mean = tuple(IMAGENET_MEAN if mean is None else mean)
        self.std = tuple(IMAGENET_STD if std is None else std)
        self.corruptions_folder = Path(corruptions_dir).expanduser() if corruptions_dir else self.root / "corruptions"
        self.corruptions_bar_folder = (
            Path(corruptions_bar_dir).expanduser() if corruptions_bar_dir else self.root / "corruptions_bar"
        )

    def eval_transform(self) -> transforms.Compose:
        """Resize the shorter side, centre-crop to ``image_size``, uint8 tensor (3, H, W)."""
        side = self.image_size if self.train_crop == "pad" else round(self.image_size / self.crop_fraction)
        return transforms.Compose(
            [transforms.Resize(side), transforms.CenterCrop(self.image_size), transforms.PILToTensor()]
        )

    def _pad_crop_input(self) -> transforms.Compose | None:
        """For ``pad`` training crops: images not yet ``image_size`` square are brought to it first."""
        if self.train_crop != "pad":
            return None
        return transforms.Compose([transforms.Resize(self.image_size), transforms.CenterCrop(self.image_size)])

    def train_set(self) -> Dataset:
        """``train/`` as (PIL image, label)."""
        return ImageFileDataset(self.split_samples("train"), self._pad_crop_input())

    def test_set(self) -> Dataset:
        """``val/`` as (uint8 tensor, label)."""
        return ImageFileDataset(self.split_samples("val"), self.eval_transform())

    def train_spatial(self) -> SpatialTransform:
        """Pad-and-crop + flip, or RandomResizedCrop + flip (see ``train_crop``)."""
        if self.train_crop == "pad":
            return RandomCropFlip(self.image_size, self.crop_padding)
        return RandomResizedCropFlip(self.image_size)

    def corruption_names(self) -> tuple[str, ...]:
        """The corruptions found in the corruption tree, sorted."""
        return _subfolders(self.corruptions_folder)

    def corruption_bar_names(self) -> tuple[str, ...]:
        """The -C-bar corruptions found in the -C-bar tree, sorted."""
        return _subfolders(self.corruptions_bar_folder)

    def corruption_bar_identity(self) -> dict[str, Any]:
        """A -C-bar set generated by ``augmix-corrupt`` (its manifest), else the tree's listing."""
        return corruption_source(self.corruptions_bar_folder, given=True, list_files=True)

    def corrupted_bar_set(self, corruption: str, severity: int) -> Dataset:
        """``corruptions_bar/<corruption>/<severity>`` as (uint8 tensor, clean class index)."""
        if severity not in SEVERITIES:
            raise UserError(f"severity {severity} is invalid; accepted: 1-5")
        folder = self.corruptions_bar_folder / corruption / str(severity)
        return ImageFileDataset(scan_files(folder, self.class_to_index, IMAGE_SUFFIXES), self.eval_transform())

    def set_folder(self, part: str) -> Path | None:
        """The corruption or -C-bar tree."""
        return {"corruptions": self.corruptions_folder, "corruptions_bar": self.corruptions_bar_folder}.get(part)

    def transform_protocol(self) -> dict[str, str | None]:
        """Resize + CenterCrop, the same for corrupted images."""
        side = self.image_size if self.train_crop == "pad" else round(self.image_size / self.crop_fraction)
        return {"eval_transform": f"Resize({side}) + CenterCrop({self.image_size})", "corrupted_transform": None}

    def files_fingerprint(self) -> str | None:
        """The listing of ``train/`` and ``val/`` (paths and sizes): the name alone says nothing here."""
        return listing_fingerprint({"train": self.root / "train", "val": self.root / "val"})

    def corruption_identity(self) -> dict[str, Any]:
        """A set generated by ``augmix-corrupt`` (its manifest), else the corruption tree's listing."""
        return corruption_source(self.corruptions_folder, given=True, list_files=True)

    def corrupted_set(self, corruption: str, severity: int) -> Dataset:
        """``corruptions/<corruption>/<severity>`` as (uint8 tensor, clean class index)."""
        if severity not in SEVERITIES:
            raise UserError(f"severity {severity} is invalid; accepted: 1-5")
        folder = self.corruptions_folder / corruption / str(severity)
        return ImageFileDataset(scan_files(folder, self.class_to_index, IMAGE_SUFFIXES), self.eval_transform())

    def missing(self, part: str) -> str | None:
        """What of ``part`` is not on disk."""
        if part == "clean":
            val = self.root / "val"
            if val.is_dir():
                return None
            return f"{self.name} not found: {val} does not exist (expected val/<class>/<image>)"
        if part == "corruptions":
            names = self.corruption_names()
            if not names:
                return (
                    f"no corruptions in {self.corruptions_folder} (expected <corruption>/<severity>/<class>/<image>; "
                    "augmix-corrupt builds them)"
                )
            folder = self.corruptions_folder
            absent = [f"{c}/{s}" for c in names for s in SEVERITIES if not (folder / c / str(s)).is_dir()]
            return f"corruption tree {self.corruptions_folder} lacks {absent[0]}" if absent else None
        if part == "corruptions_bar":
            folder = self.corruptions_bar_folder
            names = self.corruption_bar_names()
            if not names:
                return f"no -C-bar corruptions in {folder} (expected <corruption>/<severity>/<class>/<image>)"
            absent = [f"{c}/{s}" for c in names for s in SEVERITIES if not (folder / c / str(s)).is_dir()]
            return f"-C-bar tree {folder} lacks {absent[0]}" if absent else None
        return f"{self.name} has no {part} part"


def _subfolders(folder: Path) -> tuple[str, ...]:
    """The names of ``folder``'s visible subfolders, sorted (none when it does not exist)."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")))
