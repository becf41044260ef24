"""Natural-shift test sets read from fixtures written here in their released formats, and the
200-class scoring of ImageNet-R / ImageNet-A."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augmix_bench.data.shifts import (
    IMAGENET_A_CLASS_INDICES,
    IMAGENET_A_WNIDS,
    IMAGENET_R_CLASS_INDICES,
    IMAGENET_R_WNIDS,
    IMAGENET_WNIDS,
    SHIFT_SETS,
    check_size,
    cifar10_1,
    cifar10_2,
    file_checksum,
    imagenet_a,
    imagenet_r,
    imagenet_sketch,
    imagenet_v2,
    load_shift_set,
    restrict_labels,
    restrict_logits,
    subset_indices,
    verify_file,
)

# The authors' own lists of the 1000-class indices they keep, re-typed independently of the wnid
# lists: ImageNet-R from the comment under ``imagenet_r_mask`` in hendrycks/imagenet-r eval.py
# (commit 3131cace), ImageNet-A from the keys of ``thousand_k_to_200`` whose value is not -1 in
# hendrycks/natural-adv-examples eval.py (commit 07770705).
AUTHORS_R_INDICES = [
    1, 2, 4, 6, 8, 9, 11, 13, 22, 23, 26, 29, 31, 39, 47, 63, 71, 76, 79, 84,
    90, 94, 96, 97, 99, 100, 105, 107, 113, 122, 125, 130, 132, 144, 145, 147, 148, 150, 151, 155,
    160, 161, 162, 163, 171, 172, 178, 187, 195, 199, 203, 207, 208, 219, 231, 232, 234, 235, 242, 245,
    247, 250, 251, 254, 259, 260, 263, 265, 267, 269, 276, 277, 281, 288, 289, 291, 292, 293, 296, 299,
    301, 308, 309, 310, 311, 314, 315, 319, 323, 327, 330, 334, 335, 337, 338, 340, 341, 344, 347, 353,
    355, 361, 362, 365, 366, 367, 368, 372, 388, 390, 393, 397, 401, 407, 413, 414, 425, 428, 430, 435,
    437, 441, 447, 448, 457, 462, 463, 469, 470, 471, 472, 476, 483, 487, 515, 546, 555, 558, 570, 579,
    583, 587, 593, 594, 596, 609, 613, 617, 621, 629, 637, 657, 658, 701, 717, 724, 763, 768, 774, 776,
    779, 780, 787, 805, 812, 815, 820, 824, 833, 847, 852, 866, 875, 883, 889, 895, 907, 928, 931, 932,
    933, 934, 936, 937, 943, 945, 947, 948, 949, 951, 953, 954, 957, 963, 965, 967, 980, 981, 983, 988,
]
AUTHORS_A_INDICES = [
    6, 11, 13, 15, 17, 22, 23, 27, 30, 37, 39, 42, 47, 50, 57, 70, 71, 76, 79, 89,
    90, 94, 96, 97, 99, 105, 107, 108, 110, 113, 124, 125, 130, 132, 143, 144, 150, 151, 207, 234,
    235, 254, 277, 283, 287, 291, 295, 298, 301, 306, 307, 308, 309, 310, 311, 313, 314, 315, 317, 319,
    323, 324, 326, 327, 330, 334, 335, 336, 347, 361, 363, 372, 378, 386, 397, 400, 401, 402, 404, 407,
    411, 416, 417, 420, 425, 428, 430, 437, 438, 445, 456, 457, 461, 462, 470, 472, 483, 486, 488, 492,
    496, 514, 516, 528, 530, 539, 542, 543, 549, 552, 557, 561, 562, 569, 572, 573, 575, 579, 589, 606,
    607, 609, 614, 626, 627, 640, 641, 642, 643, 658, 668, 677, 682, 684, 687, 701, 704, 719, 736, 746,
    749, 752, 758, 763, 765, 768, 773, 774, 776, 779, 780, 786, 792, 797, 802, 803, 804, 813, 815, 820,
    823, 831, 833, 835, 839, 845, 847, 850, 859, 862, 870, 879, 880, 888, 890, 897, 900, 907, 913, 924,
    932, 933, 934, 937, 943, 945, 947, 951, 954, 956, 957, 959, 971, 972, 980, 981, 984, 986, 987, 988,
]


def cifar_arrays(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count).astype(np.int32)


def assert_items(dataset, images: np.ndarray, labels: np.ndarray) -> None:
    assert len(dataset) == len(labels)
    for i in range(len(labels)):
        image, label = dataset[i]
        assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 32, 32)
        assert torch.equal(image, torch.from_numpy(images[i]).permute(2, 0, 1))
        assert label == int(labels[i]) and isinstance(label, int)


def write_jpeg(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 10), colour).save(path, quality=95)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- the table and the class lists


def test_shift_set_table_records_the_released_sizes_folders_and_families() -> None:
    facts = {name: (s.family, s.folder, s.size, s.num_classes) for name, s in SHIFT_SETS.items()}
    assert facts == {
        "cifar10_1": ("cifar10", "CIFAR-10.1", 2000, 10),
        "cifar10_1_v4": ("cifar10", "CIFAR-10.1", 2021, 10),
        "cifar10_2": ("cifar10", "CIFAR-10.2", 2000, 10),
        "imagenet_v2": ("imagenet", "imagenetv2-matched-frequency-format-val", 10000, 1000),
        "imagenet_r": ("imagenet", "imagenet-r", 30000, 200),
        "imagenet_a": ("imagenet", "imagenet-a", 7500, 200),
        "imagenet_sketch": ("imagenet", "sketch", 50889, 1000),
    }
    for spec in SHIFT_SETS.values():
        assert spec.url.startswith("https://") and spec.license and spec.checksum_source
        for checksum in (spec.checksums or {}).values():
            kind, digest = checksum.split(":")
            assert (kind, len(digest)) in {("sha256", 64), ("git-blob-sha1", 40)}
            int(digest, 16)
    assert SHIFT_SETS["imagenet_r"].subset_wnids == IMAGENET_R_WNIDS
    assert SHIFT_SETS["imagenet_a"].subset_wnids == IMAGENET_A_WNIDS


def test_wnid_lists_are_the_sorted_imagenet_classes_and_their_200_class_subsets() -> None:
    assert len(IMAGENET_WNIDS) == len(set(IMAGENET_WNIDS)) == 1000
    assert list(IMAGENET_WNIDS) == sorted(IMAGENET_WNIDS)
    assert (IMAGENET_WNIDS[0], IMAGENET_WNIDS[1], IMAGENET_WNIDS[999]) == ("n01440764", "n01443537", "n15075141")
    for subset in (IMAGENET_R_WNIDS, IMAGENET_A_WNIDS):
        assert len(set(subset)) == 200 and list(subset) == sorted(subset) and set(subset) <= set(IMAGENET_WNIDS)


def test_subset_class_indices_equal_the_authors_index_lists() -> None:
    assert list(IMAGENET_R_CLASS_INDICES) == AUTHORS_R_INDICES
    assert list(IMAGENET_A_CLASS_INDICES) == AUTHORS_A_INDICES
    # against the model's own class list (here: the ImageNet classes reversed)
    reversed_classes = IMAGENET_WNIDS[::-1]
    assert subset_indices(("n01443537", "n15075141"), reversed_classes) == (998, 0)
    with pytest.raises(ValueError, match="'n99999999' is not among the model's 1000 classes"):
        subset_indices(("n99999999",))


# ---------------------------------------------------------------- CIFAR-10.1 and CIFAR-10.2


@pytest.mark.parametrize("version", ["v6", "v4"])
def test_cifar10_1_reads_the_released_npy_pair(tmp_path: Path, version: str) -> None:
    images, labels = cifar_arrays(7, seed=1)
    folder = tmp_path / "CIFAR-10.1"
    folder.mkdir()
    np.save(folder / f"cifar10.1_{version}_data.npy", images)
    np.save(folder / f"cifar10.1_{version}_labels.npy", labels)  # int32, as released
    dataset = cifar10_1(tmp_path, version)
    assert_items(dataset, images, labels)
    batch_images, batch_labels = next(dataset.batches(4))
    assert batch_labels.dtype == torch.int64 and batch_labels.tolist() == labels[:4].tolist()
    assert torch.equal(batch_images, torch.from_numpy(images[:4]).permute(0, 3, 1, 2))
    name = "cifar10_1" if version == "v6" else "cifar10_1_v4"
    assert_items(load_shift_set(name, tmp_path), images, labels)


def test_cifar10_2_reads_the_npz_release(tmp_path: Path) -> None:
    images, labels = cifar_arrays(5, seed=2)
    folder = tmp_path / "CIFAR-10.2"
    folder.mkdir()
    np.savez(
        folder / "cifar102_test.npz",
        images=images,
        labels=labels.astype(np.int64),
        label_names=np.array(
            ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        ),
        ti_indices=np.arange(5),
        keywords=np.array(["a", "b", "c", "d", "e"]),
    )
    assert_items(cifar10_2(tmp_path), images, labels)


def test_cifar10_2_reads_the_2020_pickled_dict_and_prefers_the_npz(tmp_path: Path) -> None:
    images, labels = cifar_arrays(6, seed=3)
    folder = tmp_path / "CIFAR-10.2"
    folder.mkdir()
    release = {"images": images, "labels": labels.astype(np.int64), "label_names": ["airplane"] * 10,
               "ti_indices": np.arange(6), "keywords": ["k"] * 6}
    np.save(folder / "cifar102_test.npy", release, allow_pickle=True)  # a 0-d object array: np.load(...).item()
    assert_items(load_shift_set("cifar10_2", tmp_path), images, labels)
    other_images, other_labels = cifar_arrays(3, seed=4)
    np.savez(folder / "cifar102_test.npz", images=other_images, labels=other_labels)
    assert_items(cifar10_2(tmp_path), other_images, other_labels)


def test_cifar_sets_refuse_missing_or_malformed_files_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        cifar10_1(tmp_path)
    assert f"expected {tmp_path / 'CIFAR-10.1' / 'cifar10.1_v6_data.npy'}" in one_line(error)
    with pytest.raises(ValueError) as error:
        cifar10_2(tmp_path)
    assert f"CIFAR-10.2 not found: expected {tmp_path / 'CIFAR-10.2' / 'cifar102_test.npz'}" in one_line(error)
    with pytest.raises(ValueError, match="version 'v7' is invalid; accepted: v6, v4"):
        cifar10_1(tmp_path, "v7")

    folder = tmp_path / "CIFAR-10.1"
    folder.mkdir()
    images, labels = cifar_arrays(4, seed=5)
    np.save(folder / "cifar10.1_v6_data.npy", images)
    with pytest.raises(ValueError) as error:  # the labels file is missing
        cifar10_1(tmp_path)
    assert str(folder / "cifar10.1_v6_labels.npy") in one_line(error)
    np.save(folder / "cifar10.1_v6_labels.npy", labels[:3])
    with pytest.raises(ValueError, match="expected 4 integer labels"):
        cifar10_1(tmp_path)
    np.save(folder / "cifar10.1_v6_labels.npy", np.array([0, 1, 2, 10]))
    with pytest.raises(ValueError, match=r"labels range 0\.\.10; expected 0\.\.9"):
        cifar10_1(tmp_path)
    np.save(folder / "cifar10.1_v6_data.npy", images.astype(np.float32))
    with pytest.raises(ValueError, match=r"expected uint8 \(N, 32, 32, 3\)"):
        cifar10_1(tmp_path)

    other = tmp_path / "CIFAR-10.2"
    other.mkdir()
    np.savez(other / "cifar102_test.npz", data=images)
    with pytest.raises(ValueError, match="has no 'images' array; found: data"):
        cifar10_2(tmp_path)
    with pytest.raises(ValueError, match="a transform is not accepted"):
        load_shift_set("cifar10_2", tmp_path, transform=lambda image: image)


# ---------------------------------------------------------------- ImageNet folders


def test_imagenet_v2_labels_are_the_folder_numbers_not_their_sorted_rank(tmp_path: Path) -> None:
    folder = tmp_path / "imagenetv2-matched-frequency-format-val"
    colours = {"0": (250, 10, 10), "2": (10, 250, 10), "10": (10, 10, 250), "999": (200, 200, 20)}
    for name, colour in colours.items():
        write_jpeg(folder / name / "3.jpeg", colour)
        write_jpeg(folder / name / "7.jpeg", colour)
    dataset = imagenet_v2(tmp_path)
    assert len(dataset) == 8
    by_label = {}
    for (path, label), (image, item_label) in zip(dataset.samples, (dataset[i] for i in range(len(dataset)))):
        assert item_label == label == int(Path(path).parent.name)  # ImageFolder would give "10" label 1
        with Image.open(path) as original:
            assert np.array_equal(np.asarray(image), np.asarray(original.convert("RGB")))
        by_label[label] = np.asarray(image).reshape(-1, 3).mean(axis=0)
    assert sorted(by_label) == [0, 2, 10, 999]
    for name, colour in colours.items():
        assert np.abs(by_label[int(name)] - colour).max() < 4
    # a model with another class order gets its own index of the same wnid
    reversed_labels = {label for _, label in imagenet_v2(tmp_path, classes=IMAGENET_WNIDS[::-1]).samples}
    assert reversed_labels == {999, 997, 989, 0}
    transformed = load_shift_set("imagenet_v2", tmp_path, transform=lambda image: image.size)
    assert transformed[0] == ((12, 10), 0)


def test_imagenet_r_and_a_label_wnid_folders_with_their_imagenet_index(tmp_path: Path) -> None:
    # n01443537 (goldfish) is ImageNet class 1; n12267677 (acorn) is 988; n01498041 (stingray) is 6
    for wnid in ("n01443537", "n12267677"):
        write_jpeg(tmp_path / "imagenet-r" / wnid / "art_0.jpg", (30, 60, 90))
    write_jpeg(tmp_path / "imagenet-a" / "n01498041" / "0.000116_digital clock _ digital clock_0.865662.jpg", (5, 5, 5))
    write_jpeg(tmp_path / "imagenet-a" / "n12267677" / "0.000.jpg", (5, 5, 5))
    (tmp_path / "imagenet-r" / "README.txt").write_text("not a class")
    assert [label for _, label in imagenet_r(tmp_path).samples] == [1, 988]
    assert [label for _, label in imagenet_a(tmp_path).samples] == [6, 988]
    image, label = imagenet_a(tmp_path)[0]
    assert image.mode == "RGB" and label == 6
    assert restrict_labels(np.array([1, 988]), IMAGENET_R_CLASS_INDICES).tolist() == [0, 199]
    assert restrict_labels(np.array([6, 988]), IMAGENET_A_CLASS_INDICES).tolist() == [0, 199]


def test_imagenet_sketch_reads_all_1000_wnids(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "sketch" / "n01440764" / "sketch_0.JPEG", (255, 255, 255))
    write_jpeg(tmp_path / "sketch" / "n15075141" / "sketch_1.JPEG", (0, 0, 0))
    Image.new("L", (8, 8), 128).save(tmp_path / "sketch" / "n15075141" / "grey.JPEG", format="JPEG")
    dataset = imagenet_sketch(tmp_path)
    assert [label for _, label in dataset.samples] == [0, 999, 999]
    assert all(dataset[i][0].mode == "RGB" for i in range(3))


def test_image_folders_refuse_missing_data_and_foreign_classes_in_one_line(tmp_path: Path) -> None:
    for reader, folder in [(imagenet_v2, "imagenetv2-matched-frequency-format-val"), (imagenet_r, "imagenet-r"),
                           (imagenet_a, "imagenet-a"), (imagenet_sketch, "sketch")]:
        with pytest.raises(ValueError) as error:
            reader(tmp_path)
        assert f"not found: expected {tmp_path / folder} (" in one_line(error)

    write_jpeg(tmp_path / "imagenet-r" / "n01440764" / "x.jpg", (1, 2, 3))  # tench: not an ImageNet-R class
    with pytest.raises(ValueError) as error:
        imagenet_r(tmp_path)
    assert one_line(error) == (
        f"{tmp_path / 'imagenet-r' / 'n01440764'}: folder name 'n01440764' is not one of ImageNet-R's 200 class wnids"
    )
    write_jpeg(tmp_path / "imagenetv2-matched-frequency-format-val" / "1000" / "x.jpeg", (1, 2, 3))
    with pytest.raises(ValueError, match="'1000' is not an ImageNet class index 0..999"):
        imagenet_v2(tmp_path)
    write_jpeg(tmp_path / "sketch" / "n01443537" / "x.JPEG", (1, 2, 3))
    with pytest.raises(ValueError, match=r"class 'n01443537' is not among the model's 2 classes"):
        imagenet_sketch(tmp_path, classes=["n01440764", "n15075141"])
    (tmp_path / "imagenet-a" / "n01498041").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images"):
        imagenet_a(tmp_path)
    with pytest.raises(ValueError, match="unknown shift set 'imagenet-b'; choose from: cifar10_1, "):
        load_shift_set("imagenet-b", tmp_path)


def test_check_size_compares_with_the_release(tmp_path: Path) -> None:
    images, labels = cifar_arrays(3, seed=6)
    (tmp_path / "CIFAR-10.1").mkdir()
    np.save(tmp_path / "CIFAR-10.1" / "cifar10.1_v4_data.npy", images)
    np.save(tmp_path / "CIFAR-10.1" / "cifar10.1_v4_labels.npy", labels)
    with pytest.raises(ValueError, match=r"CIFAR-10.1 \(v4\) has 3 images; the release has 2021"):
        check_size("cifar10_1_v4", cifar10_1(tmp_path, "v4"))
    check_size("cifar10_1_v4", list(range(2021)))


# ---------------------------------------------------------------- the 200-class restriction


def test_restriction_predicts_the_best_class_inside_the_subset() -> None:
    logits = torch.zeros(2, 1000)
    logits[0, 0] = 10.0    # tench: the overall argmax, but not an ImageNet-R class
    logits[0, 1] = 3.0     # goldfish: ImageNet-R position 0
    logits[0, 988] = 5.0   # acorn: ImageNet-R position 199
    logits[1, 2] = 1.0     # great white shark: ImageNet-R position 1
    labels = torch.tensor([988, 2])
    assert logits.argmax(dim=1).tolist() == [0, 2]
    kept = restrict_logits(logits, IMAGENET_R_CLASS_INDICES)
    assert kept.shape == (2, 200)
    assert kept.argmax(dim=1).tolist() == [199, 1]
    assert restrict_labels(labels, IMAGENET_R_CLASS_INDICES).tolist() == [199, 1]
    # softmax over the 200 kept logits: sample 1 has one logit 1 and 199 zeros -> e / (e + 199);
    # sample 0 has 5, 3 and 198 zeros -> e^5 / (e^5 + e^3 + 198)
    confidence = torch.softmax(kept.double(), dim=1).max(dim=1).values
    assert confidence[1].item() == pytest.approx(math.e / (math.e + 199), rel=1e-12)
    assert confidence[0].item() == pytest.approx(math.exp(5) / (math.exp(5) + math.exp(3) + 198), rel=1e-12)
    # NumPy arrays come back as NumPy arrays, in the given column order
    table = np.arange(12.0).reshape(2, 6)
    assert restrict_logits(table, [4, 1]).tolist() == [[4.0, 1.0], [10.0, 7.0]]
    assert restrict_labels(np.array([1, 4, 4]), [4, 1]).tolist() == [1, 0, 0]


def test_restriction_refuses_bad_indices_and_labels_outside_the_subset() -> None:
    with pytest.raises(ValueError, match="class index 6 is out of range for 6 classes"):
        restrict_logits(np.zeros((1, 6)), [0, 6])
    with pytest.raises(ValueError, match="repeats a class"):
        restrict_logits(np.zeros((1, 6)), [1, 1])
    with pytest.raises(ValueError, match=r"logits of shape \(6,\) are invalid"):
        restrict_logits(np.zeros(6), [1])
    with pytest.raises(ValueError, match="label 0 is not among the 200 kept classes"):
        restrict_labels(torch.tensor([1, 0]), IMAGENET_R_CLASS_INDICES)


# ---------------------------------------------------------------- checksums


def test_file_checksums_match_git_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    # `git hash-object` of "hello\n" and of an empty file (well-known ids)
    assert file_checksum(path, "git-blob-sha1") == "git-blob-sha1:ce013625030ba8dba906f756967f9e9ca394464a"
    assert file_checksum(path, "sha256") == "sha256:" + hashlib.sha256(b"hello\n").hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_checksum(empty, "git-blob-sha1") == "git-blob-sha1:e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    verify_file(path, "git-blob-sha1:ce013625030ba8dba906f756967f9e9ca394464a")
    with pytest.raises(ValueError, match="has checksum git-blob-sha1:ce01.*; expected git-blob-sha1:0000"):
        verify_file(path, "git-blob-sha1:" + "0" * 40)
    with pytest.raises(ValueError, match="checksum kind 'md5' is invalid"):
        file_checksum(path, "md5")
