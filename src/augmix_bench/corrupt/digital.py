"""Digital corruptions: brightness, contrast, saturate, elastic transform, pixelate, JPEG
(uint8 batches in and out)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from .filters import gaussian, to_uint8, to_unit
from .parameters import CorruptionSetting


def rgb_to_hsv(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-image's ``rgb2hsv`` of float RGB (..., 3), with the same floating-point operations.

    The hue formula of the largest channel is taken, blue over green over red on ties; hue and
    saturation are 0 for grey pixels.
    """
    red, green, blue = unit[..., 0], unit[..., 1], unit[..., 2]
    value = np.maximum(np.maximum(red, green), blue)
    delta = value - np.minimum(np.minimum(red, green), blue)
    grey = delta == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        saturation = np.where(grey, 0.0, delta / value)
        hue = np.where(
            blue == value,
            4.0 + (red - green) / delta,
            np.where(green == value, 2.0 + (blue - red) / delta, (green - blue) / delta),
        )
    hue = np.where(grey, 0.0, (hue / 6.0) % 1.0)
    return hue, saturation, value


#: For each hue sector 0-5, which of (v, p, q, t) becomes red, green and blue (scikit-image's table).
_SECTOR_CHANNELS = np.array([[0, 3, 1], [2, 0, 1], [1, 0, 3], [1, 2, 0], [3, 1, 0], [0, 1, 2]])


def hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray, value: np.ndarray) -> np.ndarray:
    """scikit-image's ``hsv2rgb`` (same floating-point operations), returning (..., 3)."""
    sector = np.floor(hue * 6)
    frac = hue * 6 - sector
    p = value * (1 - saturation)
    q = value * (1 - frac * saturation)
    t = value * (1 - (1 - frac) * saturation)
    candidates = np.stack((value, p, q, t), axis=-1)
    channels = _SECTOR_CHANNELS[sector.astype(np.uint8) % 6]
    return np.take_along_axis(candidates, channels, axis=-1)


def brightness(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """HSV round trip (as scikit-image) with V <- clip(V + delta); clip; x255."""
    delta = setting.parameter("brightness")
    hue, saturation, value = rgb_to_hsv(to_unit(images))
    return to_uint8(np.clip(hsv_to_rgb(hue, saturation, np.clip(value + delta, 0, 1)), 0, 1) * 255)


def saturate(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """HSV round trip (as scikit-image) with S <- clip(S * a + b); clip; x255 (grey turns red if b > 0)."""
    scale, shift = setting.parameter("saturate")
    hue, saturation, value = rgb_to_hsv(to_unit(images))
    return to_uint8(np.clip(hsv_to_rgb(hue, np.clip(saturation * scale + shift, 0, 1), value), 0, 1) * 255)


def contrast(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """(f - per-channel mean) * c + mean; clip; x255."""
    factor = setting.parameter("contrast")
    unit = to_unit(images)
    means = np.stack([np.mean(image, axis=(0, 1), keepdims=True) for image in unit])
    return to_uint8(np.clip((unit - means) * factor + means, 0, 1) * 255)


def _affine_warp(image: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """The random affine step: three reference points moved by up to ``amplitude`` (float32 draws)."""
    side = image.shape[0]
    centre = np.float32(side) // 2
    third = side // 3
    before = np.float32([[centre + third, centre + third], [centre + third, centre - third], [centre - third, centre - third]])
    after = before + rng.uniform(-amplitude, amplitude, size=before.shape).astype(np.float32)
    return cv2.warpAffine(image, cv2.getAffineTransform(before, after), (side, side), borderMode=cv2.BORDER_REFLECT_101)


def elastic_transform(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """A random affine warp of three reference points, then a smooth random displacement field
    (alpha x Gaussian-filtered uniform noise, reflect, truncate 3) sampled bilinearly (reflect)."""
    alpha, sigma, amplitude = setting.elastic()
    side = images.shape[1]
    unit = to_unit(images, np.float32)
    warped, fields = [], []
    for image, rng in zip(unit, rngs):
        warped.append(_affine_warp(image, amplitude, rng))
        fields.append(rng.uniform(-1, 1, size=(2, side, side)))
    shifts = (gaussian(np.concatenate(fields), sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    out = np.empty_like(unit)
    for index, image in enumerate(warped):
        coords = np.stack((rows + shifts[2 * index + 1], cols + shifts[2 * index]))
        for channel in range(3):
            out[index, :, :, channel] = ndimage.map_coordinates(image[:, :, channel], coords, order=1, mode="reflect")
    return to_uint8(np.clip(out, 0, 1) * 255)


def pixelate(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """Pillow BOX resize down to int(S * c) and back up."""
    side = images.shape[1]
    small = int(side * setting.parameter("pixelate"))
    return np.stack(
        [
            np.asarray(Image.fromarray(image).resize((small, small), Image.BOX).resize((side, side), Image.BOX))
            for image in images
        ]
    )


def jpeg_compression(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """Pillow JPEG encode at quality q (baseline, 4:2:0) and decode."""
    quality = setting.parameter("jpeg_compression")
    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        out.append(np.asarray(Image.open(buffer).convert("RGB")))
    return np.stack(out)
