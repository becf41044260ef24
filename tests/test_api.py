"""The Python API (``from augmix_bench import evaluate, load_checkpoint``) against the command line's
own evaluation of the same weights, on the fixture CIFAR-10 and CIFAR-10-C."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from conftest import TINY_RUN, run_cli
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import augmix_bench
from augmix_bench import evaluate, load_checkpoint
from augmix_bench.checkpoint_io import save_checkpoint
from augmix_bench.commands.evaluate import evaluate_checkpoint
from augmix_bench.config.paths import config_dir
from augmix_bench.errors import UserError
from augmix_bench.evaluation.metrics import rms_calibration_error
from augmix_bench.models.wrn import WideResNet


@pytest.fixture(scope="module")
def checkpoint(cifar10_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``checkpoints/last.pt`` of a one-epoch tiny WRN that augmix-train trained on the fixture CIFAR-10."""
    run_dir = tmp_path_factory.mktemp("run")
    run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}", *TINY_RUN,
        "eval.suites=[clean]", cwd=run_dir,
    )
    return run_dir / "checkpoints" / "last.pt"


def compose_config(name: str, overrides: list[str]) -> DictConfig:
    """The config ``augmix-<name>`` would compose from ``overrides``."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=name, overrides=overrides)


def fixture_test_set(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixture's CIFAR-10 test images (N, 3, 32, 32) uint8 and labels, read from its pickle."""
    with open(root / "cifar-10-batches-py" / "test_batch", "rb") as handle:
        entry = pickle.load(handle, encoding="bytes")
    images = torch.from_numpy(entry[b"data"].reshape(-1, 3, 32, 32))
    return images, torch.tensor(entry[b"labels"])


@pytest.mark.e2e
def test_the_package_exports_the_api_without_importing_torch() -> None:
    code = (
        "import augmix_bench, sys; assert 'torch' not in sys.modules and 'hydra' not in sys.modules; "
        "print(sorted(augmix_bench.__all__))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['evaluate', 'load_checkpoint']"
    assert evaluate is augmix_bench.api.evaluate and load_checkpoint is augmix_bench.api.load_checkpoint


@pytest.mark.e2e
def test_load_checkpoint_returns_the_trained_model_and_config(checkpoint: Path) -> None:
    saved = torch.load(checkpoint, weights_only=False)
    model, config = load_checkpoint(checkpoint)
    assert isinstance(model, WideResNet) and not model.training
    assert isinstance(config, DictConfig) and OmegaConf.to_container(config) == saved["config"]
    assert config.model.name == "wrn10_1" and config.dataset.name == "cifar10"
    loaded = model.state_dict()
    assert list(loaded) == list(saved["model"])
    assert all(torch.equal(loaded[key], saved["model"][key]) for key in loaded)
    assert all(tensor.device.type == "cpu" for tensor in loaded.values())


@pytest.mark.e2e
def test_evaluate_gives_the_numbers_of_augmix_eval(
    checkpoint: Path, cifar10_root: Path, tmp_path: Path
) -> None:
    overrides = [
        f"checkpoint={checkpoint}", f"dataset.root={cifar10_root}", "eval.suites=[clean,corruptions]",
        f"output={tmp_path / 'eval.json'}",
    ]
    cli_results, _ = evaluate_checkpoint(compose_config("eval", overrides), overrides)
    model, config = load_checkpoint(checkpoint)
    results = evaluate(
        model, "cifar10", root=cifar10_root, suites=("clean", "corruptions"), device="cpu",
        batch_size=config.trainer.eval_batch_size, progress=False,
    )
    assert set(results) == {"clean", "corruptions", "perturbations", "shifts", "corruptions_bar"}
    assert results["shifts"] is None and cli_results["shifts"] is None
    assert results["clean"] == cli_results["clean"] and results["corruptions"] == cli_results["corruptions"]
    assert results["perturbations"] is None and cli_results["perturbations"] is None
    assert results["corruptions_bar"] is None and cli_results["corruptions_bar"] is None
    assert results["clean"]["n"] == 100 and len(results["corruptions"]["per_corruption"]) == 15
    # the numbers say something: the model's -C errors vary with the corruption
    assert len({entry["mean_error"] for entry in results["corruptions"]["per_corruption"].values()}) > 1


def test_evaluate_feeds_a_torchvision_model_the_normalized_images(cifar10_root: Path) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    results = evaluate(model, root=cifar10_root, suites="clean", device="cpu", batch_size=64, progress=False)
    images, labels = fixture_test_set(cifar10_root)
    with torch.no_grad():  # CIFAR's mean = std = 0.5: (pixel / 255 - 0.5) / 0.5
        logits = torch.cat([model((batch.float() - 127.5) / 127.5) for batch in images.split(64)])
    confidence, predicted = torch.softmax(logits, 1).max(1)
    correct = (predicted == labels).numpy()
    assert results["clean"]["error"] == pytest.approx(100.0 * (1 - correct.mean()))
    assert results["clean"]["rms_calibration_error"] == pytest.approx(
        100.0 * rms_calibration_error(confidence.double().numpy(), correct), rel=1e-6
    )
    assert results["corruptions"] is None and results["perturbations"] is None


def test_evaluate_restores_the_training_flag(cifar10_root: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    evaluate(model, root=cifar10_root, suites=["clean"], device="cpu", limit=10, progress=False)
    assert model.training


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"dataset": "cifar11"}, "unknown dataset 'cifar11'; choose from: cifar10, cifar100, image_folder, imagenet, synthetic"),
        ({"suites": ("clean", "noise")}, "unknown eval suite 'noise' in suites; choose from: clean, corruptions, perturbations, shifts, corruptions_bar"),
        ({"batch_size": 0}, "batch_size=0 is invalid; accepted: an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size=2.5 is invalid; accepted: an integer >= 1"),
        ({"limit": 0}, "limit=0 is invalid; accepted: null or an integer >= 1"),
        ({"device": "gpu"}, "device='gpu' is invalid; accepted: None (CUDA if available, else CPU), 'cpu', 'cuda', "
                            "'cuda:<index>' or a torch.device"),
    ],
)
def test_evaluate_refuses_bad_arguments_before_touching_the_disk(
    arguments: dict, message: str, tmp_path: Path
) -> None:
    model = torch.nn.Linear(2, 2)
    with pytest.raises(UserError) as error:
        evaluate(model, root=tmp_path / "data", **arguments)
    assert str(error.value) == message
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_what_is_not_a_module_and_missing_data(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^model is a function, not a torch.nn.Module$"):
        evaluate(lambda x: x, root=tmp_path)
    with pytest.raises(UserError) as error:
        evaluate(torch.nn.Linear(2, 2), root=tmp_path, device="cpu", progress=False)
    assert str(error.value).startswith(f"cifar10 not found in {tmp_path / 'cifar-10-batches-py'}")
    assert list(tmp_path.iterdir()) == []


def test_load_checkpoint_refuses_what_augmix_train_did_not_write(tmp_path: Path) -> None:
    bare = tmp_path / "weights.pt"
    save_checkpoint(bare, {"model": torch.nn.Linear(2, 2).state_dict()})
    with pytest.raises(UserError) as error:
        load_checkpoint(bare)
    assert str(error.value) == (
        f"checkpoint {bare} was not written by augmix-train (it holds no 'config'); accepted: "
        "<run>/checkpoints/last.pt of augmix-train (for bare weights, build the model and call load_state_dict)"
    )
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
