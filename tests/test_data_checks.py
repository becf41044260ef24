"""-C folders are checked when the data is prepared, before training: labels against the clean
test labels, every corruption file's dtype, shape and row count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CORRUPTION_NAMES, TINY_RUN, run_in_process, write_cifar, write_cifar_c

from augmix_bench.data import CifarBenchmark
from augmix_bench.errors import UserError


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    test_x, test_y = write_cifar(data, "cifar10", n_train=40, n_test=20)
    write_cifar_c(data / "CIFAR-10-C", test_x, test_y)
    return data


def refusal(root: Path) -> str:
    with pytest.raises(UserError) as info:
        CifarBenchmark(root).prepare(["clean", "corruptions"], download=False)
    return str(info.value)


def test_a_consistent_folder_passes(root: Path) -> None:
    CifarBenchmark(root).prepare(["clean", "corruptions"], download=False)


def test_labels_that_disagree_with_the_test_set(root: Path) -> None:
    path = root / "CIFAR-10-C" / "labels.npy"
    labels = np.load(path)
    np.save(path, (labels + 1) % 10)
    assert refusal(root) == (
        f"{path}: disagrees with the clean test labels at 100 of 100 entries (first: entry 0 is "
        f"{(labels[0] + 1) % 10}, the test set says {labels[0]}); is this the -C set of this dataset?"
    )


def test_labels_of_another_size(root: Path) -> None:
    path = root / "CIFAR-10-C" / "labels.npy"
    np.save(path, np.load(path)[:50])
    assert refusal(root) == f"{path}: expected 100 labels (5 x the 20 clean test images), found 50"


def test_truncated_corruption_file(root: Path) -> None:
    path = root / "CIFAR-10-C" / f"{CORRUPTION_NAMES[3]}.npy"
    np.save(path, np.load(path)[:90])
    assert refusal(root) == f"{path}: expected 100 images (one per entry of labels.npy), found 90"


def test_float_corruption_file(root: Path) -> None:
    path = root / "CIFAR-10-C" / f"{CORRUPTION_NAMES[5]}.npy"
    np.save(path, np.load(path).astype(np.float32))
    assert refusal(root) == (
        f"{path}: expected uint8 images of shape (N, 32, 32, 3), found float32 (100, 32, 32, 3)"
    )


def test_training_is_refused_before_it_starts(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = root / "CIFAR-10-C" / "labels.npy"
    np.save(path, np.zeros(100, dtype=np.uint8))
    result = run_in_process("augmix-train", f"dataset.root={root}", *TINY_RUN)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"augmix-train: error: {path}: disagrees with the clean test labels at ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
