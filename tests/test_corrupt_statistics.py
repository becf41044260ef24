"""The random corruptions follow the original functions' distributions: per severity, the mean and
the spread of |corrupted - clean| over the same clean images agree with the transcription's
(tests/original_corruptions.py, global NumPy RNG) within sampling error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import learnable_images

import original_corruptions as original
from augmix_bench.corrupt import CorruptionSetting, corrupt_images, image_generators

RANDOM = (
    "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "glass_blur", "motion_blur",
    "snow", "frost", "fog", "spatter", "elastic_transform",
)


@pytest.fixture(autouse=True)
def _frost_textures(monkeypatch: pytest.MonkeyPatch, frost_cache: Path) -> None:
    monkeypatch.setattr(original, "FROST_DIR", frost_cache)


def _differences(corrupted: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, float]:
    diff = np.abs(corrupted.astype(np.int64) - clean)
    return diff.mean(axis=(1, 2, 3)), float(diff.std())


def _assert_same_distribution(name: str, severity: int, ours: np.ndarray, theirs: np.ndarray, clean: np.ndarray) -> None:
    per_ours, spread_ours = _differences(ours, clean)
    per_theirs, spread_theirs = _differences(theirs, clean)
    error = np.sqrt(per_ours.var() + per_theirs.var()) / np.sqrt(len(clean))
    assert abs(per_ours.mean() - per_theirs.mean()) <= 4 * error + 0.2, (
        f"{name} s{severity}: mean |diff| {per_ours.mean():.2f} vs original {per_theirs.mean():.2f}"
    )
    assert abs(spread_ours - spread_theirs) <= 0.2 * max(spread_ours, spread_theirs) + 0.3, (
        f"{name} s{severity}: spread {spread_ours:.2f} vs original {spread_theirs:.2f}"
    )


@pytest.mark.parametrize("name", RANDOM)
def test_cifar_random_corruptions_follow_the_original_distribution(name: str) -> None:
    clean, _ = learnable_images(32, 10, np.random.default_rng(0))
    means = []
    for severity in range(1, 6):
        ours = corrupt_images(clean, name, CorruptionSetting("cifar", 32, severity), image_generators(0, name, severity, range(32)))
        np.random.seed(severity)
        theirs = np.stack([original.corrupt(image, name, severity, original.CIFAR) for image in clean])
        _assert_same_distribution(name, severity, ours, theirs, clean)
        means.append(np.abs(ours.astype(int) - clean).mean())
    assert min(means) > 0.5  # every severity changes the images


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "snow", "frost", "fog", "spatter"])
def test_imagenet_random_corruptions_follow_the_original_distribution(name: str) -> None:
    rng = np.random.default_rng(1)
    base, _ = learnable_images(6, 10, rng)
    clean = np.stack([np.kron(image, np.ones((7, 7, 1), dtype=np.uint8)) for image in base])  # 224 px
    options = {"frost": {"resize": 1}, "fog": {"mapsize": 256}}.get(name, {})
    for severity in (1, 5):
        ours = corrupt_images(clean, name, CorruptionSetting("imagenet", 224, severity), image_generators(0, name, severity, range(6)))
        np.random.seed(severity)
        theirs = np.stack([original.corrupt(image, name, severity, original.IMAGENET, **options) for image in clean])
        _assert_same_distribution(name, severity, ours, theirs, clean)
