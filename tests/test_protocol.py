"""results.json's ``protocol``: exact values from in-process augmix-train / augmix-eval runs, and the
ImageNet transforms and AlexNet source from the built benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_RUN, run_in_process

from augmix_bench.commands.build import build_model_from_config
from augmix_bench.data import ImageNetBenchmark
from augmix_bench.data.names import CBAR_CORRUPTIONS, CORRUPTIONS
from augmix_bench.evaluation.protocol import ALEXNET_SOURCE, build_protocol

QUIET = ("progress=false",)


def test_eval_records_the_protocol(cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A limited evaluation on the released -C (in its usual place) and a -C-bar set generated with seed 3."""
    monkeypatch.chdir(tmp_path)
    bar = tmp_path / "bar"
    made = run_in_process("augmix-corrupt", f"dataset.root={cifar10_root}", f"output={bar}", "corrupt.suite=cbar",
                          "seed=3", "corrupt.workers=1", "corrupt.corruptions=[ripple,lines]", *QUIET)
    assert made.returncode == 0, made.stderr
    torch.manual_seed(0)
    model = build_model_from_config({"name": "wrn40_2", "_target_": "augmix_bench.models.wrn40_2", "depth": 10,
                                     "widen_factor": 1}, 10)
    torch.save(model.state_dict(), tmp_path / "w.pt")
    output = tmp_path / "eval.json"
    result = run_in_process(
        "augmix-eval", f"checkpoint={tmp_path / 'w.pt'}", "checkpoint_format=state_dict", "model=wrn40_2",
        "model.depth=10", "model.widen_factor=1", "dataset=cifar10", f"dataset.root={cifar10_root}",
        f"dataset.corruptions_bar_dir={bar}", "eval.suites=[clean,corruptions]", "eval.limit=30",
        "trainer.accelerator=cpu", "trainer.num_workers=0", "trainer.progress=false", f"output={output}",
    )
    assert result.returncode == 0, result.stderr
    protocol = json.loads(output.read_text())["protocol"]
    assert protocol == {
        "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        "image_size": 32,
        "eval_transform": "none: the stored arrays, as they are",
        "corrupted_transform": None,
        "eval_limit": 30,
        "test_images": 100,
        "sets": {
            "corruptions": {
                "source": "released",
                "folder": str(cifar10_root / "CIFAR-10-C"),
                "fingerprint": None,
                "archives": [{"file": "CIFAR-10-C.tar", "url": "https://zenodo.org/record/2535967/files/CIFAR-10-C.tar",
                              "md5": "56bf5dcef84df0e2308c6dcbcbbd8499"}],
                "headline": list(CORRUPTIONS),
            },
        },
        "alexnet_normalization": None,
    }
    # an incomplete -C-bar set is refused in one line before any work (test_cbar_suite reads a whole one)
    output_bar = tmp_path / "bar.json"
    result = run_in_process(
        "augmix-eval", f"checkpoint={tmp_path / 'w.pt'}", "checkpoint_format=state_dict", "model=wrn40_2",
        "model.depth=10", "model.widen_factor=1", "dataset=cifar10", f"dataset.root={cifar10_root}",
        f"dataset.corruptions_bar_dir={bar}", "eval.suites=[corruptions_bar]", "trainer.accelerator=cpu",
        "trainer.num_workers=0", "trainer.progress=false", f"output={output_bar}",
    )
    assert result.returncode == 2  # the set holds 2 of the 10 CIFAR-10-C-bar corruptions
    assert result.stderr == (
        f"augmix-eval: error: bar incomplete in {bar} (missing blue_noise_sample.npy, checkerboard_cutout.npy, "
        "inverse_sparkles.npy ...); build it with augmix-corrupt corrupt.suite=cbar and point "
        "dataset.corruptions_bar_dir at it, or leave corruptions_bar out of eval.suites\n"
    )
    assert not output_bar.exists()


def test_training_records_the_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    result = run_in_process(
        "augmix-train", "dataset=synthetic", f"dataset.root={tmp_path / 'data'}", "dataset.download=true",
        "dataset.train_size=64", "dataset.test_size=40", *TINY_RUN, "eval.suites=[clean]", "eval.limit=25",
        f"hydra.run.dir={run}",
    )
    assert result.returncode == 0, result.stderr
    protocol = json.loads((run / "results.json").read_text())["protocol"]
    assert (protocol["eval_limit"], protocol["test_images"], protocol["sets"]) == (25, 40, {})
    assert protocol["normalization"] == {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}


def test_imagenet_protocol_names_its_transforms_and_the_alexnet_source(tmp_path: Path) -> None:
    benchmark = ImageNetBenchmark(tmp_path, corrupted_transform="center_crop", resize_size=288, image_size=256)
    protocol = build_protocol(benchmark, ["clean", "corruptions", "corruptions_bar"], None, 50000)
    assert protocol["eval_transform"] == "Resize(288) + CenterCrop(256)"
    assert protocol["corrupted_transform"] == "center_crop: CenterCrop(256)"
    assert protocol["normalization"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert protocol["alexnet_normalization"] == ALEXNET_SOURCE and "evaluation/alexnet.py" in ALEXNET_SOURCE
    assert len(protocol["sets"]["corruptions"]["archives"]) == 4  # the Zenodo ImageNet-C archives with their md5
    assert all(len(a["md5"]) == 32 for a in protocol["sets"]["corruptions"]["archives"])
    assert protocol["sets"]["corruptions_bar"]["headline"] == list(CBAR_CORRUPTIONS["imagenet"])
    assert protocol["sets"]["corruptions_bar"]["folder"] == str(tmp_path / "ImageNet-C-Bar")
    clean_only = build_protocol(ImageNetBenchmark(tmp_path), ["clean"], 1000, 50000)
    assert clean_only["corrupted_transform"] == "resize_crop: Resize(256) + CenterCrop(224)"
    assert clean_only["alexnet_normalization"] is None and clean_only["sets"] == {}
