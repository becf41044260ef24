"""The commands agree: ``augmix-corrupt`` refuses lists that would build a tree ``augmix-eval``
refuses or that silently mean "all"; a corruption folder passed to ``augmix-eval`` asks for the
corruptions suite; an image folder's headline follows the paper's 15 corruptions, the held-out
four reported apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_RUN, run_in_process
from PIL import Image

from augmix_bench.commands.corrupt import run_corrupt
from augmix_bench.data import ImageFolderBenchmark
from augmix_bench.data.names import CORRUPTIONS, SEVERITIES
from augmix_bench.errors import UserError
from augmix_bench.evaluation.suite import Evaluator
from augmix_bench.runtime import Runtime
from augmix_bench.schema import ALL_CORRUPTIONS, CORRUPT_NAMES

NAMES = ", ".join(CORRUPT_NAMES)


@pytest.mark.parametrize(("override", "line"), [
    ("corrupt.severities=[1,1,2]",
     "corrupt.severities=[1, 1, 2] is invalid; accepted: a non-empty list of distinct items, each an integer in [1, 5]"),
    ("corrupt.severities=[]",
     "corrupt.severities=[] is invalid; accepted: a non-empty list of distinct items, each an integer in [1, 5]"),
    ("corrupt.corruptions=[]",
     f"corrupt.corruptions=[] is invalid; accepted: null or a non-empty list of distinct items, each one of {NAMES}"),
    ("corrupt.corruptions=[fog,fog]",
     f"corrupt.corruptions=['fog', 'fog'] is invalid; accepted: null or a non-empty list of distinct items, each one of {NAMES}"),
])
def test_corrupt_refuses_repeated_and_empty_lists(
    override: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "val" / "cat").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "val" / "cat" / "a.png")
    result = run_in_process("augmix-corrupt", "dataset=image_folder", f"dataset.root={tmp_path}", override, "progress=false")
    assert (result.returncode, result.stderr) == (2, f"augmix-corrupt: error: {line}\n")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["val", "val/cat", "val/cat/a.png"]


def test_the_library_refuses_what_the_command_line_refuses(tmp_path: Path) -> None:
    dataset = {"name": "image_folder", "_target_": "augmix_bench.data.ImageFolderBenchmark", "root": str(tmp_path)}
    for corrupt, key in (({"severities": [1, 1, 2]}, "corrupt.severities"), ({"corruptions": []}, "corrupt.corruptions")):
        config = {"dataset": dataset, "output": None, "seed": 0, "progress": False, "corrupt": {"workers": 1, **corrupt}}
        with pytest.raises(UserError, match=rf"^{key}=\[.*\] is invalid; accepted: (null or )?a non-empty list of distinct items"):
            run_corrupt(config)
    assert list(tmp_path.iterdir()) == []


def test_a_corruption_folder_on_the_eval_command_line_asks_for_corruptions(
    cifar10_root: Path, tmp_path: Path
) -> None:
    """A checkpoint trained with eval.suites=[clean]: dataset.corruptions_dir adds the corruptions
    suite; an explicit eval.suites on the same command line is kept as given."""
    run = tmp_path / "run"
    trained = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *TINY_RUN, "eval.suites=[clean]",
                             f"hydra.run.dir={run}")
    assert trained.returncode == 0, trained.stderr
    checkpoint = run / "checkpoints" / "last.pt"
    corrupted = cifar10_root / "CIFAR-10-C"
    asked = run_in_process("augmix-eval", f"checkpoint={checkpoint}", f"dataset.corruptions_dir={corrupted}",
                           "eval.limit=10", f"output={tmp_path / 'asked.json'}")
    assert asked.returncode == 0, asked.stderr
    results = json.loads((tmp_path / "asked.json").read_text())
    assert results["config"]["eval"]["suites"] == ["clean", "corruptions"]
    assert list(results["corruptions"]["per_corruption"]) == list(CORRUPTIONS) and results["clean"]["n"] == 10
    assert json.loads((run / "results.json").read_text())["corruptions"] is None  # what training evaluated
    kept = run_in_process("augmix-eval", f"checkpoint={checkpoint}", f"dataset.corruptions_dir={corrupted}",
                          "eval.suites=[clean]", "eval.limit=10", f"output={tmp_path / 'kept.json'}")
    assert kept.returncode == 0, kept.stderr
    assert json.loads((tmp_path / "kept.json").read_text())["corruptions"] is None


class Brightness(torch.nn.Module):
    """Class 0 (``bright``, the first class folder) for bright images, class 1 (``dark``) for dark
    ones, confidently: logits +-4 x the mean normalized pixel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x.mean(dim=(1, 2, 3))
        return torch.stack([4 * level, -4 * level], dim=1)


def _image_folder(root: Path, benchmark_names: tuple[str, ...], held_out: tuple[str, ...]) -> ImageFolderBenchmark:
    """Two classes, ``dark`` (black images) and ``bright`` (white ones), two images each; in the
    corruption tree the benchmark corruptions keep the images in their classes, the held-out ones
    swap them (every prediction wrong)."""
    def write(folder: Path, swapped: bool) -> None:
        for label, value in (("dark", 0), ("bright", 255)):
            (folder / label).mkdir(parents=True)
            for k in range(2):
                Image.new("RGB", (8, 8), (255 - value,) * 3 if swapped else (value,) * 3).save(folder / label / f"{k}.png")

    write(root / "train", False)
    write(root / "val", False)
    for name in (*benchmark_names, *held_out):
        for severity in SEVERITIES:
            write(root / "corruptions" / name / str(severity), name in held_out)
    return ImageFolderBenchmark(root, image_size=8)


def test_an_image_folder_headline_leaves_the_held_out_corruptions_apart(tmp_path: Path) -> None:
    benchmark = _image_folder(tmp_path, ("fog", "pixelate"), ("spatter",))
    evaluator = Evaluator(benchmark, Runtime(torch.device("cpu"), progress=False), batch_size=8)
    entry = evaluator.corruptions(Brightness())
    assert sorted(entry["per_corruption"]) == ["fog", "pixelate", "spatter"]
    assert [entry["per_corruption"][c]["mean_error"] for c in ("fog", "pixelate", "spatter")] == [0.0, 0.0, 100.0]
    assert (entry["mean_error"], entry["extra_mean_error"], entry["extra_corruptions"]) == (0.0, 100.0, ["spatter"])
    # the pooled calibration covers the 2 benchmark corruptions x 5 severities x 4 images, all right
    assert sum(entry["calibration_bins"]["count"]) == 40 and entry["calibration_bins"]["accuracy"] == [100.0]
    assert entry["rms_calibration_error_by_severity"] == pytest.approx([entry["rms_calibration_error"]] * 5)
    assert entry["rms_calibration_error"] < 1.0


def test_a_tree_of_held_out_corruptions_only_has_them_as_its_headline(tmp_path: Path) -> None:
    benchmark = _image_folder(tmp_path, (), ("spatter", "saturate"))
    entry = Evaluator(benchmark, Runtime(torch.device("cpu"), progress=False), batch_size=8).corruptions(Brightness())
    assert (entry["mean_error"], entry["extra_mean_error"], entry["extra_corruptions"]) == (100.0, None, [])
    assert sum(entry["calibration_bins"]["count"]) == 40 and np.allclose(entry["calibration_bins"]["accuracy"], 0.0)
