"""Datasets over in-memory (or memory-mapped) uint8 image arrays of shape (N, H, W, 3)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import UserError


@lru_cache(maxsize=64)
def load_npy(path: str) -> np.ndarray:
    """The ``.npy`` array at ``path``, memory-mapped (only the rows used are read); ``UserError`` if
    it is missing or unreadable."""
    try:
        return np.load(path, mmap_mode="r")
    except FileNotFoundError:
        raise UserError(f"missing file {path}") from None
    except EOFError:  # NumPy's answer to a file cut off inside its header (or empty)
        size = os.path.getsize(path)
        found = "it is empty (0 bytes)" if size == 0 else f"it ends inside the .npy header ({size} bytes)"
        raise UserError(f"{path} is not a readable .npy array: {found}; write or download it again") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable .npy array ({exc})") from None


class ArrayImageDataset(Dataset):
    """(PIL RGB image, label) pairs for training transforms that work on PIL images."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        return Image.fromarray(np.asarray(self.images[index])), int(self.labels[index])


class ArrayTensorDataset(Dataset):
    """(uint8 tensor (3, H, W), label) pairs for evaluation; normalization happens on the device.

    Besides item access it slices whole batches straight from the array (``batches``), which
    is much faster than collating single items.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(np.array(self.images[index], dtype=np.uint8))
        return image.permute(2, 0, 1), int(self.labels[index])

    def select(self, start: int, stop: int) -> ArrayTensorDataset:
        """The items ``start`` to ``stop`` (exclusive) as a dataset of its own."""
        return ArrayTensorDataset(self.images[start:stop], self.labels[start:stop])

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Consecutive (uint8 (B, 3, H, W), int64 (B,)) batches in order."""
        for start in range(0, len(self), batch_size):
            images = torch.from_numpy(np.array(self.images[start : start + batch_size], dtype=np.uint8))
            labels = torch.from_numpy(np.asarray(self.labels[start : start + batch_size], dtype=np.int64))
            yield images.permute(0, 3, 1, 2), labels
