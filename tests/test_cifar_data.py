"""Reading CIFAR folders and CIFAR-C arrays from disk."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import write_cifar, write_cifar_c

from augmix_bench.data import CifarBenchmark
from augmix_bench.errors import UserError


def test_subsetted_folder_loads_and_sizes_come_from_the_data(tmp_path: Path) -> None:
    test_x, test_y = write_cifar(tmp_path, "cifar10", n_train=30, n_test=17, train_files=3)
    bench = CifarBenchmark(tmp_path, "cifar10")
    assert len(bench.train_set()) == 30
    test = bench.test_set()
    assert len(test) == 17
    image, label = test[5]
    assert image.shape == (3, 32, 32) and label == test_y[5]
    assert np.array_equal(image.permute(1, 2, 0).numpy(), test_x[5])
    pil, train_label = bench.train_set()[0]
    assert pil.size == (32, 32) and pil.mode == "RGB"


def test_cifar100_reads_fine_labels(tmp_path: Path) -> None:
    _, test_y = write_cifar(tmp_path, "cifar100", n_train=20, n_test=10)
    bench = CifarBenchmark(tmp_path, "cifar100")
    assert bench.num_classes == 100
    assert [bench.test_set()[i][1] for i in range(10)] == test_y.tolist()


def test_missing_folder_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        CifarBenchmark(tmp_path, "cifar10").prepare(["clean"], download=False)
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "dataset.download=true" in message
    assert "\n" not in message


def test_malformed_pickle_is_one_line(tmp_path: Path) -> None:
    write_cifar(tmp_path, "cifar10", n_train=10, n_test=10)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as handle:
        pickle.dump({b"data": np.zeros((3, 100), dtype=np.uint8), b"labels": [0, 1, 2]}, handle)
    with pytest.raises(UserError, match=r"expected 'data' uint8 of shape \(N, 3072\), found uint8 \(3, 100\)"):
        CifarBenchmark(tmp_path, "cifar10").test_set()


def test_corruption_blocks_follow_the_file(tmp_path: Path) -> None:
    test_x, test_y = write_cifar(tmp_path, "cifar10", n_train=10, n_test=12)
    write_cifar_c(tmp_path / "CIFAR-10-C", test_x, test_y)
    bench = CifarBenchmark(tmp_path, "cifar10")
    bench.prepare(["clean", "corruptions"], download=False)
    stored = np.load(tmp_path / "CIFAR-10-C" / "fog.npy")
    severity3 = bench.corrupted_set("fog", 3)
    assert len(severity3) == 12
    image, label = severity3[4]
    assert np.array_equal(image.permute(1, 2, 0).numpy(), stored[2 * 12 + 4]) and label == test_y[4]


def test_missing_corruption_file_is_reported(tmp_path: Path) -> None:
    test_x, test_y = write_cifar(tmp_path, "cifar10", n_train=10, n_test=5)
    write_cifar_c(tmp_path / "CIFAR-10-C", test_x, test_y)
    (tmp_path / "CIFAR-10-C" / "snow.npy").unlink()
    with pytest.raises(UserError, match=r"missing snow\.npy"):
        CifarBenchmark(tmp_path, "cifar10").prepare(["corruptions"], download=False)
