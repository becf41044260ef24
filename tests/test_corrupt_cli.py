"""augmix-corrupt end to end: the CIFAR layout the loaders read, seeds, resuming after a kill, the
ImageNet-C and image-folder layouts, evaluation of a generated set, and one-line errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_RUN, run_cli, run_in_process, write_cifar
from omegaconf import OmegaConf
from PIL import Image

from augmix_bench.corrupt import (
    ALL_CORRUPTIONS,
    DETERMINISTIC,
    CorruptionSetting,
    corrupt_images,
    image_generators,
)
from augmix_bench.commands.corrupt import run_corrupt
from augmix_bench.data import CifarBenchmark, ImageNetBenchmark
from augmix_bench.errors import UserError
from augmix_bench.schema import CORRUPT_NAMES

QUIET = ("progress=false",)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.npy"))}


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory, frost_cache: Path) -> dict:
    """A 20-image CIFAR-10 folder and its -C set generated with seed 0 on 2 workers (with the
    original frost textures in $AUGMIX_CACHE: conftest's frost_cache)."""
    root = tmp_path_factory.mktemp("corrupt")
    test_x, test_y = write_cifar(root, "cifar10", n_train=64, n_test=20)
    run_cli("augmix-corrupt", f"dataset.root={root}", "seed=0", "corrupt.workers=2", *QUIET, cwd=root)
    return {"root": root, "x": test_x, "y": test_y, "out": root / "CIFAR-10-C-seed0"}


@pytest.mark.e2e
def test_cifar_set_is_in_the_loader_layout(cifar: dict) -> None:
    out = cifar["out"]
    assert sorted(_files(out)) == sorted([f"{c}.npy" for c in ALL_CORRUPTIONS] + ["labels.npy"])
    assert not (out / ".augmix-corrupt").exists()
    labels = np.load(out / "labels.npy")
    assert labels.dtype == np.uint8 and labels.tolist() == np.tile(cifar["y"], 5).tolist()
    benchmark = CifarBenchmark(cifar["root"], corruptions_dir=out)
    assert benchmark.missing("corruptions") is None
    for name in ("fog", "pixelate"):
        array = np.load(out / f"{name}.npy")
        assert array.shape == (100, 32, 32, 3) and array.dtype == np.uint8
        images, _ = benchmark.corrupted_set(name, 3)[7]
        assert torch.equal(images, torch.from_numpy(array[47]).permute(2, 0, 1))
    # each row is the corruption of its clean image at its severity
    pixelate = np.load(out / "pixelate.npy")
    assert np.array_equal(pixelate[80:], corrupt_images(cifar["x"], "pixelate", CorruptionSetting("cifar", 32, 5), None))
    noise = np.load(out / "gaussian_noise.npy")
    expected = corrupt_images(cifar["x"][5:6], "gaussian_noise", CorruptionSetting("cifar", 32, 2), image_generators(0, "gaussian_noise", 2, [5]))
    assert np.array_equal(noise[25:26], expected)


@pytest.mark.e2e
def test_same_seed_same_bytes_whatever_the_workers_other_seed_other_bytes(cifar: dict, tmp_path: Path) -> None:
    root = cifar["root"]
    again, other = tmp_path / "again", tmp_path / "other"
    names = ["glass_blur", "frost", "zoom_blur", "spatter"]
    run_cli("augmix-corrupt", f"dataset.root={root}", f"output={again}", "seed=0", "corrupt.workers=1", "corrupt.chunk_size=7",
            f"corrupt.corruptions=[{','.join(names)}]", *QUIET, cwd=tmp_path)
    assert _files(again) == {k: v for k, v in _files(cifar["out"]).items() if k[:-4] in names + ["labels"]}
    run_cli("augmix-corrupt", f"dataset.root={root}", f"output={other}", "seed=1", f"corrupt.corruptions=[{','.join(names)}]", *QUIET, cwd=tmp_path)
    for name in names:
        same = (other / f"{name}.npy").read_bytes() == (cifar["out"] / f"{name}.npy").read_bytes()
        assert same == (name in DETERMINISTIC), name


@pytest.mark.e2e
@pytest.mark.signals
def test_a_killed_run_resumes_to_the_same_bytes(cifar: dict, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    names = ["gaussian_noise", "contrast", "glass_blur", "fog", "jpeg_compression"]
    command = [str(Path(sys.executable).with_name("augmix-corrupt")), f"dataset.root={cifar['root']}", f"output={out}",
               "seed=0", "corrupt.workers=2", "corrupt.chunk_size=2", f"corrupt.corruptions=[{','.join(names)}]", *QUIET]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    manifest = out / "augmix_corrupt.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.is_file() and len(json.loads(manifest.read_text())["finished"]) >= 2:
            break
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = json.loads(manifest.read_text())["finished"]
    assert 2 <= len(finished) < len(names)  # killed midway
    (out / f"{next(iter(finished))}.npy").write_bytes(b"damaged")  # a damaged finished file is redone
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, env=env)
    assert _files(out) == {k: v for k, v in _files(cifar["out"]).items() if k[:-4] in names + ["labels"]}


@pytest.mark.e2e
def test_evaluation_reads_the_generated_folder(cifar: dict, tmp_path: Path) -> None:
    root = cifar["root"]
    run_dir = tmp_path / "run"
    run_cli("augmix-train", f"dataset.root={root}", f"hydra.run.dir={run_dir}", *TINY_RUN, "eval.suites=[clean]", cwd=tmp_path)
    checkpoint = run_dir / "checkpoints" / "last.pt"
    state = torch.load(checkpoint, weights_only=False)
    del state["config"]["dataset"]["corruptions_dir"]  # as saved before the key existed
    old = tmp_path / "old.pt"
    torch.save(state, old)
    output = tmp_path / "eval.json"
    run_cli("augmix-eval", f"checkpoint={old}", f"dataset.corruptions_dir={cifar['out']}", "eval.suites=[corruptions]",
            f"output={output}", "trainer.progress=false", cwd=tmp_path)
    results = json.loads(output.read_text())
    assert results["config"]["dataset"]["corruptions_dir"] == str(cifar["out"])
    per = results["corruptions"]["per_corruption"]
    assert len(per) == 15 and all(len(v["errors"]) == 5 for v in per.values())
    assert not (root / "CIFAR-10-C").exists()  # there is no released set to read instead


def _write_tree(folder: Path, sizes: list[tuple[int, int]], suffix: str, classes: tuple[str, ...] = ("cat", "dog")) -> None:
    rng = np.random.default_rng(3)
    for k, size in enumerate(sizes):
        path = folder / classes[k % len(classes)] / f"img{k}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        Image.fromarray(np.kron(pixels, np.ones((8, 8, 1), dtype=np.uint8))).save(path, quality=95)


@pytest.mark.e2e
def test_imagenet_layout(tmp_path: Path) -> None:
    _write_tree(tmp_path / "imagenet" / "val", [(320, 256), (256, 288), (400, 296)], ".JPEG", ("n01", "n02"))
    run_cli("augmix-corrupt", "dataset=imagenet", f"dataset.root={tmp_path}", "corrupt.corruptions=[brightness,fog]",
            "corrupt.workers=1", *QUIET, cwd=tmp_path)
    out = tmp_path / "ImageNet-C-seed0"
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.JPEG"))
    assert len(files) == 2 * 5 * 3 and "fog/3/n02/img1.JPEG" in files
    with Image.open(out / "brightness" / "2" / "n01" / "img0.JPEG") as image:
        assert image.format == "JPEG" and image.size == (224, 224)
        stored = np.asarray(image.convert("RGB")).astype(int)
    clean = ImageNetBenchmark(tmp_path).test_set()[0][0].permute(1, 2, 0).numpy()  # Resize(256) + CenterCrop(224)
    expected = corrupt_images(clean[None], "brightness", CorruptionSetting("imagenet", 224, 2), None)[0]
    buffer = io.BytesIO()
    Image.fromarray(expected).save(buffer, "JPEG", quality=85, optimize=True)  # as the ImageNet-C script saved
    assert np.array_equal(stored, np.asarray(Image.open(buffer)))
    corrupted = ImageNetBenchmark(tmp_path, corruptions_dir=out).corrupted_set("fog", 5)
    assert len(corrupted) == 3 and [corrupted[i][1] for i in range(3)] == [0, 0, 1]


def _folder_config(root: Path, output: Path | None = None, **corrupt) -> OmegaConf:
    dataset = {"name": "image_folder", "_target_": "augmix_bench.data.ImageFolderBenchmark", "root": str(root)}
    return OmegaConf.create({"dataset": dataset, "output": output and str(output), "seed": 0,
                             "progress": False, "corrupt": {"workers": 1, **corrupt}})


def test_image_folder_layout_is_lossless_png(tmp_path: Path) -> None:
    _write_tree(tmp_path / "val", [(48, 48)] * 3, ".png")
    out = run_corrupt(_folder_config(tmp_path, corruptions=["pixelate", "shot_noise"], severities=[2, 4]))
    assert out == tmp_path / "corruptions"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))[:3] == [
        "pixelate/2/cat/img0.png", "pixelate/2/cat/img2.png", "pixelate/2/dog/img1.png"]
    assert not (out / "pixelate" / "1").exists()
    clean = np.asarray(Image.open(tmp_path / "val" / "dog" / "img1.png"))
    stored = np.asarray(Image.open(out / "pixelate" / "4" / "dog" / "img1.png"))
    assert np.array_equal(stored, corrupt_images(clean[None], "pixelate", CorruptionSetting("cifar", 48, 4), None)[0])
    imagenet_table = run_corrupt(_folder_config(tmp_path, tmp_path / "in", corruptions=["pixelate"], severities=[4], parameters="imagenet"))
    stored = np.asarray(Image.open(imagenet_table / "pixelate" / "4" / "dog" / "img1.png"))
    assert np.array_equal(stored, corrupt_images(clean[None], "pixelate", CorruptionSetting("imagenet", 48, 4), None)[0])


def test_image_folder_needs_square_images_of_one_size(tmp_path: Path) -> None:
    _write_tree(tmp_path / "val", [(48, 48), (48, 40)], ".png")
    with pytest.raises(UserError, match="must be square and all 48x48"):
        run_corrupt(_folder_config(tmp_path))


@pytest.mark.e2e
def test_bad_input_is_one_line_before_any_work(cifar: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = cifar["root"]
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-corrupt", f"dataset.root={root}", "corrupt.corruptions=[fog,rain]", *QUIET)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "augmix-corrupt: error: corrupt.corruptions=['fog', 'rain'] is invalid; accepted: null or a non-empty list "
        f"of distinct items, each one of {', '.join(CORRUPT_NAMES)}"
    ]
    cifar_config = {"dataset": {"name": "cifar10", "_target_": "augmix_bench.data.CifarBenchmark", "variant": "cifar10",
                                "root": str(root)},
                    "output": None, "seed": 0, "progress": False, "corrupt": {"workers": 1}}
    cases = [
        ({"output": str(root / "CIFAR-10-C")}, "is the released CIFAR-10-C folder"),
        ({"output": str(root / "cifar-10-batches-py")}, "already holds files that augmix-corrupt did not write"),
        ({"output": str(cifar["out"]), "seed": 3}, "generated with seed=0, not 3"),
        ({"corrupt": {"parameters": "tiny"}}, "unknown corrupt.parameters 'tiny'; choose from: cifar, imagenet"),
        ({"corrupt": {"severities": [2]}}, "holds all 5 severities"),
        ({"corrupt": {"severities": [6]}}, r"corrupt.severities=\[6\] is invalid; accepted: a non-empty list of distinct items, each an integer in \[1, 5\]"),
        ({"corrupt": {"workers": 0}}, "corrupt.workers must be a positive integer or null"),
        ({"dataset": {"name": "svhn", "_target_": "mypkg.Svhn"}}, "cannot corrupt dataset 'svhn'; choose from: cifar10, cifar100, imagenet, image_folder"),
    ]
    for change, message in cases:
        config = OmegaConf.merge(cifar_config, change)
        with pytest.raises(UserError, match=message):
            run_corrupt(config)
    assert not (root / "CIFAR-10-C").exists()
