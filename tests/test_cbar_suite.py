"""-C-bar through the tool: ``augmix-corrupt corrupt.suite=cbar`` writes a seeded, resumable set in
the CIFAR-10-C-bar layout, and ``augmix-eval eval.suites=[clean,corruptions_bar]`` reads it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_in_process, write_cifar

from augmix_bench.commands.build import build_model_from_config
from augmix_bench.corrupt.cbar import CBAR_CORRUPTIONS as CBAR_PARAMETER_NAMES
from augmix_bench.corrupt.cbar import corrupt_cbar
from augmix_bench.corrupt.seeding import image_generators
from augmix_bench.data import CifarBenchmark
from augmix_bench.data.constants import CIFAR_MEAN, CIFAR_STD
from augmix_bench.data.names import CBAR_CORRUPTIONS

QUIET = ("progress=false",)
MODEL = ("model=wrn40_2", "model.depth=10", "model.widen_factor=1")
CIFAR_CBAR = CBAR_CORRUPTIONS["cifar"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.npy"))}


def _corrupt(root: Path, *args: str) -> None:
    result = run_in_process("augmix-corrupt", f"dataset.root={root}", "corrupt.suite=cbar", "corrupt.workers=1", *QUIET, *args)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def cbar(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 20-image CIFAR-10 folder and its -C-bar set, seed 0, in chunks of 7 images."""
    root = tmp_path_factory.mktemp("cbar")
    test_x, test_y = write_cifar(root, "cifar10", n_train=20, n_test=20)
    _corrupt(root, "seed=0", "corrupt.chunk_size=7")
    return {"root": root, "x": test_x, "y": test_y, "out": root / "CIFAR-10-C-Bar-seed0"}


def test_names_agree_with_the_parameter_tables() -> None:
    assert CBAR_CORRUPTIONS == CBAR_PARAMETER_NAMES


def test_the_set_is_in_the_cifar10_c_bar_layout(cbar: dict) -> None:
    out = cbar["out"]
    assert sorted(_files(out)) == sorted([f"{c}.npy" for c in CIFAR_CBAR] + ["labels.npy"])
    assert np.load(out / "labels.npy").tolist() == np.tile(cbar["y"], 5).tolist()
    manifest = json.loads((out / "augmix_corrupt.json").read_text())
    assert manifest["settings"]["suite"] == "cbar" and manifest["settings"]["parameters"] == "cifar"
    assert manifest["generator"] == {"tool": "augmix-corrupt", "version": "0.1.0"}
    # row (severity 4, image 9) of ripple is the reference corruption of that image with its generator
    ripple = np.load(out / "ripple.npy")
    assert ripple.shape == (100, 32, 32, 3) and ripple.dtype == np.uint8
    rng = image_generators(0, "ripple", 4, [9])[0]
    assert np.array_equal(ripple[3 * 20 + 9], corrupt_cbar(cbar["x"][9], "ripple", 4, rng, "cifar"))
    assert not np.array_equal(ripple[3 * 20 + 9], cbar["x"][9])


def test_same_seed_same_bytes_other_seed_other_bytes(cbar: dict, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    _corrupt(cbar["root"], f"output={again}", "seed=0", "corrupt.chunk_size=20")
    assert _files(again) == _files(cbar["out"])
    _corrupt(cbar["root"], f"output={other}", "seed=1", "corrupt.corruptions=[ripple,circular_motion_blur]")
    assert (other / "ripple.npy").read_bytes() != (cbar["out"] / "ripple.npy").read_bytes()
    # circular_motion_blur draws no random numbers: the seed does not change it
    assert (other / "circular_motion_blur.npy").read_bytes() == (cbar["out"] / "circular_motion_blur.npy").read_bytes()


def test_an_interrupted_run_resumes_to_the_same_bytes(cbar: dict, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    _corrupt(cbar["root"], f"output={out}", "seed=0", "corrupt.chunk_size=7", "corrupt.corruptions=[lines,ripple]")
    work = out / ".augmix-corrupt" / "sparkles"  # as a kill leaves it: one chunk done, one damaged
    work.mkdir(parents=True)
    np.save(work / "1_0.npy", np.load(cbar["out"] / "sparkles.npy")[0:7])
    (work / "1_7.npy").write_bytes(b"damaged")
    _corrupt(cbar["root"], f"output={out}", "seed=0", "corrupt.chunk_size=7")
    assert _files(out) == _files(cbar["out"])
    assert not (out / ".augmix-corrupt").exists()


def test_unknown_suite_is_one_line_naming_the_suites(cbar: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "never"
    result = run_in_process("augmix-corrupt", f"dataset.root={cbar['root']}", "corrupt.suite=cbarx", f"output={out}", *QUIET)
    assert (result.returncode, result.stderr) == (
        2, "augmix-corrupt: error: corrupt.suite='cbarx' is invalid; choose from: c, cbar\n"
    )
    assert not out.exists()
    result = run_in_process("augmix-corrupt", f"dataset.root={cbar['root']}", "corrupt.suite=cbar",
                            "corrupt.corruptions=[fog]", f"output={out}", *QUIET)
    assert result.returncode == 2 and "'fog' is not a corruption of the cifar -C-bar set" in result.stderr
    assert not out.exists()


def _predict(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """The model's classes for uint8 images (N, 32, 32, 3), normalized as CIFAR's."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return model.eval()((x - mean) / std).argmax(1).numpy()


def test_eval_reads_the_generated_set(cbar: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = build_model_from_config({"name": "wrn40_2", "_target_": "augmix_bench.models.wrn40_2", "depth": 10,
                                     "widen_factor": 1}, 10)
    with torch.no_grad():
        model.fc.weight.mul_(1000.0)  # a fresh head predicts nearly one class for every image
    weights = tmp_path / "w.pt"
    torch.save(model.state_dict(), weights)
    output = tmp_path / "eval.json"
    result = run_in_process(
        "augmix-eval", f"checkpoint={weights}", "checkpoint_format=state_dict", *MODEL, "dataset=cifar10",
        f"dataset.root={cbar['root']}", f"dataset.corruptions_bar_dir={cbar['out']}", "eval.suites=[clean,corruptions_bar]",
        "trainer.accelerator=cpu", "trainer.num_workers=0", "trainer.progress=false", f"output={output}",
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(output.read_text())
    entry = results["corruptions_bar"]
    assert list(entry["per_corruption"]) == list(CIFAR_CBAR) == entry["corruptions"]
    by_hand = {}
    for name in CIFAR_CBAR:
        array = np.load(cbar["out"] / f"{name}.npy")
        errors = [100.0 * np.mean(_predict(model, array[(s - 1) * 20 : s * 20]) != cbar["y"]) for s in range(1, 6)]
        assert entry["per_corruption"][name]["errors"] == pytest.approx(errors, abs=1e-6), name
        by_hand[name] = float(np.mean(errors))
    assert len(set(by_hand.values())) > 1  # the corruptions differ: a mix-up of files would show
    assert entry["mean_error"] == pytest.approx(float(np.mean(list(by_hand.values()))), abs=1e-4)
    assert results["clean"]["error"] == pytest.approx(100.0 * np.mean(_predict(model, cbar["x"]) != cbar["y"]), abs=1e-6)
    assert results["corruptions"] is None
    assert results["data"]["corruptions_bar"]["source"] == "generated"
    bar = results["protocol"]["sets"]["corruptions_bar"]
    assert (bar["source"], bar["seed"], bar["suite"], bar["version"]) == ("generated", 0, "cbar", "0.1.0")
    assert bar["headline"] == list(CIFAR_CBAR) and bar["manifest"] == str(cbar["out"] / "augmix_corrupt.json")


def test_a_missing_set_is_refused_with_how_to_build_it(cbar: dict) -> None:
    benchmark = CifarBenchmark(cbar["root"])
    problem = benchmark.missing("corruptions_bar")
    assert problem is not None and "CIFAR-10-C-Bar" in problem
    with pytest.raises(Exception, match="augmix-corrupt corrupt.suite=cbar"):
        benchmark.prepare(["corruptions_bar"], download=False)
