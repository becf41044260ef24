"""One random generator per (seed, corruption, severity, image index).

The draws of an image depend on nothing else, so the output is the same whatever the number of
workers or the order of the work, and another seed gives other draws.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np


def corruption_key(name: str) -> int:
    """A stable 32-bit number for a corruption name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def image_generators(seed: int, corruption: str, severity: int, indices: Iterable[int]) -> list[np.random.Generator]:
    """A ``np.random.Generator`` (PCG64) per image index, from ``SeedSequence([seed, key, severity, index])``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    key = corruption_key(corruption)
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, key, severity, int(i)]))) for i in indices]
