"""Output layouts of a generated -C set, written atomically and resumable.

* ``NpyLayout``: CIFAR-10-C style, ``<corruption>.npy`` uint8 (5n, S, S, 3) + ``labels.npy``.
  Chunks go to ``.augmix-corrupt/<corruption>/<severity>_<start>.npy`` first; once all chunks of a
  corruption exist they are joined into the final file and removed.
* ``ImageLayout``: ImageNet-C style, ``<corruption>/<severity>/<class>/<file>`` (JPEG quality 85,
  optimized, as the ImageNet-C script saved them; or lossless PNG). A chunk is finished when its
  marker ``.augmix-corrupt/<corruption>/<severity>_<start>.done`` exists.

Every file is written under a temporary name and renamed, so a killed run leaves only whole files;
a rerun keeps the finished chunks and files (recorded with their md5 in ``augmix_corrupt.json``).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import __version__
from ..data.identity import CORRUPT_MANIFEST
from ..data.names import SEVERITIES
from ..errors import UserError
from ..files import atomic_write_bytes, atomic_write_json

#: The hidden folder of unfinished chunks inside an output folder.
WORK_FOLDER = ".augmix-corrupt"
#: The record of how a folder was generated and which corruptions are complete (the data identity reads it).
MANIFEST = CORRUPT_MANIFEST


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` in the ``.npy`` format."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def file_md5(path: Path) -> str:
    """The md5 of a file, read in blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """``augmix_corrupt.json`` of an output folder: the generation settings and the finished files.

    A folder that holds files but no manifest, or a manifest with other settings, is refused, so a
    run never writes over a released set or mixes two seeds.
    """

    def __init__(self, folder: Path, settings: dict[str, Any]) -> None:
        self.folder = folder
        self.path = folder / MANIFEST
        self.settings = settings
        self.finished: dict[str, str] = {}
        if self.path.is_file():
            recorded = json.loads(self.path.read_text())
            for key, value in settings.items():
                if recorded.get("settings", {}).get(key) != value:
                    raise UserError(
                        f"{folder} holds a set generated with {key}={recorded.get('settings', {}).get(key)!r}, "
                        f"not {value!r}; choose another output= or remove the folder"
                    )
            self.finished = dict(recorded.get("finished", {}))
        elif folder.is_dir() and any(p.name != WORK_FOLDER for p in folder.iterdir()):
            raise UserError(
                f"{folder} already holds files that augmix-corrupt did not write; choose another output="
            )

    def save(self) -> None:
        """Write the manifest atomically, with the tool and version that generated the folder."""
        generator = {"tool": "augmix-corrupt", "version": __version__}
        atomic_write_json(self.path, {"settings": self.settings, "finished": self.finished, "generator": generator})


@dataclass(frozen=True)
class NpyLayout:
    """``<corruption>.npy`` + ``labels.npy`` in ``folder`` for ``count`` images of ``side`` px."""

    folder: Path
    count: int
    side: int

    def chunk_path(self, corruption: str, severity: int, start: int) -> Path:
        """Where a chunk waits before its corruption's file is assembled."""
        return self.folder / WORK_FOLDER / corruption / f"{severity}_{start}.npy"

    def chunk_done(self, corruption: str, severity: int, start: int, stop: int) -> bool:
        """Whether a whole chunk is on disk (a readable array of the right shape)."""
        path = self.chunk_path(corruption, severity, start)
        if not path.is_file():
            return False
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return False
        return array.dtype == np.uint8 and array.shape == (stop - start, self.side, self.side, 3)

    def write_chunk(self, corruption: str, severity: int, start: int, images: np.ndarray) -> None:
        """Store the corrupted images ``start``.. of one severity."""
        atomic_write_bytes(self.chunk_path(corruption, severity, start), npy_bytes(images))

    def write_labels(self, labels: np.ndarray) -> None:
        """``labels.npy``: the labels tiled once per severity, uint8 as in the release when they fit."""
        dtype = np.uint8 if labels.max(initial=0) < 256 else np.int64
        atomic_write_bytes(self.folder / "labels.npy", npy_bytes(np.tile(labels, len(SEVERITIES)).astype(dtype)))

    def finished(self, corruption: str, manifest: Manifest) -> bool:
        """Whether ``<corruption>.npy`` exists with the md5 recorded when it was written."""
        path = self.folder / f"{corruption}.npy"
        md5 = manifest.finished.get(corruption)
        return md5 is not None and path.is_file() and file_md5(path) == md5

    def finish(self, corruption: str, chunks: list[tuple[int, int, int]], manifest: Manifest) -> None:
        """Join the chunks (severity, start, stop) into ``<corruption>.npy`` and record it."""
        array = np.empty((len(SEVERITIES) * self.count, self.side, self.side, 3), dtype=np.uint8)
        for severity, start, stop in chunks:
            offset = (severity - 1) * self.count
            array[offset + start : offset + stop] = np.load(self.chunk_path(corruption, severity, start))
        data = npy_bytes(array)
        atomic_write_bytes(self.folder / f"{corruption}.npy", data)
        manifest.finished[corruption] = hashlib.md5(data).hexdigest()
        manifest.save()
        shutil.rmtree(self.folder / WORK_FOLDER / corruption, ignore_errors=True)


@dataclass(frozen=True)
class ImageLayout:
    """``<corruption>/<severity>/<relative path>`` image files in ``folder``.

    ``image_format`` is ``JPEG`` (quality 85, optimized, the file name kept; ``.JPEG`` replaces
    another suffix) or ``PNG`` (lossless, the suffix replaced by ``.png``).
    """

    folder: Path
    relative: tuple[str, ...]
    image_format: str

    def image_path(self, corruption: str, severity: int, index: int) -> Path:
        """The output file of image ``index``."""
        name = Path(self.relative[index])
        if self.image_format == "PNG":
            name = name.with_suffix(".png")
        elif name.suffix.lower() not in (".jpeg", ".jpg"):
            name = name.with_suffix(".JPEG")
        return self.folder / corruption / str(severity) / name

    def _marker(self, corruption: str, severity: int, start: int) -> Path:
        return self.folder / WORK_FOLDER / corruption / f"{severity}_{start}.done"

    def chunk_done(self, corruption: str, severity: int, start: int, stop: int) -> bool:
        """Whether the chunk's marker exists (it is written after all of the chunk's files)."""
        return self._marker(corruption, severity, start).is_file()

    def write_chunk(self, corruption: str, severity: int, start: int, images: np.ndarray) -> None:
        """Encode and write every image of the chunk, then its marker."""
        for offset, image in enumerate(images):
            buffer = io.BytesIO()
            if self.image_format == "JPEG":
                Image.fromarray(image).save(buffer, "JPEG", quality=85, optimize=True)
            else:
                Image.fromarray(image).save(buffer, "PNG")
            atomic_write_bytes(self.image_path(corruption, severity, start + offset), buffer.getvalue())
        atomic_write_bytes(self._marker(corruption, severity, start), b"")

    def write_labels(self, labels: np.ndarray) -> None:
        """Nothing: the class folders are the labels."""

    def finished(self, corruption: str, manifest: Manifest) -> bool:
        """Whether the corruption was recorded complete and its first and last files exist."""
        if corruption not in manifest.finished:
            return False
        severities = manifest.settings["severities"]
        return all(
            self.image_path(corruption, s, i).is_file() for s in severities for i in (0, len(self.relative) - 1)
        )

    def finish(self, corruption: str, chunks: list[tuple[int, int, int]], manifest: Manifest) -> None:
        """Record the corruption complete and drop its markers."""
        manifest.finished[corruption] = "complete"
        manifest.save()
        shutil.rmtree(self.folder / WORK_FOLDER / corruption, ignore_errors=True)
