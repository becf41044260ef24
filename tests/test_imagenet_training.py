"""The ImageNet path end to end: a tiny ImageFolder and ImageNet-C tree, the reference preset, train + eval."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import CORRUPTION_NAMES, run_cli
from test_imagenet_data import CLASSES, write_tree


@pytest.fixture(scope="module")
def imagenet_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imagenet")
    rng = np.random.default_rng(3)
    write_tree(root / "imagenet" / "train", CLASSES, 4, rng)
    write_tree(root / "imagenet" / "val", CLASSES, 2, rng, size=(40, 52))
    for corruption in CORRUPTION_NAMES:
        for severity in range(1, 6):
            # ImageNet-C images are already cropped; one folder lacks a class (alignment must hold).
            write_tree(root / "ImageNet-C" / corruption / str(severity), CLASSES[: 2 + severity % 2], 1, rng, size=(32, 32))
    return root


@pytest.mark.e2e
def test_imagenet_reference_preset_trains_and_reports_mce(imagenet_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", "experiment=imagenet_reference", f"dataset.root={imagenet_root}", "dataset.image_size=32",
        "dataset.resize_size=36", "trainer.epochs=1", "trainer.batch_size=4", "trainer.eval_batch_size=16",
        "trainer.num_workers=0", "trainer.accelerator=cpu", "trainer.progress=false", f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    config = results["config"]
    assert (results["dataset"], results["model"], results["augmentation"]) == ("imagenet", "resnet50", "augmix")
    assert config["augmentation"]["severity"] == 1 and config["augmentation"]["fill"] == 0
    assert (config["optim"]["schedule"], config["optim"]["milestones"], config["optim"]["nesterov"]) == ("step", [30, 60], False)
    rows = list(csv.DictReader(open(run_dir / "train_log.csv")))
    assert float(rows[0]["lr"]) == pytest.approx(0.1 * 4 / 256)  # lr 0.1 per 256 images of global batch
    assert results["clean"]["n"] == 6
    corruptions = results["corruptions"]
    assert corruptions["mce"] is not None and corruptions["relative_mce"] is not None
    # the severity folders hold different images (one lacks a class): no image-by-image pairing, no interval
    assert corruptions["mce_ci95"] is None and corruptions["mean_error_ci95"] is None
    assert list(corruptions["per_corruption"]) == list(CORRUPTION_NAMES)
    assert all(entry["ce"] is not None for entry in corruptions["per_corruption"].values())

    evaluated = tmp_path / "eval.json"
    run_cli("augmix-eval", f"checkpoint={run_dir / 'checkpoints' / 'last.pt'}", f"output={evaluated}", "trainer.progress=false", cwd=tmp_path)
    again = json.loads(evaluated.read_text())
    assert again["clean"] == results["clean"] and again["corruptions"]["mce"] == pytest.approx(corruptions["mce"])


@pytest.mark.e2e
def test_released_preset_differs_where_documented(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    reference = OmegaConf.create(run_cli("augmix-train", "experiment=imagenet_reference", "--cfg", "job", cwd=tmp_path).stdout)
    released = OmegaConf.create(run_cli("augmix-train", "experiment=imagenet_released", "--cfg", "job", cwd=tmp_path).stdout)
    assert (reference.trainer.epochs, released.trainer.epochs) == (90, 180)
    assert (reference.optim.nesterov, released.optim.nesterov) == (False, True)
    assert (list(reference.optim.milestones), list(released.optim.milestones)) == ([30, 60], [60, 120])
    assert (reference.augmentation.fill, released.augmentation.fill) == (0, 128)
    assert reference.trainer.batch_size == released.trainer.batch_size == 256
    assert reference.optim.lr_reference_batch == 256 and reference.optim.weight_decay == 1e-4
    assert reference.augmentation.severity == released.augmentation.severity == 1
