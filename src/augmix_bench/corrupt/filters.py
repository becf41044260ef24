"""Filters shared by several corruptions, on batches of images (B, H, W[, C]).

``gaussian`` is scikit-image's ``filters.gaussian`` (SciPy's ``gaussian_filter`` on the spatial axes),
``clipped_zoom`` reproduces ``scipy.ndimage.zoom(order=1)`` on the kept centre bit for bit, and
``motion_blur`` is ImageMagick's one-sided motion blur kernel (shared/CORRUPTIONS.md section 0).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import ndimage


def to_unit(images: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """uint8 images as ``dtype`` in [0, 1] (``images / 255.``, then cast, as the scripts do)."""
    unit = images / 255.0
    return unit if dtype is np.float64 else unit.astype(dtype)


def to_uint8(values: np.ndarray) -> np.ndarray:
    """The scripts' final ``np.uint8`` cast: truncation of values already in [0, 255]."""
    return values.astype(np.uint8)


def gaussian(
    images: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0
) -> np.ndarray:
    """scikit-image ``gaussian`` of every image of a batch (B, H, W[, C]) over H and W only."""
    sigmas = [0.0, sigma, sigma] + [0.0] * (images.ndim - 3)
    return ndimage.gaussian_filter(images, sigmas, mode=mode, truncate=truncate)


@lru_cache(maxsize=256)
def _zoom_plan(side: int, factor: float) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Crop start, crop size, and for every kept output index the two taps and their weights."""
    crop = int(np.ceil(side / factor))
    top = (side - crop) // 2
    zoomed = int(round(crop * factor))
    trim = (zoomed - side) // 2
    ratio = np.divide(crop - 1, zoomed - 1) if zoomed > 1 else 1.0
    coords = np.arange(trim, trim + side, dtype=np.float64) * ratio
    first = np.floor(coords).astype(np.intp)
    frac = coords - first
    second = np.minimum(first + 1, crop - 1)
    return top, crop, first, second, 1.0 - frac, frac


def clipped_zoom(planes: np.ndarray, factor: float) -> np.ndarray:
    """The scripts' ``clipped_zoom`` of square images stored plane-first (S, S, ...); dtype kept.

    Crops the centre ``ceil(S / factor)`` square, zooms it by ``factor`` with linear interpolation
    (corner-aligned, as ``scipy.ndimage.zoom(order=1)``) and keeps the centre S x S, computing only
    the kept pixels, in SciPy's float64 operation order, so the result equals SciPy's bit for bit.
    Any trailing axes (images of a batch, channels) are zoomed alike; keeping them last makes the
    gathers contiguous.
    """
    side = planes.shape[0]
    top, crop, first, second, w_first, w_second = _zoom_plan(side, float(factor))
    extra = (None,) * (planes.ndim - 2)
    crop_planes = planes[top : top + crop, top : top + crop].astype(np.float64)
    upper = crop_planes[first] * w_first[(slice(None), None, *extra)]
    lower = crop_planes[second] * w_second[(slice(None), None, *extra)]
    col_w0 = w_first[(slice(None), *extra)]
    col_w1 = w_second[(slice(None), *extra)]
    out = upper[:, first] * col_w0
    out += upper[:, second] * col_w1
    out += lower[:, first] * col_w0
    out += lower[:, second] * col_w1
    return out.astype(planes.dtype)


def planes_first(images: np.ndarray) -> np.ndarray:
    """A batch (B, S, S[, C]) as one contiguous stack of planes (S, S, B[, C])."""
    return np.ascontiguousarray(np.moveaxis(images, 0, 2))


def batch_first(planes: np.ndarray) -> np.ndarray:
    """The inverse of ``planes_first``."""
    return np.ascontiguousarray(np.moveaxis(planes, 2, 0))


@lru_cache(maxsize=64)
def motion_weights(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick's motion blur weights: 2 * ceil(radius) + 1 one-sided Gaussian taps, summing to 1."""
    width = 2 * math.ceil(radius) + 1
    taps = np.exp(-(np.arange(width, dtype=np.float64) ** 2) / (2.0 * sigma * sigma))
    return taps / taps.sum()


def motion_offsets(width: int, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer (dx, dy) of the taps 0..width-1 along ``angle`` degrees: ceil(i cos - 0.5), ceil(i sin - 0.5)."""
    theta = math.radians(angle)
    steps = np.arange(width, dtype=np.float64)
    dx = np.ceil(steps * math.cos(theta) - 0.5).astype(np.intp)
    dy = np.ceil(steps * math.sin(theta) - 0.5).astype(np.intp)
    return dx, dy


def motion_blur(images: np.ndarray, radius: float, sigma: float, angles: np.ndarray) -> np.ndarray:
    """ImageMagick motion blur of uint8 images (B, H, W[, C]), image b along ``angles[b]`` degrees.

    Each output pixel is the weighted sum of the pixels at the taps' offsets (coordinates clamped
    to the image, i.e. read from an edge-replicated border), computed on 16-bit quanta, rounded, and
    reduced to 8 bits by ``q // 257`` as an 8-bit PNG written by ImageMagick 6.9 Q16 holds it.
    """
    weights = motion_weights(float(radius), float(sigma))
    height, width = images.shape[1:3]
    reach = len(weights) - 1
    padding = [(0, 0), (reach, reach), (reach, reach)] + [(0, 0)] * (images.ndim - 3)
    quanta = np.pad(images, padding, mode="edge") * 257.0
    out = np.empty(images.shape, dtype=np.float64)
    for index, angle in enumerate(angles):
        dx, dy = motion_offsets(len(weights), float(angle))
        acc = out[index]
        acc.fill(0.0)
        for weight, x, y in zip(weights, dx + reach, dy + reach):
            acc += weight * quanta[index, y : y + height, x : x + width]
    out = np.floor(np.minimum(out, 65535.0) + 0.5)
    return (out // 257).astype(np.uint8)
