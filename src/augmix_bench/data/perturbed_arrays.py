"""CIFAR-10-P style folders: one ``<perturbation>.npy`` of uint8 sequences (N, T, H, W, 3).

As released (Hendrycks & Dietterich, 2019), sequence ``n`` starts from test image ``n`` and its
``T`` frames apply the perturbation with a growing (or, for noise, freshly drawn) strength; ``T``
differs between perturbations (e.g. 31 for most, fewer for translate and motion blur), so it is read
from each file. There is no labels file: the flip metrics use predictions only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from .arrays import ArrayTensorDataset, load_npy
from .benchmark import PerturbedSequences


def read_sequences(folder: Path, perturbation: str, image_size: int) -> np.ndarray:
    """``<folder>/<perturbation>.npy`` memory-mapped, validated as uint8 (N, T, size, size, 3), T >= 2."""
    path = Path(folder) / f"{perturbation}.npy"
    sequences = load_npy(str(path))
    if (
        sequences.dtype != np.uint8
        or sequences.ndim != 5
        or sequences.shape[1] < 2
        or sequences.shape[2:] != (image_size, image_size, 3)
    ):
        raise UserError(
            f"{path}: expected uint8 sequences of shape (N, T >= 2, {image_size}, {image_size}, 3), "
            f"found {sequences.dtype} {sequences.shape}"
        )
    return sequences


def perturbed_frames(folder: Path, perturbation: str, image_size: int) -> PerturbedSequences:
    """The frames of ``<folder>/<perturbation>.npy`` flattened sequence by sequence, labels -1."""
    sequences = read_sequences(folder, perturbation, image_size)
    count, frames = sequences.shape[:2]
    flat = sequences.reshape(count * frames, *sequences.shape[2:])
    return PerturbedSequences(
        ArrayTensorDataset(flat, np.full(count * frames, -1, dtype=np.int64)), count, frames
    )
