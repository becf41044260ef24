"""Digital corruptions: brightness, contrast, saturate, elastic transform, pixelate, JPEG
(uint8 batches in and out)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color

from .filters import gaussian, to_uint8, to_unit
from .parameters import CorruptionSetting


def brightness(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """HSV round trip (scikit-image) with V <- clip(V + delta); clip; x255."""
    delta = setting.parameter("brightness")
    hsv = color.rgb2hsv(to_unit(images))
    hsv[..., 2] = np.clip(hsv[..., 2] + delta, 0, 1)
    return to_uint8(np.clip(color.hsv2rgb(hsv), 0, 1) * 255)


def saturate(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """HSV round trip (scikit-image) with S <- clip(S * a + b); clip; x255 (grey turns red if b > 0)."""
    scale, shift = setting.parameter("saturate")
    hsv = color.rgb2hsv(to_unit(images))
    hsv[..., 1] = np.clip(hsv[..., 1] * scale + shift, 0, 1)
    return to_uint8(np.clip(color.hsv2rgb(hsv), 0, 1) * 255)


def contrast(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator] | None = None) -> np.ndarray:
    """(f - per-channel mean) * c + mean; clip; x255."""
    factor = setting.parameter("contrast")
    unit = to_unit(images)
    means = np.stack([np.mean(image, axis=(0, 1), keepdims=True) for image in unit])
    return to_uint8(np.clip((unit - means) * factor + means, 0, 1) * 255)


def _elastic_one(image: np.ndarray, alpha: float, sigma: float, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    side = image.shape[0]
    centre = np.float32(side) // 2
    third = side // 3
    before = np.float32([[centre + third, centre + third], [centre + third, centre - third], [centre - third, centre - third]])
    after = before + rng.uniform(-amplitude, amplitude, size=before.shape).astype(np.float32)
    warped = cv2.warpAffine(
        image, cv2.getAffineTransform(before, after), (side, side), borderMode=cv2.BORDER_REFLECT_101
    )
    fields = rng.uniform(-1, 1, size=(2, side, side))
    dx, dy = (gaussian(fields, sigma, mode="reflect", truncate=3) * alpha).astype(np.float32)
    rows, cols, channels = np.meshgrid(np.arange(side), np.arange(side), np.arange(3), indexing="ij")
    coords = (rows + dy[..., None], cols + dx[..., None], channels)
    return ndimage.map_coordinates(warped, coords, order=1, mode="reflect")


def elastic_transform(images: np.ndarray, setting: CorruptionSetting, rngs: Sequence[np.random.Generator]) -> np.ndarray:
    """A random affine warp of the three reference points, then a smooth random displacement field."""
    alpha, sigma, amplitude = setting.elastic()
    unit = to_unit(images, np.float32)
    out = np.stack([_elastic_one(image, alpha, sigma, amplitude, rng) for image, rng in zip(unit, rngs)])
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
