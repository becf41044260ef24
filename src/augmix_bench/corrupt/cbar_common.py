"""Small helpers shared by the -C-bar corruptions (Mintun et al., 2021).

The reference code (facebookresearch/augmentation-corruption, imagenet_c_bar/corrupt.py) works
one pixel at a time on NumPy scalars; the -C-bar modules compute the same formulas on whole arrays.
"""

from __future__ import annotations

import math

import numpy as np

#: 2 pi, as the reference writes ``2 * np.pi``.
TWO_PI = 2 * np.pi

_LIBM_POW = np.frompyfunc(math.pow, 2, 1)


def scaled(parameter: float, maximum: float) -> float:
    """The reference's ``float_parameter``: ``parameter * maximum / 10`` (the parameter is on a 0-10 scale)."""
    return float(parameter) * maximum / 10.0


def check_image(image: np.ndarray) -> int:
    """The side of a square uint8 (S, S, 3) image, or a TypeError / ValueError saying what is wrong."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 NumPy image, got {getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1] or image.shape[0] < 1:
        raise ValueError(f"expected a square RGB image of shape (S, S, 3), got shape {image.shape}")
    return int(image.shape[0])


def pixel_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (int64, both (side, side)): the reference's ``y`` and ``x`` loops."""
    rows, cols = np.indices((side, side), dtype=np.int64)
    return rows, cols


def libm_pow(base: np.ndarray, exponent: float | np.ndarray) -> np.ndarray:
    """``base ** exponent`` element by element with the C library's ``pow``, as a NumPy float64 scalar
    computes it (NumPy's vectorised power can differ in the last bit); float64 array out."""
    return np.asarray(_LIBM_POW(np.asarray(base, dtype=np.float64), exponent), dtype=np.float64)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """``np.clip(values, 0, 255).astype(np.uint8)``: the reference's last step (truncation)."""
    return np.clip(values, 0, 255).astype(np.uint8)
