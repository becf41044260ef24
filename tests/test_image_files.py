"""Image files read faithfully: every mode Pillow reads becomes the documented RGB pixels, every
ending Pillow opens is an image, empty class folders and unreadable images are refused in one line
(also from data-loader workers), and each split's counts are logged."""

from __future__ import annotations

import logging
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_RUN, run_in_process
from PIL import Image

from augmix_bench.corrupt.sources import folder_source
from augmix_bench.data import ImageFolderBenchmark, image_files
from augmix_bench.data.image_files import IMAGE_SUFFIXES, ImageFileDataset, load_rgb
from augmix_bench.errors import UserError
from augmix_bench.evaluation.suite import iterate_batches
from augmix_bench.runtime import Runtime
from augmix_bench.training.batches import LoaderBatches
from augmix_bench.augment.views import StandardViews


def rgb(path: Path) -> np.ndarray:
    return np.asarray(load_rgb(str(path)))


def grey(values: list[int]) -> np.ndarray:
    """The RGB pixels of a one-row greyscale image of ``values``."""
    return np.repeat(np.array([values], dtype=np.uint8)[..., None], 3, axis=2)


def write_png_rgb16(path: Path, pixels: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG, written chunk by chunk (Pillow cannot write one)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


# ------------------------------------------------------------------------------------- modes


def test_sixteen_bit_greyscale_keeps_the_high_byte(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.fromarray(np.array([[0, 255, 256, 32767, 32768, 65535]], dtype=np.uint16)).save(path)
    assert Image.open(path).mode == "I;16"  # what Pillow reads a 16-bit PNG as
    assert np.array_equal(rgb(path), grey([0, 0, 1, 127, 128, 255]))  # not pure white: Pillow's own convert


def test_sixteen_bit_grey_reads_as_pillow_reads_sixteen_bit_colour(tmp_path: Path) -> None:
    values = np.array([[0, 257, 4660, 32768, 65280, 65535]], dtype=np.uint16)
    write_png_rgb16(tmp_path / "rgb16.png", np.repeat(values[..., None], 3, axis=2))
    Image.fromarray(values).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "rgb16.png").mode == "RGB"
    assert np.array_equal(rgb(tmp_path / "grey16.png"), rgb(tmp_path / "rgb16.png"))
    assert np.array_equal(rgb(tmp_path / "grey16.png"), grey([0, 1, 18, 128, 255, 255]))


def test_integer_and_float_greyscale(tmp_path: Path) -> None:
    Image.fromarray(np.array([[-5, 0, 1000, 32768, 70000]], dtype=np.int32)).save(tmp_path / "i.tif")
    Image.fromarray(np.array([[-3.0, 0.4, 126.6, 254.6, 300.0]], dtype=np.float32)).save(tmp_path / "f.tif")
    assert Image.open(tmp_path / "i.tif").mode == "I" and Image.open(tmp_path / "f.tif").mode == "F"
    assert np.array_equal(rgb(tmp_path / "i.tif"), grey([0, 0, 3, 128, 255]))  # 16-bit values, clipped
    assert np.array_equal(rgb(tmp_path / "f.tif"), grey([0, 0, 127, 255, 255]))  # rounded, not truncated


def test_alpha_is_dropped_and_the_colour_under_it_kept(tmp_path: Path) -> None:
    Image.fromarray(np.array([[[10, 20, 30, 0], [200, 100, 50, 255]]], dtype=np.uint8)).save(tmp_path / "rgba.png")
    Image.fromarray(np.array([[[77, 0], [150, 128]]], dtype=np.uint8), "LA").save(tmp_path / "la.png")
    palette = Image.new("P", (3, 1))
    palette.putpalette([10, 20, 30, 200, 100, 50, 1, 2, 3] + [0] * 759)
    for x in range(3):
        palette.putpixel((x, 0), x)
    palette.save(tmp_path / "p.png", transparency=bytes([0, 128, 255]))  # per-entry alpha: a tRNS chunk
    assert [Image.open(tmp_path / n).mode for n in ("rgba.png", "la.png", "p.png")] == ["RGBA", "LA", "P"]
    assert np.array_equal(rgb(tmp_path / "rgba.png"), np.array([[[10, 20, 30], [200, 100, 50]]]))
    assert np.array_equal(rgb(tmp_path / "la.png"), grey([77, 150]))
    assert np.array_equal(rgb(tmp_path / "p.png"), np.array([[[10, 20, 30], [200, 100, 50], [1, 2, 3]]]))


def test_bilevel_greyscale_and_cmyk_are_pillows_conversion(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (3, 1))
    for x, value in enumerate([(0, 0, 0, 0), (255, 0, 0, 0), (10, 200, 30, 40)]):
        cmyk.putpixel((x, 0), value)
    cmyk.save(tmp_path / "cmyk.tif")
    bilevel = Image.new("1", (2, 1))
    bilevel.putpixel((1, 0), 1)
    bilevel.save(tmp_path / "bilevel.png")
    Image.fromarray(np.array([[0, 99, 255]], dtype=np.uint8)).save(tmp_path / "l.png")
    assert Image.open(tmp_path / "cmyk.tif").mode == "CMYK"
    assert np.array_equal(rgb(tmp_path / "cmyk.tif"), np.asarray(Image.open(tmp_path / "cmyk.tif").convert("RGB")))
    assert rgb(tmp_path / "cmyk.tif")[0, :2].tolist() == [[255, 255, 255], [0, 255, 255]]
    assert np.array_equal(rgb(tmp_path / "bilevel.png"), grey([0, 255]))
    assert np.array_equal(rgb(tmp_path / "l.png"), grey([0, 99, 255]))


def write_square(path: Path, pixels: np.ndarray) -> None:
    """``pixels`` saved at ``path`` in the format its ending names (WebP lossless)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **({"lossless": True} if path.suffix == ".webp" else {}))


def test_training_evaluation_and_corrupt_read_sixteen_bit_alike(tmp_path: Path) -> None:
    values = np.arange(16, dtype=np.uint16).reshape(4, 4) * 4369  # 0 ... 65535
    expected = np.repeat((values >> 8).astype(np.uint8)[..., None], 3, axis=2)
    for split in ("train", "val"):
        write_square(tmp_path / split / "a" / "x.png", values)
        write_square(tmp_path / split / "b" / "y.png", np.full((4, 4, 3), 9, dtype=np.uint8))
    benchmark = ImageFolderBenchmark(tmp_path, image_size=4)
    trained, _ = benchmark.train_set()[0]
    evaluated, _ = benchmark.test_set()[0]
    corrupted = folder_source(tmp_path / "val").load(0, 1)[0]
    assert np.array_equal(np.asarray(trained), expected)
    assert np.array_equal(evaluated.permute(1, 2, 0).numpy(), expected)
    assert np.array_equal(corrupted, expected)


# ----------------------------------------------------------------------- files, classes, counts


def test_every_ending_pillow_opens_is_an_image_and_counts_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert {".bmp", ".webp", ".tif", ".tiff", ".gif", ".jpg", ".jpeg", ".png", ".ppm"} <= set(IMAGE_SUFFIXES)
    assert ".pdf" not in IMAGE_SUFFIXES  # Pillow writes PDF but cannot read it
    pixels = np.full((4, 4, 3), 60, dtype=np.uint8)
    endings = [".png", ".bmp", ".webp", ".tif", ".TIFF", ".gif", ".jpg"]
    for ending in endings:
        write_square(tmp_path / "train" / "a" / f"x{ending}", pixels)
    write_square(tmp_path / "train" / "b" / "y.png", pixels)
    (tmp_path / "train" / "b" / "notes.txt").write_text("not an image")
    (tmp_path / "train" / "b" / ".DS_Store").write_bytes(b"\x00")
    write_square(tmp_path / "val" / "a" / "z.png", pixels)
    benchmark = ImageFolderBenchmark(tmp_path, image_size=4)
    with caplog.at_level(logging.INFO, logger="augmix_bench.data.image_files"):
        train = benchmark.train_set()
        benchmark.train_set()
        benchmark.test_set()
    assert len(train) == len(endings) + 1
    assert sorted(Path(p).name for p, label in train.samples if label == 0) == sorted(f"x{e}" for e in endings)
    assert all(np.array_equal(np.asarray(train[i][0]), pixels) for i in range(len(train)))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"train: {len(endings) + 1} images in 2 of 2 classes ({tmp_path / 'train'}); "
        "1 other file passed over (b/notes.txt)",
        f"val: 1 image in 1 of 2 classes ({tmp_path / 'val'})",
    ]


def test_an_empty_class_folder_is_refused(tmp_path: Path) -> None:
    write_square(tmp_path / "train" / "a" / "x.png", np.zeros((4, 4, 3), dtype=np.uint8))
    (tmp_path / "train" / "empty").mkdir()
    with pytest.raises(UserError) as raised:
        ImageFolderBenchmark(tmp_path).train_set()
    assert str(raised.value) == (
        f"class folder {tmp_path / 'train' / 'empty'} holds no images (it is empty); "
        "add its images or remove the folder"
    )
    (tmp_path / "train" / "empty" / "readme.md").write_text("-")
    with pytest.raises(UserError, match=r"empty holds no images \(only 1 other file: readme.md\)"):
        ImageFolderBenchmark(tmp_path).train_set()


def write_tree(root: Path, per_class: int = 6) -> None:
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("val", 2)):
        for name in ("a", "b"):
            for i in range(count):
                write_square(root / split / name / f"{i}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))


def test_training_refuses_an_empty_class_folder_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "data")
    (tmp_path / "data" / "train" / "c").mkdir()
    monkeypatch.chdir(tmp_path)
    result = run_in_process(
        "augmix-train", "dataset=image_folder", f"dataset.root={tmp_path / 'data'}", "model=wrn40_2",
        f"hydra.run.dir={tmp_path / 'run'}", *TINY_RUN, "eval.suites=[clean]",
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"augmix-train: error: class folder {tmp_path / 'data' / 'train' / 'c'} holds no images (it is empty); "
        "add its images or remove the folder\n"
    )
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------ unreadable images


def bad_tree(root: Path) -> Path:
    write_tree(root)
    bad = root / "train" / "a" / "3.png"
    bad.write_bytes(b"not an image")
    return bad


def test_an_unreadable_image_is_refused_before_training_with_the_check_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = bad_tree(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "data"
    args = ("dataset=image_folder", f"dataset.root={root}", "model=wrn40_2", *TINY_RUN, "eval.suites=[clean]")
    result = run_in_process("augmix-train", *args, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2 and not (tmp_path / "run").exists()
    assert result.stderr == (
        f"augmix-train: error: {bad} is not a readable image (Pillow recognizes no image format in it)\n"
    )
    shutil.copy(tmp_path / "data" / "train" / "a" / "0.png", bad)
    assert run_in_process("augmix-train", *args, f"hydra.run.dir={tmp_path / 'good'}").returncode == 0
    log = (tmp_path / "good" / "train.log").read_text()
    assert "train/ and val/: all 16 images decode (checked in " in log


def test_an_unreadable_image_met_by_a_worker_is_one_line(tmp_path: Path) -> None:
    bad = bad_tree(tmp_path)
    samples = [(str(p), 0) for p in sorted((tmp_path / "train" / "a").glob("*.png"))]
    runtime = Runtime(device=torch.device("cpu"), num_workers=1)
    expected = f"{bad} is not a readable image (Pillow recognizes no image format in it)"
    with pytest.raises(UserError) as raised:
        list(iterate_batches(ImageFileDataset(samples, lambda image: torch.zeros(1)), 2, runtime))
    assert str(raised.value) == expected
    views = StandardViews(ImageFileDataset(samples), lambda image: torch.zeros(1), seed=0)
    with pytest.raises(UserError) as raised:
        list(LoaderBatches(views, 2, 0, runtime))
    assert str(raised.value) == expected


def test_training_with_workers_stops_at_an_unreadable_image_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = bad_tree(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(image_files, "CHECK_IMAGES_MAX", 10)  # a set too large to decode ahead
    result = run_in_process(
        "augmix-train", "dataset=image_folder", f"dataset.root={tmp_path / 'data'}", "model=wrn40_2",
        f"hydra.run.dir={tmp_path / 'run'}", *TINY_RUN, "trainer.num_workers=1", "trainer.data_pipeline=cpu",
        "eval.suites=[clean]",
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"augmix-train: error: {bad} is not a readable image (Pillow recognizes no image format in it)\n"
    )
    assert not (tmp_path / "run").exists()
