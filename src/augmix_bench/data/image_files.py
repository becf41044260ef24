"""ImageFolder-style trees (``<folder>/<class>/<image>``) with class indices fixed by the clean classes.

Unlike torchvision's ImageFolder, which numbers whatever class folders it finds, the indices here
always come from the clean training classes, so a corrupted copy that lacks some classes still
labels every image with the class the model was trained on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..errors import UserError

log = logging.getLogger(__name__)


def _readable_suffixes() -> tuple[str, ...]:
    """Every file ending Pillow registers for a format it can open (``.mpo`` opens as JPEG)."""
    extensions = Image.registered_extensions()  # loads every plugin, which fills Image.OPEN
    readable = {*Image.OPEN, "MPO"}
    return tuple(sorted(ext for ext, fmt in extensions.items() if fmt in readable))


#: File name endings (lower case) taken as images: every one Pillow opens (.png, .jpg, .bmp, .tif, .webp, ...).
IMAGE_SUFFIXES: tuple[str, ...] = _readable_suffixes()
#: Before training, the clean images (train/ and val/) are decoded once when they are at most this
#: many files, so an unreadable one stops the run before the first batch; larger sets are read as
#: training goes (an unreadable image then stops the run with its name).
CHECK_IMAGES_MAX = 20000


def _examples(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _count(number: int, plural: str) -> str:
    """``1 image``, ``2 images``."""
    return f"{number} {plural.removesuffix('s') if number == 1 else plural}"


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
    folder: Path,
    class_to_index: Mapping[str, int],
    suffixes: tuple[str, ...],
    what: str = "images",
    split: str | None = None,
) -> list[tuple[str, int]]:
    """(path, class index) of every file ending in ``suffixes`` in ``folder``'s class folders, sorted.

    A class folder not in ``class_to_index`` is refused, and so is one that holds none of these
    files; classes absent from ``folder`` simply have no files. Hidden files (``.name``) are passed
    over. With ``split``, one log line gives the split's file and class counts and the other files
    passed over.
    """
    samples: list[tuple[str, int]] = []
    skipped: list[str] = []
    names = class_folders(folder)
    for name in names:
        if name not in class_to_index:
            raise UserError(
                f"{folder / name}: class {name!r} is not among the {len(class_to_index)} classes "
                "of the clean training set"
            )
        entries = [e for e in os.scandir(folder / name) if e.is_file() and not e.name.startswith(".")]
        files = sorted(e.path for e in entries if e.name.lower().endswith(suffixes))
        others = sorted(e.name for e in entries if not e.name.lower().endswith(suffixes))
        if not files:
            found = f"only {_count(len(others), 'other files')}: {_examples(others)}" if others else "it is empty"
            raise UserError(
                f"class folder {folder / name} holds no {what} ({found}); add its {what} or remove the folder"
            )
        skipped.extend(f"{name}/{other}" for other in others)
        samples.extend((path, class_to_index[name]) for path in files)
    if split is not None:
        passed_over = f"; {_count(len(skipped), 'other files')} passed over ({_examples(skipped)})" if skipped else ""
        log.info(
            "%s: %s in %d of %d classes (%s)%s",
            split, _count(len(samples), what), len(names), len(class_to_index), folder, passed_over,
        )
    return samples


def to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, whatever mode Pillow read it in.

    16-bit and 32-bit integer greyscale (``I;16*``, ``I``) keep the high byte of the 16-bit value
    (values clipped to 0-65535, then divided by 256: 65535 -> 255, 32768 -> 128), as Pillow reads
    16-bit colour files; float greyscale (``F``) is on Pillow's 0-255 scale, rounded and clipped.
    Alpha is dropped (the colour stored under it is kept, as torchvision's ImageFolder reads it);
    every other mode (``L``, ``LA``, ``P`` with or without transparency, ``RGBA``, ``CMYK``,
    ``YCbCr``, ``1``, ...) is Pillow's ``convert("RGB")``.
    """
    if image.mode.startswith("I"):
        values = np.clip(np.asarray(image).astype(np.int64), 0, 65535) >> 8
        return Image.fromarray(np.repeat(values.astype(np.uint8)[..., None], 3, axis=2))
    if image.mode == "F":
        values = np.clip(np.rint(np.nan_to_num(np.asarray(image, dtype=np.float64))), 0, 255)
        return Image.fromarray(np.repeat(values.astype(np.uint8)[..., None], 3, axis=2))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow asks for this step for palettes with transparency
    return image.convert("RGB")


def load_rgb(path: str, draft: bool = False) -> Image.Image:
    """The image at ``path`` as RGB (``to_rgb``); a ``UserError`` naming the file if it cannot be
    decoded. ``draft``: JPEGs are decoded at a reduced scale (every byte is still read; for checks)."""
    try:
        with Image.open(path) as img:
            if draft:
                img.draft("RGB", (1, 1))
            return to_rgb(img)
    except UnidentifiedImageError:
        raise UserError(f"{path} is not a readable image (Pillow recognizes no image format in it)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UserError(f"{path} is not a readable image ({exc})") from None


def check_images(paths: Sequence[str], what: str, limit: int | None = None) -> None:
    """Decode every image of ``paths`` (``what`` names them in the log) when there are at most
    ``limit`` (None: ``CHECK_IMAGES_MAX``): a ``UserError`` naming the first that cannot be read;
    logs how long the check took."""
    limit = CHECK_IMAGES_MAX if limit is None else limit
    if len(paths) > limit:
        log.info("%s: %d images, more than %d: not decoded ahead (an unreadable one stops the run by name)",
                 what, len(paths), limit)
        return
    start = time.perf_counter()
    for path in paths:
        load_rgb(path, draft=True)
    log.info("%s: all %d images decode (checked in %.2f s)", what, len(paths), time.perf_counter() - start)


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

    def split_samples(self, split: str) -> list[tuple[str, int]]:
        """(path, class index) of the images of ``folder/split`` (``train``, ``val``), scanned and
        logged once."""
        scanned: dict[str, list[tuple[str, int]]] = self.__dict__.setdefault("_scanned_splits", {})
        if split not in scanned:
            scanned[split] = scan_files(self.folder / split, self.class_to_index, IMAGE_SUFFIXES, split=split)
        return scanned[split]

    def check_clean_images(self, limit: int | None = None) -> None:
        """Decode every image of ``train/`` and ``val/`` when they are at most ``limit`` together
        (None: ``CHECK_IMAGES_MAX``; ``check_images``): an unreadable one is refused before training."""
        splits = [split for split in ("train", "val") if (self.folder / split).is_dir()]
        paths = [path for split in splits for path, _ in self.split_samples(split)]
        check_images(paths, " and ".join(f"{split}/" for split in splits), limit)
