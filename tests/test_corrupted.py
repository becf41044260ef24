"""CIFAR-10-C / CIFAR-100-C reading: severity blocks, and one clear line for every corrupt input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_RUN, run_in_process, write_cifar, write_cifar_c

from augmix_bench.data import CifarBenchmark
from augmix_bench.errors import UserError


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """CIFAR-10 with 7 test images and its -C folder (blocks of 7 rows per severity)."""
    test_x, test_y = write_cifar(tmp_path, "cifar10", n_train=20, n_test=7, seed=2)
    write_cifar_c(tmp_path / "CIFAR-10-C", test_x, test_y, seed=2)
    return tmp_path


def test_severity_block_size_comes_from_the_file(root: Path) -> None:
    benchmark = CifarBenchmark(root)
    snow = np.load(root / "CIFAR-10-C" / "snow.npy")
    labels = np.load(root / "CIFAR-10-C" / "labels.npy")
    for severity in range(1, 6):
        block = benchmark.corrupted_set("snow", severity)
        assert len(block) == 7
        np.testing.assert_array_equal(block.images, snow[(severity - 1) * 7 : severity * 7])
        np.testing.assert_array_equal(block.labels, labels[(severity - 1) * 7 : severity * 7])
    image, label = benchmark.corrupted_set("snow", 2)[3]
    assert image.dtype.is_floating_point is False and tuple(image.shape) == (3, 32, 32)
    np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), snow[10])
    assert label == labels[10]
    assert benchmark.missing("corruptions") is None


@pytest.mark.parametrize(
    ("array", "found"),
    [
        (np.zeros((35, 32, 31, 3), dtype=np.uint8), "uint8 (35, 32, 31, 3)"),
        (np.zeros((35, 32, 32), dtype=np.uint8), "uint8 (35, 32, 32)"),
        (np.zeros((35, 32, 32, 3), dtype=np.float32), "float32 (35, 32, 32, 3)"),
    ],
)
def test_wrong_array_shape(root: Path, array: np.ndarray, found: str) -> None:
    np.save(root / "CIFAR-10-C" / "fog.npy", array)
    with pytest.raises(UserError) as info:
        CifarBenchmark(root).corrupted_set("fog", 1)
    path = root / "CIFAR-10-C" / "fog.npy"
    assert str(info.value) == f"{path}: expected uint8 images of shape (N, 32, 32, 3), found {found}"


def test_images_and_labels_count_differ(root: Path) -> None:
    images = np.load(root / "CIFAR-10-C" / "fog.npy")
    np.save(root / "CIFAR-10-C" / "fog.npy", images[:30])
    with pytest.raises(UserError) as info:
        CifarBenchmark(root).corrupted_set("fog", 1)
    assert str(info.value) == (
        f"{root / 'CIFAR-10-C' / 'fog.npy'}: expected 35 images (one per entry of labels.npy), found 30"
    )


def test_labels_count_not_five_blocks(root: Path) -> None:
    labels = np.load(root / "CIFAR-10-C" / "labels.npy")
    np.save(root / "CIFAR-10-C" / "labels.npy", labels[:34])
    with pytest.raises(UserError) as info:
        CifarBenchmark(root).corrupted_set("fog", 1)
    assert str(info.value) == (
        f"{root / 'CIFAR-10-C' / 'labels.npy'}: "
        "expected 5 blocks of labels (a positive multiple of 5), found 34"
    )


def test_labels_out_of_range(root: Path) -> None:
    np.save(root / "CIFAR-10-C" / "labels.npy", np.full(35, 10, dtype=np.uint8))
    with pytest.raises(UserError, match=r"labels\.npy: labels must lie in \[0, 9\], found \[10, 10\]$"):
        CifarBenchmark(root).corrupted_set("fog", 1)


def test_missing_corruption_file(root: Path) -> None:
    (root / "CIFAR-10-C" / "fog.npy").unlink()
    benchmark = CifarBenchmark(root)
    assert (
        benchmark.missing("corruptions")
        == f"CIFAR-10-C incomplete in {root / 'CIFAR-10-C'} (missing fog.npy)"
    )
    with pytest.raises(UserError) as info:
        benchmark.prepare(["clean", "corruptions"], download=False)
    assert str(info.value) == (
        f"CIFAR-10-C incomplete in {root / 'CIFAR-10-C'} (missing fog.npy); run with dataset.download=true, "
        "or point dataset.root (env AUGMIX_DATA) at the folder that holds it"
    )
    with pytest.raises(UserError, match=f"^missing file {root / 'CIFAR-10-C' / 'fog.npy'}$"):
        benchmark.corrupted_set("fog", 2)


def test_unreadable_array(root: Path) -> None:
    (root / "CIFAR-10-C" / "fog.npy").write_bytes(b"not an array")
    with pytest.raises(UserError, match=r"fog\.npy is not a readable \.npy array"):
        CifarBenchmark(root).corrupted_set("fog", 1)


def test_empty_array_file_is_one_line_naming_it(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = root / "CIFAR-10-C" / "fog.npy"
    empty.write_bytes(b"")
    expected = f"{empty} is not a readable .npy array: it is empty (0 bytes); write or download it again"
    with pytest.raises(UserError) as raised:
        CifarBenchmark(root).corrupted_set("fog", 1)
    assert str(raised.value) == expected
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", f"dataset.root={root}", f"hydra.run.dir={tmp_path / 'run'}", *TINY_RUN)
    assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {expected}\n")
    assert not (tmp_path / "run").exists()


def test_bad_severity(root: Path) -> None:
    with pytest.raises(UserError, match="severity 6 is invalid; accepted: 1-5"):
        CifarBenchmark(root).corrupted_set("fog", 6)


def test_missing_corruption_file_through_the_cli(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    shutil.copytree(cifar10_root, root)
    (root / "CIFAR-10-C" / "contrast.npy").unlink()
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", f"dataset.root={root}", f"hydra.run.dir={tmp_path / 'run'}", *TINY_RUN)
    assert result.returncode == 2
    assert result.stderr == (
        f"augmix-train: error: CIFAR-10-C incomplete in {root / 'CIFAR-10-C'} (missing contrast.npy); "
        "run with dataset.download=true, or point dataset.root (env AUGMIX_DATA) "
        "at the folder that holds it\n"
    )
