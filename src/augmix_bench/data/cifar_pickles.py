"""Reading CIFAR-10/100 in torchvision's on-disk format (python pickles), without md5 checks.

Any folder in that format is accepted: a re-packed or subsetted copy (fewer train batches, a
smaller test batch) loads as long as every file is a well-formed CIFAR pickle.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps its files and which pickle key holds the labels."""

    folder: str
    train_files: str  # glob pattern inside ``folder``
    test_file: str
    label_key: str
    num_classes: int


CIFAR_LAYOUTS: dict[str, CifarLayout] = {
    "cifar10": CifarLayout("cifar-10-batches-py", "data_batch_*", "test_batch", "labels", 10),
    "cifar100": CifarLayout("cifar-100-python", "train", "test", "fine_labels", 100),
}


def _read_pickle(path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise UserError(f"{path} is not a readable CIFAR pickle ({exc})") from None
    if not isinstance(entry, dict):
        raise UserError(f"{path} is not a CIFAR pickle: expected a dict, found {type(entry).__name__}")
    entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
    if "data" not in entry or label_key not in entry:
        raise UserError(
            f"{path} is not a CIFAR pickle: expected keys 'data' and {label_key!r}, found {sorted(entry)}"
        )
    data = np.asarray(entry["data"])
    labels = np.asarray(entry[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise UserError(
            f"{path}: expected 'data' uint8 of shape (N, 3072), found {data.dtype} {data.shape}"
        )
    if len(labels) != len(data):
        raise UserError(f"{path}: {len(data)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise UserError(
            f"{path}: labels must lie in [0, {num_classes - 1}], found [{labels.min()}, {labels.max()}]"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def cifar_folder(root: Path, name: str) -> Path:
    """The folder holding CIFAR variant ``name`` under ``root``."""
    return Path(root) / CIFAR_LAYOUTS[name].folder


def cifar_present(root: Path, name: str) -> bool:
    """Whether ``root`` holds a test file and at least one train file of variant ``name``."""
    layout = CIFAR_LAYOUTS[name]
    folder = cifar_folder(root, name)
    return (folder / layout.test_file).is_file() and any(folder.glob(layout.train_files))


def read_cifar(root: Path, name: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 of the train or test split."""
    layout = CIFAR_LAYOUTS[name]
    folder = cifar_folder(root, name)
    files = sorted(folder.glob(layout.train_files)) if train else [folder / layout.test_file]
    parts = [_read_pickle(path, layout.label_key, layout.num_classes) for path in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
