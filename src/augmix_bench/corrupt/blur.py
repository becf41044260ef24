"""Blur corruptions: Gaussian, glass, defocus, motion and zoom blur (uint8 batches in and out)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from .filters import (
    _zoom_plan,
    batch_first,
    clipped_zoom,
    gaussian,
    planes_first,
    to_uint8,
    to_unit,
)
from .filters import motion_blur as im_motion_blur
from .parameters import CorruptionSetting


def gaussian_blur(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """scikit-image Gaussian filter (edge replicate, truncate 4) over the image plane; clip; x255."""
    sigma = setting.parameter("gaussian_blur")
    return to_uint8(np.clip(gaussian(to_unit(images), sigma), 0, 1) * 255)


def glass_sources(side: int, delta: int, draws: np.ndarray) -> np.ndarray:
    """Where every pixel's value comes from after one pass of the scripts' pixel-"swap" loop.

    The loop visits rows ``side - delta`` down to ``delta + 1`` and, inside, columns the same way;
    at each position it draws (dx, dy) in [-delta, delta - 1] and copies the pixel at (h + dy, w + dx)
    into (h, w) (the source keeps its value: the tuple assignment of two views is not a swap).
    A copy reads a pixel already visited in this pass (it then holds its new value) or not (its value
    from before the pass). ``draws`` (B, P, 2) holds (dx, dy) per visited position in visiting order.
    Returns, per image, the flat index (B, side * side) of the pixel before the pass whose value each
    pixel ends with: the chains of reads of visited pixels are followed by pointer doubling.
    """
    batch = draws.shape[0]
    visited = np.arange(side - delta, delta, -1)
    rows = np.repeat(visited, len(visited))
    cols = np.tile(visited, len(visited))
    positions = rows * side + cols
    order = np.full(side * side, np.iinfo(np.intp).max, dtype=np.intp)
    order[positions] = np.arange(len(positions))
    sources = (rows + draws[..., 1]) * side + (cols + draws[..., 0])
    pointer = np.tile(np.arange(side * side, dtype=np.intp), (batch, 1))
    pointer[:, positions] = sources
    final = np.ones((batch, side * side), dtype=bool)
    final[:, positions] = order[sources] >= np.arange(len(positions))
    while not final.all():
        following = np.take_along_axis(pointer, pointer, axis=1)
        final_next = np.take_along_axis(final, pointer, axis=1)
        pointer = np.where(final, pointer, following)
        final = final | final_next
    return pointer


def glass_blur(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Gaussian blur, ``iters`` passes of local pixel copies at random offsets, Gaussian blur again."""
    sigma, delta, iterations = setting.parameter("glass_blur")
    batch, side = images.shape[:2]
    pixels = to_uint8(gaussian(to_unit(images), sigma) * 255).reshape(batch, side * side, 3)
    count = (side - 2 * delta) ** 2
    draws = np.stack([rng.integers(-delta, delta, size=(iterations, count, 2)) for rng in rngs])
    for it in range(iterations):
        sources = glass_sources(side, delta, draws[:, it])
        pixels = np.take_along_axis(pixels, sources[..., None], axis=1)
    pixels = pixels.reshape(images.shape)
    return to_uint8(np.clip(gaussian(pixels / 255.0, sigma), 0, 1) * 255)


@lru_cache(maxsize=32)
def disk(radius: float, alias_blur: float) -> np.ndarray:
    """The defocus kernel: a float32 disk of ``radius`` (17 x 17 grid up to radius 8), normalised,
    then ``cv2.GaussianBlur`` (3 x 3 window, 5 x 5 above radius 8) with sigma ``alias_blur``."""
    if radius <= 8:
        grid, window = np.arange(-8, 9), (3, 3)
    else:
        grid, window = np.arange(-radius, radius + 1), (5, 5)
    xs, ys = np.meshgrid(grid, grid)
    kernel = np.array(xs**2 + ys**2 <= radius**2, dtype=np.float32)
    kernel /= np.sum(kernel)
    return cv2.GaussianBlur(kernel, ksize=window, sigmaX=alias_blur)


def defocus_blur(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """Every channel correlated with ``disk(r, a)`` by ``cv2.filter2D`` (reflect-101); clip; x255."""
    kernel = disk(*setting.parameter("defocus_blur"))
    unit = to_unit(images)
    out = np.empty_like(unit)
    for b in range(len(unit)):
        for channel in range(3):
            out[b, :, :, channel] = cv2.filter2D(np.ascontiguousarray(unit[b, :, :, channel]), -1, kernel)
    return to_uint8(np.clip(out, 0, 1) * 255)


def motion_blur(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """ImageMagick motion blur at a uniform random angle in [-45, 45) degrees."""
    radius, sigma = setting.parameter("motion_blur")
    angles = np.array([rng.uniform(-45, 45) for rng in rngs])
    return im_motion_blur(images, radius, sigma, angles)


#: Zoom blur works on groups of images of about this many pixels, so its temporaries stay in cache.
ZOOM_GROUP_PIXELS = 128 * 32 * 32
#: Largest side for which zoom blur goes through one dense linear operator (a 1024 x 1024 matrix at 32 px).
ZOOM_OPERATOR_MAX_SIDE = 32
#: Values of the operator's result this close to an integer are recomputed in the original order.
ZOOM_MARGIN = 1 / 256


def zoom_blur(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """The mean of the image and its centre zooms by every factor of the list (float32); clip; x255.

    Up to 32 px the mean is one float32 matrix product per image plane, and every output whose
    value lies within ``ZOOM_MARGIN`` grey levels of an integer (where the operator's rounding and
    the scripts' float32 rounding, together below 0.0025, could change the truncation) is
    recomputed in the scripts' float32 / SciPy order, so the result is the original's bit for bit;
    larger images take that exact order throughout.
    """
    factors = tuple(float(f) for f in setting.zoom_factors())
    side = images.shape[1]
    if side > ZOOM_OPERATOR_MAX_SIDE:
        return _zoom_blur_exact(images, factors)
    unit = to_unit(images, np.float32)
    planes = np.moveaxis(unit, 3, 1).reshape(-1, side * side)
    approx = np.clip(planes @ _zoom_operator(side, factors).T, 0, 1) * 255
    out = np.floor(approx)
    near = np.abs(approx - np.rint(approx)) < ZOOM_MARGIN
    if near.any():
        plane, pixel = np.nonzero(near)
        out[plane, pixel] = _zoom_values(unit, factors, plane // 3, pixel // side, pixel % side, plane % 3)
    return np.ascontiguousarray(np.moveaxis(out.reshape(-1, 3, side, side), 1, 3)).astype(np.uint8)


@lru_cache(maxsize=16)
def _zoom_operator(side: int, factors: tuple[float, ...]) -> np.ndarray:
    """The zoom blur of a flattened plane as a matrix: (I + sum of the clipped zooms) / (count + 1)."""
    total = np.eye(side * side)
    rows = np.arange(side)
    for factor in factors:
        top, _, first, second, w_first, w_second = _zoom_plan(side, factor)
        axis = np.zeros((side, side))
        np.add.at(axis, (rows, top + first), w_first)
        np.add.at(axis, (rows, top + second), w_second)
        total += np.kron(axis, axis)
    return (total / (len(factors) + 1)).astype(np.float32)


def _zoom_values(unit: np.ndarray, factors: tuple[float, ...], b: np.ndarray, i: np.ndarray, j: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Zoom blur outputs at (image, row, col, channel) in the scripts' order: each zoom in float64 as
    SciPy sums it, cast to float32, accumulated in float32; then mean, clip, x255."""
    side = unit.shape[1]
    flat = unit.ravel()
    base = b * (side * side * 3) + c
    own = flat[base + (i * side + j) * 3]
    acc = np.zeros(len(b), dtype=np.float32)
    for factor in factors:
        if factor == 1:
            acc += own
            continue
        top, _, first, second, w_first, w_second = _zoom_plan(side, factor)
        r0, r1 = (top + first[i]) * (side * 3), (top + second[i]) * (side * 3)
        c0, c1 = (top + first[j]) * 3 + base, (top + second[j]) * 3 + base
        wr0, wr1, wc0, wc1 = w_first[i], w_second[i], w_first[j], w_second[j]
        value = (flat[r0 + c0] * wr0) * wc0
        value += (flat[r0 + c1] * wr0) * wc1
        value += (flat[r1 + c0] * wr1) * wc0
        value += (flat[r1 + c1] * wr1) * wc1
        acc += value.astype(np.float32)
    mean = (own + acc) / np.float32(len(factors) + 1)
    return np.clip(mean, 0, 1) * np.float32(255)


def _zoom_blur_exact(images: np.ndarray, factors: tuple[float, ...]) -> np.ndarray:
    out = np.empty_like(images)
    group = max(1, ZOOM_GROUP_PIXELS // (images.shape[1] * images.shape[2]))
    for start in range(0, len(images), group):
        unit = planes_first(to_unit(images[start : start + group], np.float32))
        acc = np.zeros_like(unit)
        for factor in factors:
            acc += unit if factor == 1 else clipped_zoom(unit, factor)
        mean = (unit + acc) / (len(factors) + 1)
        out[start : start + group] = batch_first(to_uint8(np.clip(mean, 0, 1) * 255))
    return out
