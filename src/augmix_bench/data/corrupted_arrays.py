"""CIFAR-10-C / CIFAR-100-C style folders: ``<corruption>.npy`` + ``labels.npy``.

Each corruption file is uint8 (5 * n, H, W, 3): severity ``s`` occupies rows
``[(s - 1) * n, s * n)``, images in test-set order; ``labels.npy`` holds the 5 * n labels. The
block size ``n`` is read from the files. Arrays are memory-mapped, so only the images used are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import UserError
from .arrays import load_npy
from .names import SEVERITIES


def read_labels(folder: Path, num_classes: int) -> np.ndarray:
    """``labels.npy`` of a -C folder, validated (1-D, integer, in range, length a multiple of 5)."""
    path = Path(folder) / "labels.npy"
    labels = load_npy(str(path))
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{path}: expected a 1-D integer array, found {labels.dtype} {labels.shape}")
    if len(labels) == 0 or len(labels) % len(SEVERITIES) != 0:
        raise UserError(
            f"{path}: expected 5 blocks of labels (a positive multiple of 5), found {len(labels)}"
        )
    if labels.min() < 0 or labels.max() >= num_classes:
        raise UserError(
            f"{path}: labels must lie in [0, {num_classes - 1}], found [{labels.min()}, {labels.max()}]"
        )
    return labels


def read_corruption(
    folder: Path, corruption: str, severity: int, num_classes: int, image_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, H, W, 3) uint8 (memory-mapped) and labels (n,) of one corruption and severity.

    With ``image_size`` the images must be ``image_size`` x ``image_size``.
    """
    if severity not in SEVERITIES:
        raise UserError(f"severity {severity} is invalid; accepted: 1-5")
    labels = read_labels(folder, num_classes)
    path = Path(folder) / f"{corruption}.npy"
    images = load_npy(str(path))
    side = "H, W" if image_size is None else f"{image_size}, {image_size}"
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[-1] != 3
        or (image_size is not None and images.shape[1:3] != (image_size, image_size))
    ):
        raise UserError(
            f"{path}: expected uint8 images of shape (N, {side}, 3), found {images.dtype} {images.shape}"
        )
    if images.shape[0] != len(labels):
        raise UserError(
            f"{path}: expected {len(labels)} images (one per entry of labels.npy), found {images.shape[0]}"
        )
    block = len(labels) // len(SEVERITIES)
    rows = slice((severity - 1) * block, severity * block)
    return images[rows], np.asarray(labels[rows], dtype=np.int64)


def check_corrupted_folder(
    folder: Path, corruptions: Sequence[str], test_labels: np.ndarray | None, num_classes: int, image_size: int
) -> None:
    """Check a whole -C folder up front (headers only: the arrays are memory-mapped).

    ``labels.npy`` must be the clean test labels once per severity (when ``test_labels`` are
    given), and every ``<corruption>.npy`` uint8 ``(5 * n, image_size, image_size, 3)`` with one
    row per entry of ``labels.npy``.
    """
    labels = read_labels(folder, num_classes)
    if test_labels is not None:
        _check_against_test_labels(Path(folder) / "labels.npy", labels, test_labels)
    for corruption in corruptions:
        read_corruption(folder, corruption, SEVERITIES[0], num_classes, image_size)


def _check_against_test_labels(path: Path, labels: np.ndarray, test_labels: np.ndarray) -> None:
    """``labels`` (of ``path``) must be ``test_labels`` once per severity."""
    block = len(test_labels)
    if len(labels) != len(SEVERITIES) * block:
        raise UserError(
            f"{path}: expected {len(SEVERITIES) * block} labels (5 x the {block} clean test images), "
            f"found {len(labels)}"
        )
    expected = np.tile(np.asarray(test_labels), len(SEVERITIES))
    differ = np.flatnonzero(np.asarray(labels) != expected)
    if differ.size:
        first = int(differ[0])
        raise UserError(
            f"{path}: disagrees with the clean test labels at {differ.size} of {len(labels)} entries "
            f"(first: entry {first} is {int(labels[first])}, the test set says {int(expected[first])}); "
            "is this the -C set of this dataset?"
        )
