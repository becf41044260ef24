"""Noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise.

Every function takes uint8 images (B, S, S, 3), a ``CorruptionSetting`` and one generator per
image, and returns uint8 images, as the original scripts' functions followed by ``np.uint8``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .filters import to_uint8, to_unit
from .parameters import CorruptionSetting


def _per_image(rngs: Sequence[np.random.Generator], draw) -> np.ndarray:
    return np.stack([draw(rng) for rng in rngs])


def gaussian_noise(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """f + N(0, sigma) per pixel and channel; clip; x255."""
    sigma = setting.parameter("gaussian_noise")
    noise = _per_image(rngs, lambda rng: rng.normal(size=images.shape[1:], scale=sigma))
    return to_uint8(np.clip(to_unit(images) + noise, 0, 1) * 255)


def shot_noise(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """Poisson(f * lambda) / lambda; clip; x255."""
    lam = setting.parameter("shot_noise")
    unit = to_unit(images)
    counts = np.stack([rng.poisson(image * lam) for rng, image in zip(rngs, unit)])
    return to_uint8(np.clip(counts / lam, 0, 1) * 255)


def impulse_noise(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """scikit-image's salt and pepper noise: each element flipped with probability ``amount``,
    to 1 or 0 with even odds (independently per channel); clip; x255."""
    amount = setting.parameter("impulse_noise")
    shape = images.shape[1:]
    flipped = _per_image(rngs, lambda rng: rng.random(shape) < amount)
    salted = _per_image(rngs, lambda rng: rng.random(shape) < 0.5)
    out = to_unit(images)
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return to_uint8(np.clip(out, 0, 1) * 255)


def speckle_noise(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """f + f * N(0, sigma) per pixel and channel; clip; x255."""
    sigma = setting.parameter("speckle_noise")
    unit = to_unit(images)
    noise = _per_image(rngs, lambda rng: rng.normal(size=images.shape[1:], scale=sigma))
    return to_uint8(np.clip(unit + unit * noise, 0, 1) * 255)
