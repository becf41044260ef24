"""results.json's ``data`` entry: which files a run used (data/identity.py and the benchmarks' data_identity)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from augmix_bench.corrupt.writers import Manifest
from augmix_bench.data.cifar import CifarBenchmark
from augmix_bench.data.identity import corruption_source, listing_fingerprint
from augmix_bench.data.image_folder import ImageFolderBenchmark


def image_tree(root: Path, classes: dict[str, int], side: int = 8) -> None:
    """``root/<class>/<k>.png`` with ``count`` random images per class."""
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k}.png")


def image_folder(root: Path) -> Path:
    image_tree(root / "train", {"cat": 3, "dog": 3})
    image_tree(root / "val", {"cat": 2, "dog": 2})
    return root


def test_the_listing_fingerprint_follows_the_files_not_the_folder(tmp_path: Path) -> None:
    first = image_folder(tmp_path / "one")
    fingerprint = listing_fingerprint({"train": first / "train", "val": first / "val"})
    assert fingerprint is not None and len(fingerprint) == 16
    copy = tmp_path / "elsewhere" / "two"
    shutil.copytree(first, copy)
    (copy / "val" / ".DS_Store").write_bytes(b"x")  # hidden files are not data
    assert listing_fingerprint({"train": copy / "train", "val": copy / "val"}) == fingerprint

    (copy / "val" / "dog" / "1.png").write_bytes(b"a different size")
    resized = listing_fingerprint({"train": copy / "train", "val": copy / "val"})
    (copy / "val" / "dog" / "1.png").rename(copy / "val" / "cat" / "9.png")
    moved = listing_fingerprint({"train": copy / "train", "val": copy / "val"})
    assert len({fingerprint, resized, moved}) == 3
    # the same files as train/ and val/ swapped are other data
    assert listing_fingerprint({"train": first / "val", "val": first / "train"}) != fingerprint
    assert listing_fingerprint({"train": tmp_path / "absent"}) is None


def test_an_image_folder_records_its_files_and_its_corruption_source(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "flowers")
    image_tree(root / "corruptions" / "fog" / "1", {"cat": 2, "dog": 2})
    benchmark = ImageFolderBenchmark(root)
    identity = benchmark.data_identity(["clean", "corruptions"])
    files = listing_fingerprint({"train": root / "train", "val": root / "val"})
    corruptions = listing_fingerprint({"": root / "corruptions"})
    assert identity == {"name": "image_folder", "fingerprint": files,
                        "corruptions": {"source": "corruptions_dir", "fingerprint": corruptions}}
    assert benchmark.data_identity(["clean"])["corruptions"] is None  # no -C evaluated, no -C source

    other = image_folder(tmp_path / "birds")
    image_tree(other / "train" / "cat", {"extra": 0})  # an empty folder holds no file: same listing
    assert ImageFolderBenchmark(other).data_identity(["clean"])["fingerprint"] == files
    image_tree(other / "val", {"cat": 3})
    assert ImageFolderBenchmark(other).data_identity(["clean"])["fingerprint"] != files


def test_cifar_corruptions_are_released_generated_or_a_given_folder(tmp_path: Path) -> None:
    assert CifarBenchmark(tmp_path).data_identity(["clean", "corruptions"]) == {
        "name": "cifar10", "fingerprint": None, "corruptions": {"source": "released", "fingerprint": None}}

    given = tmp_path / "mine"
    given.mkdir()
    np.save(given / "fog.npy", np.zeros((5, 4, 4, 3), np.uint8))
    listed = CifarBenchmark(tmp_path, corruptions_dir=given).corruption_identity()
    assert listed == {"source": "corruptions_dir", "fingerprint": listing_fingerprint({"": given})}

    generated = tmp_path / "generated"
    settings = {"dataset": "cifar10", "images": 5, "side": 4, "parameters": "paper", "seed": 0, "severities": [1]}
    manifest = Manifest(generated, settings)
    generated.mkdir()
    manifest.save()
    first = CifarBenchmark(tmp_path, corruptions_dir=generated).corruption_identity()
    assert first["source"] == "generated" and len(first["fingerprint"]) == 16
    assert corruption_source(generated, given=True, list_files=False) == first  # the manifest decides
    other_seed = tmp_path / "generated_seed1"
    other_seed.mkdir()
    Manifest(other_seed, {**settings, "seed": 1}).save()
    assert corruption_source(other_seed, given=True, list_files=True)["fingerprint"] != first["fingerprint"]
