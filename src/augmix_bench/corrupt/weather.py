"""Weather corruptions: snow, frost, fog and spatter (uint8 batches in and out)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .filters import (
    batch_first,
    clipped_zoom,
    gaussian,
    motion_blur,
    planes_first,
    to_uint8,
    to_unit,
)
from .parameters import CorruptionSetting
from .textures import frost_textures

#: Colours of the spatter corruption (R, G, B) / 255: pale turquoise water, brown mud.
WATER = np.array([175, 238, 238]) / 255.0
MUD = np.array([63, 42, 20]) / 255.0


def snow(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """A zoomed, thresholded noise layer motion-blurred at an angle in [-135, -45) degrees, added
    with its 180-degree rotation to the image brightened towards 1.5 x grey + 0.5."""
    mean, spread, zoom, threshold, radius, sigma, keep = setting.parameter("snow")
    shape = images.shape[:3]
    layer = np.stack([rng.normal(size=shape[1:], loc=mean, scale=spread) for rng in rngs])
    angles = np.array([rng.uniform(-135, -45) for rng in rngs])
    if zoom != 1:
        layer = batch_first(clipped_zoom(planes_first(layer), zoom))
    layer[layer < threshold] = 0
    flakes = to_uint8(np.clip(layer, 0, 1) * 255)
    flakes = (motion_blur(flakes, radius, sigma, angles) / 255.0)[..., None]
    unit = to_unit(images, np.float32)
    grey = np.stack([cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in unit])[..., None]
    unit = keep * unit + (1 - keep) * np.maximum(unit, grey * 1.5 + 0.5)
    return to_uint8(np.clip(unit + flakes + flakes[:, ::-1, ::-1], 0, 1) * 255)


def frost(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """a * image + b * a random crop of one of five frost textures, on the 0-255 scale; clip."""
    weight, frost_weight = setting.parameter("frost")
    textures = frost_textures(setting.frost_scale())
    side = images.shape[1]
    crops = []
    for rng in rngs:
        texture = textures[rng.integers(5)]
        top = rng.integers(0, texture.shape[0] - side)
        left = rng.integers(0, texture.shape[1] - side)
        crops.append(texture[top : top + side, left : left + side])
    return to_uint8(np.clip(weight * images + frost_weight * np.stack(crops), 0, 255))


def plasma_fractal(uniforms: np.ndarray, decay: float) -> np.ndarray:
    """Diamond-square plasma maps (B, N, N) in [0, 1] from uniforms in [0, 1) (B, N * N - 1).

    Toroidal; the noise of a level with wibble w is w * uniform(-w, w), w starting at 100 and divided
    by ``decay`` per level; per level the uniforms are used for the squares, then the two diamond sets.
    """
    batch = uniforms.shape[0]
    size = int(round((uniforms.shape[1] + 1) ** 0.5))
    grid = np.empty((batch, size, size), dtype=np.float64)
    grid[:, 0, 0] = 0
    step, wibble, used = size, 100.0, 0

    def noisy_mean(total: np.ndarray) -> np.ndarray:
        nonlocal used
        count = total.shape[1] * total.shape[2]
        noise = -wibble + 2 * wibble * uniforms[:, used : used + count].reshape(total.shape)
        used += count
        return total / 4 + wibble * noise

    while step >= 2:
        half = step // 2
        corners = grid[:, 0::step, 0::step]
        squares = corners + np.roll(corners, -1, axis=1)
        squares += np.roll(squares, -1, axis=2)
        grid[:, half::step, half::step] = noisy_mean(squares)
        centres = grid[:, half::step, half::step]
        left = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=2))
        grid[:, 0::step, half::step] = noisy_mean(left)
        top = (centres + np.roll(centres, 1, axis=2)) + (corners + np.roll(corners, -1, axis=1))
        grid[:, half::step, 0::step] = noisy_mean(top)
        step //= 2
        wibble /= decay
    grid -= grid.min(axis=(1, 2), keepdims=True)
    return grid / grid.max(axis=(1, 2), keepdims=True)


def fog(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Adds A x a plasma fractal (top-left crop) and rescales by max / (max + A); clip; x255."""
    amount, decay = setting.parameter("fog")
    size = setting.fog_map_size()
    side = images.shape[1]
    uniforms = np.stack([rng.random(size * size - 1) for rng in rngs])
    unit = to_unit(images)
    peak = unit.max(axis=(1, 2, 3), keepdims=True)
    unit += amount * plasma_fractal(uniforms, decay)[:, :side, :side, None]
    return to_uint8(np.clip(unit * peak / (peak + amount), 0, 1) * 255)


_SPATTER_KERNEL = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])


def _water_mask(liquid: np.ndarray) -> np.ndarray:
    """The water drops' float32 mask of one liquid layer (uint8): the layer times its edge pattern."""
    edges = 255 - cv2.Canny(liquid, 50, 150)
    distance = cv2.distanceTransform(edges, cv2.DIST_L2, 5)
    _, distance = cv2.threshold(distance, 20, 20, cv2.THRESH_TRUNC)
    distance = cv2.blur(distance, (3, 3)).astype(np.uint8)
    distance = cv2.equalizeHist(distance)
    distance = cv2.filter2D(distance, cv2.CV_8U, _SPATTER_KERNEL)
    distance = cv2.blur(distance, (3, 3)).astype(np.float32)
    mask = liquid * distance
    peak = mask.max()
    return mask / peak if peak > 0 else mask


def spatter(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """A blurred, thresholded noise layer drawn as pale turquoise water drops or brown mud."""
    mean, spread, sigma, threshold, intensity, mud = setting.parameter("spatter")
    unit = to_unit(images, np.float32)
    liquid = np.stack([rng.normal(size=images.shape[1:3], loc=mean, scale=spread) for rng in rngs])
    liquid = gaussian(liquid, sigma)
    liquid[liquid < threshold] = 0
    if mud == 0:
        layers = to_uint8(liquid * 255)
        masks = np.stack([_water_mask(layer) for layer in layers])[..., None] * intensity
        return to_uint8(np.clip(unit + masks * WATER.astype(np.float32), 0, 1) * 255)
    wet = gaussian(np.where(liquid > threshold, 1, 0).astype(np.float32), intensity)
    wet[wet < 0.8] = 0
    wet = wet[..., None]
    return to_uint8(np.clip(unit * (1 - wet) + MUD * wet, 0, 1) * 255)
