"""The clean images to corrupt: a CIFAR test array in memory, or image files read on demand.

Sources are picklable and cheap to copy, so every worker process loads only the chunk it works on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision import transforms

from ..data.image_files import IMAGE_SUFFIXES, class_folders, load_rgb, scan_files
from ..errors import UserError


@dataclass(frozen=True)
class ArraySource:
    """Images already in memory (N, S, S, 3) uint8, e.g. a CIFAR test set."""

    images: np.ndarray

    @property
    def side(self) -> int:
        """The image side."""
        return int(self.images.shape[1])

    def __len__(self) -> int:
        return len(self.images)

    def load(self, start: int, stop: int) -> np.ndarray:
        """Images ``start`` to ``stop`` (exclusive)."""
        return np.ascontiguousarray(self.images[start:stop])


@dataclass(frozen=True)
class FileSource:
    """Image files (``relative`` names under a class folder), optionally resized and centre-cropped.

    With ``resize`` the images get torchvision's ``Resize(resize)`` + ``CenterCrop(side)`` (PIL
    bilinear), as the ImageNet-C script did; without, they must already be ``side`` x ``side``.
    """

    paths: tuple[str, ...]
    relative: tuple[str, ...]
    side: int
    resize: int | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, start: int, stop: int) -> np.ndarray:
        """Images ``start`` to ``stop`` (exclusive) as uint8 (B, side, side, 3)."""
        prepare = (
            transforms.Compose([transforms.Resize(self.resize), transforms.CenterCrop(self.side)])
            if self.resize
            else None
        )
        images = []
        for path in self.paths[start:stop]:
            image = load_rgb(path)
            if prepare is not None:
                image = prepare(image)
            elif image.size != (self.side, self.side):
                raise UserError(f"{path} is {image.size[0]}x{image.size[1]}, expected {self.side}x{self.side}")
            images.append(np.asarray(image))
        return np.stack(images)


def _class_files(folder: Path) -> list[tuple[str, str]]:
    classes = class_folders(folder)
    samples = scan_files(folder, {name: i for i, name in enumerate(classes)}, IMAGE_SUFFIXES, split=folder.name)
    return [(path, str(Path(path).relative_to(folder))) for path, _ in samples]


def imagenet_source(val_folder: Path, side: int = 224, resize: int = 256) -> FileSource:
    """The validation images of an ImageNet tree (``val/<wnid>/*``), Resize(256) + CenterCrop(224)."""
    files = _class_files(val_folder)
    return FileSource(tuple(p for p, _ in files), tuple(r for _, r in files), side, resize)


def folder_source(val_folder: Path, side: int | None = None) -> FileSource:
    """The images of ``val/<class>/*``, which must be square and all of one size (``side`` if given)."""
    files = _class_files(val_folder)
    sizes = {}
    for path, _ in files:
        try:
            with Image.open(path) as image:
                sizes.setdefault(image.size, path)
        except OSError as exc:
            raise UserError(f"{path} is not a readable image ({exc})") from None
    wanted = (side, side) if side else next(iter(sizes))
    odd = [(size, path) for size, path in sizes.items() if size != wanted or size[0] != size[1]]
    if odd or wanted[0] != wanted[1]:
        size, path = odd[0] if odd else (wanted, files[0][0])
        raise UserError(
            f"{path} is {size[0]}x{size[1]}; the images of {val_folder} must be square and all "
            f"{wanted[0]}x{wanted[1]} (resize them first)"
        )
    return FileSource(tuple(p for p, _ in files), tuple(r for _, r in files), wanted[0])

