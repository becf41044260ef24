"""Corruption name -> function, for the 15 benchmark and 4 extra corruptions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..schema import ALL_CORRUPTIONS
from . import blur, digital, noise, weather
from .parameters import CorruptionSetting

#: A corruption: uint8 images (B, S, S, 3), setting, one generator per image -> uint8 images.
Corruption = Callable[[np.ndarray, CorruptionSetting, Sequence[np.random.Generator]], np.ndarray]

#: The corruptions that draw no random numbers.
DETERMINISTIC: frozenset[str] = frozenset(
    {"brightness", "contrast", "saturate", "pixelate", "jpeg_compression", "defocus_blur", "zoom_blur", "gaussian_blur"}
)

_MODULES = (noise, blur, weather, digital)

FUNCTIONS: dict[str, Corruption] = {
    name: next(getattr(m, name) for m in _MODULES if hasattr(m, name)) for name in ALL_CORRUPTIONS
}


def check_corruptions(names: Sequence[str]) -> list[str]:
    """``names`` as a list, or a ``ValueError`` naming the first unknown one and the accepted ones."""
    for name in names:
        if name not in FUNCTIONS:
            raise ValueError(f"unknown corruption {name!r}; choose from: {', '.join(ALL_CORRUPTIONS)}")
    return list(names)


def corrupt_images(
    images: np.ndarray, name: str, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None
) -> np.ndarray:
    """Apply corruption ``name`` to uint8 images (B, S, S, 3) (``rngs``: one generator per image)."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"expected uint8 images of shape (B, S, S, 3), found {images.dtype} {images.shape}")
    return FUNCTIONS[check_corruptions([name])[0]](images, setting, rngs)
