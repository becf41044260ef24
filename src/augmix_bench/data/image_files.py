"""ImageFolder-style trees (``<folder>/<class>/<image>``) with class indices fixed by the clean classes.

Unlike torchvision's ImageFolder, which numbers whatever class folders it finds, the indices here
always come from the clean training classes, so a corrupted copy that lacks some classes still
labels every image with the class the model was trained on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..errors import UserError

#: File name endings (lower case) taken as images.
IMAGE_SUFFIXES: tuple[str, ...] = (".jpeg", ".jpg", ".png")


def class_folders(folder: Path) -> list[str]:
    """The sorted names of the class folders in ``folder``; a ``UserError`` if there are none."""
    try:
        names = sorted(
            entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith(".")
        )
    except FileNotFoundError:
        raise UserError(f"folder {folder} does not exist") from None
    if not names:
        raise UserError(f"{folder} holds no class folders (expected one folder per class, e.g. n01440764/)")
    return names


def scan_files(
    folder: Path, class_to_index: Mapping[str, int], suffixes: tuple[str, ...], what: str = "images"
) -> list[tuple[str, int]]:
    """(path, class index) of every file ending in ``suffixes`` in ``folder``'s class folders, sorted.

    A class folder not in ``class_to_index`` is refused; classes absent from ``folder`` simply
    have no files.
    """
    samples: list[tuple[str, int]] = []
    for name in class_folders(folder):
        if name not in class_to_index:
            raise UserError(
                f"{folder / name}: class {name!r} is not among the {len(class_to_index)} classes "
                "of the clean training set"
            )
        files = sorted(
            e.path for e in os.scandir(folder / name) if e.is_file() and e.name.lower().endswith(suffixes)
        )
        samples.extend((path, class_to_index[name]) for path in files)
    if not samples:
        raise UserError(f"{folder} holds no {what} (files ending in {', '.join(suffixes)})")
    return samples


def load_rgb(path: str) -> Image.Image:
    """The image at ``path`` as RGB; a ``UserError`` naming the file if it cannot be decoded."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise UserError(f"{path} is not a readable image ({exc})") from None


class ImageFileDataset(Dataset):
    """(``transform(image)``, label) for a list of (image path, label); the PIL image without a transform."""

    def __init__(
        self, samples: list[tuple[str, int]], transform: Callable[[Image.Image], Any] | None = None
    ) -> None:
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        image = load_rgb(path)
        return (self.transform(image) if self.transform is not None else image), label


class FolderClasses:
    """Class indices of a dataset with ``train/`` and ``val/`` ImageFolder trees under ``folder``:
    the sorted class folders of ``train/`` (of ``val/`` without a ``train/``); index = label."""

    folder: Path

    @cached_property
    def classes(self) -> list[str]:
        """The sorted class folder names (wnids for ImageNet)."""
        train = self.folder / "train"
        return class_folders(train if train.is_dir() else self.folder / "val")

    @cached_property
    def class_to_index(self) -> dict[str, int]:
        """Class folder name -> class index."""
        return {name: index for index, name in enumerate(self.classes)}

    @property
    def num_classes(self) -> int:
        """The number of clean classes."""
        return len(self.classes)
