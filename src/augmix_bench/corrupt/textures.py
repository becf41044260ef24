"""The frost textures of the original scripts: the folder they are kept in, and reading them.

The five files the scripts use (``ImageNet-C/create_c/frost*.png|jpg`` of hendrycks/robustness) live
in ``frost_folder()``: ``$AUGMIX_CACHE/frost``, by default ``~/.cache/augmix-bench/frost``
(``$XDG_CACHE_HOME/augmix-bench/frost`` where that is set). ``texture_download`` fetches them there
from a published archive whose bytes are fixed; they may also be placed there by hand. Each file is
checked against its md5 before use, then decoded and resized once per process.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError

#: The textures the scripts choose from (``randint(5)``; frost6.jpg is never used), with the md5 of
#: the files of hendrycks/robustness (commit 8190fe329f5f072a06e3a2aea02bb5dda69aed9f,
#: ImageNet-C/create_c/; last changed by commit e0377d46, 2018).
FROST_FILES: tuple[tuple[str, str], ...] = (
    ("frost1.png", "6ead634ace1f366d77e87078b465863c"),
    ("frost2.png", "98f0d2b1d74a048d3bc9c7ecfd886939"),
    ("frost3.png", "b3ed8eb147824261888e730f916c0d8b"),
    ("frost4.jpg", "d70b9d6aa0b1fe7bd8133b113787e078"),
    ("frost5.jpg", "50984ae2c871b7df2c28f1d71ca460a0"),
)

#: The environment variable naming the cache folder (the textures go into its ``frost/``).
CACHE_ENV = "AUGMIX_CACHE"
#: The command that fetches the textures into ``frost_folder()``.
FETCH_COMMAND = "python -m augmix_bench.corrupt.texture_download"


@dataclass(frozen=True)
class TextureArchive:
    """A published zip archive holding the frost textures.

    Attributes:
        url: where to fetch it.
        sha256: the checksum the registry publishes for it.
        folder: the folder of the textures inside the archive.
    """

    url: str
    sha256: str
    folder: str


#: The wheel of ``imagecorruptions`` 1.1.2 on PyPI (uploaded 2020-12-03; PyPI never lets a file
#: name be uploaded twice), which ships the five textures byte for byte; sha256 as PyPI's index lists it.
TEXTURE_WHEEL = TextureArchive(
    url="https://files.pythonhosted.org/packages/3e/40/ff4a79ad7ab6463fe2fde7912b71084a6606e33676078a50b40a3377112b/"
    "imagecorruptions-1.1.2-py3-none-any.whl",
    sha256="d0e4bf529ba6fbb27d8aba1bde7c5db43bf2b969b2c767c11419e939e3e365b8",
    folder="imagecorruptions/frost",
)


def cache_folder() -> Path:
    """``$AUGMIX_CACHE``, else ``$XDG_CACHE_HOME/augmix-bench``, else ``~/.cache/augmix-bench``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "augmix-bench"


def frost_folder() -> Path:
    """The folder the frost textures are read from: ``cache_folder() / "frost"``."""
    return cache_folder() / "frost"


def missing_frost_files(folder: Path) -> list[str]:
    """The names of ``FROST_FILES`` that are not files in ``folder``."""
    return [name for name, _ in FROST_FILES if not (Path(folder) / name).is_file()]


def missing_textures_line(folder: Path, missing: list[str]) -> str:
    """The one-line error for textures absent from ``folder``: where, how to fetch them, from where."""
    return (
        f"the frost textures {', '.join(missing)} are missing from {folder}; fetch them with "
        f"`{FETCH_COMMAND}` (or augmix-corrupt ... dataset.download=true), a verified download of "
        f"{TEXTURE_WHEEL.url}, or copy the original files there by hand ({CACHE_ENV}=DIR reads DIR/frost)"
    )


def altered_texture_line(path: Path, found: str, expected: str) -> str:
    """The one-line error for a texture file whose md5 is not the original's."""
    return (
        f"{path} is not the original frost texture (md5 {found}, expected {expected}); "
        f"delete it and fetch the textures again with `{FETCH_COMMAND}`"
    )


def read_checked(folder: Path) -> list[bytes]:
    """The bytes of the five textures in ``folder``, each checked against its md5 (``UserError``s)."""
    folder = Path(folder)
    missing = missing_frost_files(folder)
    if missing:
        raise UserError(missing_textures_line(folder, missing))
    contents = []
    for name, md5 in FROST_FILES:
        data = (folder / name).read_bytes()
        found = hashlib.md5(data).hexdigest()
        if found != md5:
            raise UserError(altered_texture_line(folder / name, found, md5))
        contents.append(data)
    return contents


@lru_cache(maxsize=8)
def load_frost_textures(folder: Path, scale: float) -> tuple[np.ndarray, ...]:
    """The five textures of ``folder`` as RGB uint8 arrays, resized by ``scale`` (OpenCV bilinear)
    unless it is 1; cached per folder and scale."""
    textures = []
    for data in read_checked(folder):
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if scale != 1:
            bgr = cv2.resize(bgr, (0, 0), fx=scale, fy=scale)
        textures.append(np.ascontiguousarray(bgr[..., ::-1]))
    return tuple(textures)


def frost_textures(scale: float) -> tuple[np.ndarray, ...]:
    """The five textures of ``frost_folder()``, resized by ``scale`` (see ``load_frost_textures``)."""
    return load_frost_textures(frost_folder(), scale)
