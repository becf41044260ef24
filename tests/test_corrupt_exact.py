"""The deterministic corruptions (and the deterministic parts of the random ones) equal the original
functions (tests/original_corruptions.py) pixel for pixel."""

from __future__ import annotations

import numpy as np
import pytest

import original_corruptions as original
from augmix_bench.corrupt import CorruptionSetting, corrupt_images
from augmix_bench.corrupt.blur import glass_sources
from augmix_bench.corrupt.filters import batch_first, clipped_zoom, motion_blur, planes_first
from augmix_bench.corrupt.weather import plasma_fractal

DETERMINISTIC = ("brightness", "contrast", "saturate", "pixelate", "jpeg_compression", "defocus_blur", "zoom_blur", "gaussian_blur")


def sample_images(count: int, side: int, seed: int = 0) -> np.ndarray:
    """Noise, smooth gradients, and flat grey / black / white / pure-colour patches (HSV edge cases)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, side, side, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, side)
    images[1] = np.stack([ramp[None, :].repeat(side, 0), ramp[:, None].repeat(side, 1), 255 - ramp[None, :].repeat(side, 0)], -1)
    images[2] = 0
    images[2, : side // 2] = 255
    images[2, :, : side // 3] = 128
    images[2, side // 2 :, side // 2 :] = (255, 0, 0)
    if count > 3:
        images[3] = rng.integers(0, 256, size=(1, 1, 3))
    if count > 4:
        levels = np.arange(256, dtype=np.uint8)
        images[4].reshape(-1, 3)[: side * side] = np.resize(np.stack([levels, levels, levels], -1), (side * side, 3))
    return images


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_cifar_deterministic_corruptions_equal_the_original(name: str) -> None:
    images = sample_images(12, 32)
    for severity in range(1, 6):
        ours = corrupt_images(images, name, CorruptionSetting("cifar", 32, severity), None)
        theirs = np.stack([original.corrupt(image, name, severity, original.CIFAR) for image in images])
        mismatch = np.argwhere(ours != theirs)
        assert len(mismatch) == 0, f"{name} s{severity}: {len(mismatch)} values differ, first at {mismatch[0]}"


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_imagenet_deterministic_corruptions_equal_the_original(name: str) -> None:
    images = sample_images(3, 224, seed=1)
    severities = (1, 5) if name == "zoom_blur" else range(1, 6)
    for severity in severities:
        ours = corrupt_images(images, name, CorruptionSetting("imagenet", 224, severity), None)
        theirs = np.stack([original.corrupt(image, name, severity, original.IMAGENET) for image in images])
        assert np.array_equal(ours, theirs), f"{name} s{severity}: {(ours != theirs).sum()} values differ"


@pytest.mark.parametrize("side", [32, 33, 64, 224])
def test_clipped_zoom_equals_scipy_zoom(side: int) -> None:
    rng = np.random.default_rng(side)
    images = rng.normal(size=(3, side, side, 1)).astype(np.float32)
    for factor in (1.01, 1.06, 1.11, 1.25, 1.75, 2.25, 4.5):
        ours = batch_first(clipped_zoom(planes_first(images), factor))
        theirs = np.stack([original.clipped_zoom(image, factor) for image in images])
        assert np.array_equal(ours, theirs), factor


@pytest.mark.parametrize(("side", "delta", "seed"), [(32, 1, 0), (24, 2, 1), (24, 3, 2), (40, 4, 3)])
def test_glass_blur_copies_equal_the_sequential_loop(side: int, delta: int, seed: int) -> None:
    """Given the same (dx, dy) draws, the vectorised pass equals the scripts' in-place loop."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    count = (side - 2 * delta) ** 2
    draws = rng.integers(-delta, delta, size=(1, count, 2))
    expected = image.copy()
    step = 0
    for h in range(side - delta, delta, -1):
        for w in range(side - delta, delta, -1):
            dx, dy = draws[0, step]
            step += 1
            expected[h, w], expected[h + dy, w + dx] = expected[h + dy, w + dx], expected[h, w]
    sources = glass_sources(side, delta, draws)
    ours = image.reshape(side * side, 3)[sources[0]].reshape(image.shape)
    assert np.array_equal(ours, expected)
    assert not np.array_equal(ours, image)


@pytest.mark.parametrize("angle", [0.0, 45.0, -45.0, -90.0, 17.3, -131.7, 180.0])
def test_motion_blur_equals_the_imagemagick_formula(angle: float) -> None:
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    for radius, sigma in ((6, 1), (9, 2.5), (15, 12)):
        ours = motion_blur(images, radius, sigma, np.array([angle, angle]))
        theirs = np.stack([original.imagemagick_motion_blur(image, radius, sigma, angle) for image in images])
        assert np.array_equal(ours, theirs)
    grey = images[..., 0]
    assert np.array_equal(motion_blur(grey, 10, 4, np.array([angle] * 2)), np.stack([original.imagemagick_motion_blur(g, 10, 4, angle) for g in grey]))


def test_motion_blur_of_a_dot_is_a_one_sided_streak() -> None:
    image = np.zeros((1, 9, 9), dtype=np.uint8)
    image[0, 4, 4] = 255
    out = motion_blur(image, 2, 1.0, np.array([0.0]))[0]
    weights = np.exp(-np.arange(5) ** 2 / 2.0)
    weights /= weights.sum()
    # pixel (4, x) reads (4, x + i): the dot at x = 4 spreads to the columns left of it
    expected = np.floor(np.floor(257 * 255 * weights + 0.5) / 257)
    assert out[4, 0:5].tolist() == expected[::-1].tolist()
    assert out[4, 5:].sum() == 0 and out[:4].sum() == 0 and out[5:].sum() == 0


@pytest.mark.parametrize(("size", "decay"), [(32, 3), (32, 1.75), (256, 1.4)])
def test_plasma_fractal_equals_the_original_given_the_same_uniforms(size: int, decay: float) -> None:
    np.random.seed(size)
    uniforms = np.random.random_sample(size * size - 1)
    np.random.seed(size)
    expected = original.plasma_fractal(size, decay)
    assert np.array_equal(plasma_fractal(uniforms[None], decay)[0], expected)
