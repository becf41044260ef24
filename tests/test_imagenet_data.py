"""ImageNet, ImageNet-C and ImageNet-P on tiny ImageFolder trees of JPEGs (and MP4s) written here."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from archive_server import ArchiveServer, md5, serve, tar_folder
from PIL import Image

from augmix_bench.evaluation import alexnet
from augmix_bench.data.spatial import RandomResizedCropFlip
from augmix_bench.commands.build import build_benchmark_from_config as build_benchmark
from augmix_bench.data import CORRUPTIONS, IMAGENET_PERTURBATIONS, ImageNetBenchmark
from augmix_bench.data.sources import IMAGENET_CORRUPTED
from augmix_bench.errors import UserError
from augmix_bench.evaluation.suite import Evaluator
from augmix_bench.evaluation.metrics import mce, relative_mce
from augmix_bench.runtime import Runtime

CLASSES = ("n01440764", "n01443537", "n01484850")
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "dataset" / "imagenet.yaml"


def write_jpeg(path: Path, rng: np.random.Generator, size: tuple[int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)


def write_tree(
    folder: Path, classes: tuple[str, ...], per_class: int, rng: np.random.Generator, size=(48, 40)
) -> None:
    for wnid in classes:
        for i in range(per_class):
            write_jpeg(folder / wnid / f"{wnid}_{i}.JPEG", rng, size)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    write_tree(tmp_path / "imagenet" / "train", CLASSES, 2, rng)
    write_tree(tmp_path / "imagenet" / "val", CLASSES, 2, rng, size=(40, 52))
    return tmp_path


def small(root: Path, **kwargs) -> ImageNetBenchmark:
    return ImageNetBenchmark(root, image_size=32, resize_size=36, **kwargs)


def test_config_keys_are_the_constructor_arguments(root: Path) -> None:
    options = yaml.safe_load(CONFIG.read_text())
    benchmark = build_benchmark({**options, "root": str(root), "download": False})
    assert isinstance(benchmark, ImageNetBenchmark) and benchmark.alexnet_normalized
    assert (benchmark.image_size, benchmark.resize_size) == (224, 256)
    assert benchmark.mean == (0.485, 0.456, 0.406) and benchmark.std == (0.229, 0.224, 0.225)


def test_clean_splits(root: Path) -> None:
    benchmark = small(root)
    assert benchmark.classes == list(CLASSES) and benchmark.num_classes == 3
    image, label = benchmark.train_set()[3]
    assert isinstance(image, Image.Image) and image.size == (48, 40) and label == 1
    spatial = benchmark.train_spatial()
    assert isinstance(spatial, RandomResizedCropFlip) and spatial.size == 32
    test = benchmark.test_set()
    assert len(test) == 6
    tensor, label = test[5]
    assert tensor.dtype == torch.uint8 and tuple(tensor.shape) == (3, 32, 32) and label == 2
    # Resize(36) on the shorter side (40 x 52 -> 36 x 46, bilinear) then the central 32 x 32 crop
    with Image.open(root / "imagenet" / "val" / CLASSES[2] / f"{CLASSES[2]}_1.JPEG") as img:
        resized = img.convert("RGB").resize((36, int(36 * 52 / 40)), Image.BILINEAR)
    top, left = int(round((46 - 32) / 2)), int(round((36 - 32) / 2))
    expected = np.asarray(resized)[top : top + 32, left : left + 32]
    np.testing.assert_array_equal(tensor.permute(1, 2, 0).numpy(), expected)


def test_corrupted_classes_align_with_clean_ones(root: Path) -> None:
    rng = np.random.default_rng(1)
    folder = root / "ImageNet-C" / "fog" / "3"
    write_tree(folder, (CLASSES[2],), 2, rng, size=(34, 34))
    write_tree(root / "ImageNet-C" / "fog" / "4", (CLASSES[0], CLASSES[2]), 1, rng, size=(34, 34))
    benchmark = small(root, corrupted_transform="center_crop")
    severity3 = benchmark.corrupted_set("fog", 3)
    assert [severity3[i][1] for i in range(len(severity3))] == [2, 2]
    severity4 = benchmark.corrupted_set("fog", 4)
    assert [severity4[i][1] for i in range(len(severity4))] == [0, 2]
    image, _ = severity3[0]
    with Image.open(folder / CLASSES[2] / f"{CLASSES[2]}_0.JPEG") as img:
        expected = np.asarray(img.convert("RGB"))[1:33, 1:33]  # CenterCrop(32) only, no resize
    np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), expected)


def test_imagenet_c_default_protocol_is_the_clean_transform(root: Path) -> None:
    """A -C tree of byte-identical copies of the val images: under the default (the reference's
    Resize + CenterCrop) every corruption error equals the clean error; center_crop sees other pixels."""
    for corruption in CORRUPTIONS:
        for severity in range(1, 6):
            shutil.copytree(root / "imagenet" / "val", root / "ImageNet-C" / corruption / str(severity))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 3))
    runtime = Runtime(device=torch.device("cpu"), progress=False)
    benchmark = small(root)
    assert benchmark.corrupted_transform == "resize_crop"
    results = Evaluator(benchmark, runtime, batch_size=6).run(model, ["clean", "corruptions"])
    clean = results["clean"]["error"]
    assert 0 < clean < 100
    for entry in results["corruptions"]["per_corruption"].values():
        assert entry["errors"] == [clean] * 5
    np.testing.assert_array_equal(benchmark.corrupted_set("fog", 2)[5][0], benchmark.test_set()[5][0])
    cropped = small(root, corrupted_transform="center_crop").corrupted_set("fog", 2)[5][0]
    with Image.open(root / "imagenet" / "val" / CLASSES[2] / f"{CLASSES[2]}_1.JPEG") as img:
        expected = np.asarray(img.convert("RGB"))[10:42, 4:36]  # 52 x 40 image, central 32 x 32
    np.testing.assert_array_equal(cropped.permute(1, 2, 0).numpy(), expected)
    with pytest.raises(UserError, match=r"dataset.corrupted_transform='resize' is invalid; accepted: resize_crop, center_crop"):
        small(root, corrupted_transform="resize")


def test_unknown_class_folder_is_refused(root: Path) -> None:
    write_tree(root / "ImageNet-C" / "fog" / "1", ("n99999999",), 1, np.random.default_rng(2))
    with pytest.raises(UserError) as info:
        small(root).corrupted_set("fog", 1)
    assert str(info.value) == (
        f"{root / 'ImageNet-C' / 'fog' / '1' / 'n99999999'}: class 'n99999999' is not among the 3 classes "
        "of the clean training set"
    )


def test_missing_parts_say_how_to_obtain_them(tmp_path: Path) -> None:
    benchmark = small(tmp_path)
    clean = benchmark.missing("clean")
    assert clean is not None and clean.startswith(
        f"imagenet not found: {tmp_path / 'imagenet' / 'val'} does not exist"
    )
    assert "cannot be downloaded automatically (licence)" in clean and "https://image-net.org" in clean
    with pytest.raises(UserError) as info:
        benchmark.prepare(["clean"], download=True)
    assert str(info.value) == f"{clean}; point dataset.root (env AUGMIX_DATA) at the folder that holds it"
    with pytest.raises(UserError, match="cannot download 'clean'.*licence"):
        benchmark.download("clean")
    assert benchmark.missing("corruptions") == (
        f"ImageNet-C incomplete in {tmp_path / 'ImageNet-C'} "
        "(missing gaussian_noise/1, gaussian_noise/2, gaussian_noise/3 ...)"
    )
    perturbed = benchmark.missing("perturbations")
    assert (
        perturbed is not None and "https://zenodo.org/record/3565846" in perturbed and "\n" not in perturbed
    )
    assert not benchmark.can_download("perturbations") and benchmark.can_download("corruptions")


def test_mirror_options(tmp_path: Path) -> None:
    benchmark = small(
        tmp_path, corruptions_url="http://mirror.example/c/", corruptions_md5={"noise": "ab" * 16}
    )
    noise = benchmark.corruption_archives["noise"]
    assert noise.url == "http://mirror.example/c/noise.tar" and noise.md5 == "ab" * 16
    assert benchmark.corruption_archives["blur"].md5 == IMAGENET_CORRUPTED["blur"].md5
    with pytest.raises(
        UserError, match="dataset.corruptions_md5 has no archive 'extra'; accepted: noise, blur"
    ):
        small(tmp_path, corruptions_md5={"extra": "0" * 32})


@pytest.fixture()
def server() -> Iterator[ArchiveServer]:
    with serve() as running:
        yield running


def test_imagenet_c_download_and_mce(root: Path, server: ArchiveServer, tmp_path: Path) -> None:
    """The four ImageNet-C archives install from a mirror; the suite reports CE, mCE and relative mCE."""
    rng = np.random.default_rng(3)
    digests = {}
    for key, archive in IMAGENET_CORRUPTED.items():
        source = tmp_path / "source" / key
        for corruption in archive.folders:
            for severity in range(1, 6):
                write_tree(
                    source / corruption / str(severity), CLASSES[: 1 + severity % 3], 1, rng, size=(32, 32)
                )
        data = tar_folder(source, ".")
        server.add(f"mirror/{archive.filename}", data)
        digests[key] = md5(data)
    benchmark = small(root, corruptions_url=server.url("mirror"), corruptions_md5=digests)
    (root / "ImageNet-C" / "gaussian_noise" / "1").mkdir(parents=True)  # a partial earlier install
    benchmark.prepare(["clean", "corruptions"], download=True, progress=False)
    assert sorted(p.name for p in (root / "ImageNet-C").iterdir()) == sorted(CORRUPTIONS)
    assert not (root / "downloads").exists()

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 3))
    runtime = Runtime(device=torch.device("cpu"), progress=False)
    results = Evaluator(benchmark, runtime, batch_size=4).run(model, ["clean", "corruptions"])
    corruptions = results["corruptions"]
    fractions = {c: [e / 100 for e in v["errors"]] for c, v in corruptions["per_corruption"].items()}
    assert corruptions["mce"] == pytest.approx(mce(fractions))
    assert corruptions["relative_mce"] == pytest.approx(
        relative_mce(fractions, results["clean"]["error"] / 100)
    )
    for corruption, entry in corruptions["per_corruption"].items():
        assert entry["ce"] == pytest.approx(
            100 * sum(fractions[corruption]) / (5 * alexnet.CORRUPTION_ERRORS[corruption])
        )
    assert corruptions["mean_error"] == pytest.approx(
        np.mean([np.mean(v["errors"]) for v in corruptions["per_corruption"].values()])
    )
    # every severity folder holds 1 + severity % 3 images: the errors are multiples of those fractions
    assert all(
        math.isclose(e * (1 + s % 3) / 100, round(e * (1 + s % 3) / 100))
        for v in corruptions["per_corruption"].values()
        for s, e in enumerate(v["errors"], 1)
    )


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def test_imagenet_p_sequences(root: Path) -> None:
    rng = np.random.default_rng(4)
    folder = root / "ImageNet-P" / "rotate"
    for wnid in (CLASSES[1], CLASSES[2]):
        write_video(folder / wnid / f"{wnid}.mp4", [np.full((36, 36, 3), 40 * t, np.uint8) for t in range(5)])
    perturbed = small(root).perturbed_set("rotate")
    assert (perturbed.num_sequences, perturbed.num_frames, len(perturbed.frames)) == (2, 5, 10)
    image, label = perturbed.frames[7]  # video 1 (class 2), frame 2
    assert label == 2 and tuple(image.shape) == (3, 32, 32) and image.dtype == torch.uint8
    assert abs(float(image.float().mean()) - 80) < 3  # lossy codec: close to the written grey level
    assert [perturbed.frames[i][1] for i in range(0, 10, 5)] == [1, 2]
    write_video(folder / CLASSES[2] / "z_short.mp4", [rng.integers(0, 256, (36, 36, 3), dtype=np.uint8)] * 3)
    frames = small(root).perturbed_set("rotate").frames
    with pytest.raises(
        UserError,
        match=r"z_short\.mp4: expected 5 frames \(as the first video of its perturbation\), found 3",
    ):
        frames[12]
    with pytest.raises(UserError, match="unknown perturbation 'spatter'; choose from: gaussian_noise"):
        small(root).perturbed_set("spatter")
    assert "snow" in IMAGENET_PERTURBATIONS


def test_unreadable_video(root: Path) -> None:
    path = root / "ImageNet-P" / "tilt" / CLASSES[0] / "broken.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a video")
    with pytest.raises(UserError, match=r"broken\.mp4 is not a readable video"):
        small(root).perturbed_set("tilt")


def test_random_resized_crop_matches_torchvision_on_the_same_box() -> None:
    """Crop, then resize (torchvision's resized_crop), not PIL's resize with ``box=``."""
    from torchvision.transforms import functional as TF

    rng = np.random.default_rng(7)
    img = Image.fromarray(rng.integers(0, 256, size=(61, 83, 3), dtype=np.uint8))
    spatial = RandomResizedCropFlip(24)
    for seed in range(8):
        draw = np.random.default_rng(seed)
        left, top, w, h = spatial.box(*img.size, draw)
        expected = TF.resized_crop(img, top, left, h, w, [24, 24], TF.InterpolationMode.BILINEAR)
        if draw.uniform() < 0.5:
            expected = TF.hflip(expected)
        np.testing.assert_array_equal(np.asarray(spatial(img, np.random.default_rng(seed))), np.asarray(expected))
