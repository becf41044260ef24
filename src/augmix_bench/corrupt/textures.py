"""The frost textures of the original scripts, read from the ``imagecorruptions-imaug`` wheel.

The wheel (the ``[corrupt]`` extra) ships the six files of ``hendrycks/robustness`` byte for byte;
each file is checked against its md5 before use, then decoded and resized once per process.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError

#: The textures the scripts choose from (``randint(5)``; frost6.jpg is never used), with their md5.
FROST_FILES: tuple[tuple[str, str], ...] = (
    ("frost1.png", "6ead634ace1f366d77e87078b465863c"),
    ("frost2.png", "98f0d2b1d74a048d3bc9c7ecfd886939"),
    ("frost3.png", "b3ed8eb147824261888e730f916c0d8b"),
    ("frost4.jpg", "d70b9d6aa0b1fe7bd8133b113787e078"),
    ("frost5.jpg", "50984ae2c871b7df2c28f1d71ca460a0"),
)

#: The distribution that provides the texture files, and its import name.
TEXTURE_PACKAGE = ("imagecorruptions-imaug", "imagecorruptions")


def frost_folder() -> Path:
    """The folder of the installed frost textures; a ``UserError`` if the extra is missing."""
    spec = importlib.util.find_spec(TEXTURE_PACKAGE[1])
    folder = Path(spec.origin).parent / "frost" if spec is not None and spec.origin else None
    if folder is None or not folder.is_dir():
        raise UserError(
            f"the frost textures come from the {TEXTURE_PACKAGE[0]} package, which is not installed; "
            'install the extra: pip install "augmix-bench[corrupt]"'
        )
    return folder


@lru_cache(maxsize=8)
def frost_textures(scale: float) -> tuple[np.ndarray, ...]:
    """The five textures as RGB uint8 arrays, resized by ``scale`` (bilinear) unless it is 1."""
    folder = frost_folder()
    textures = []
    for name, md5 in FROST_FILES:
        data = (folder / name).read_bytes()
        if hashlib.md5(data).hexdigest() != md5:
            raise UserError(f"{folder / name} is not the original frost texture (md5 mismatch); reinstall {TEXTURE_PACKAGE[0]}")
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if scale != 1:
            bgr = cv2.resize(bgr, (0, 0), fx=scale, fy=scale)
        textures.append(np.ascontiguousarray(bgr[..., ::-1]))
    return tuple(textures)
