"""Loading checkpoints of the AugMix reference implementation, built from its key/shape listings
(tests/data/reference_state_dicts, copied from the reference's models), evaluating one with
``augmix-eval checkpoint_format=reference``, and ``augmix-eval``'s one-line refusals."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli, run_in_process
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from augmix_bench.config.paths import config_dir
from augmix_bench.errors import UserError
from augmix_bench.commands.evaluate import evaluate_checkpoint
from augmix_bench.evaluation.metrics import rms_calibration_error
from augmix_bench.models import build_model, load_reference_weights

LISTINGS = Path(__file__).parent / "data" / "reference_state_dicts"
CIFAR_MODELS = ("wrn40_2", "allconv", "densenet", "resnext29")


def reference_listing(name: str) -> tuple[list[tuple[str, tuple[int, ...]]], int]:
    """The reference model's state-dict keys and shapes in order, and its parameter count."""
    lines = (LISTINGS / f"{name}.txt").read_text().splitlines()
    count = int(re.search(r"; (\d+) parameters\.", lines[0]).group(1))
    entries = []
    for line in lines:
        if line.startswith("#"):
            continue
        key, shape = line.split("\t")
        entries.append((key, tuple(int(n) for n in re.findall(r"\d+", shape))))
    return entries, count


def random_state_dict(entries: list[tuple[str, tuple[int, ...]]], seed: int) -> dict[str, torch.Tensor]:
    """Random values of the listed shapes, with plausible and distinct BatchNorm statistics."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for i, (key, shape) in enumerate(entries):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000 + i, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        elif key.endswith("running_mean"):
            state[key] = torch.randn(shape, generator=generator) * 0.1
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.05
    return state


def save_reference_checkpoint(path: Path, state: dict[str, torch.Tensor], epoch: int = 99) -> None:
    """The layout of the reference's ``cifar.py``: a DataParallel state dict plus training state."""
    torch.save(
        {
            "epoch": epoch,
            "dataset": "cifar10",
            "model": "wrn",
            "state_dict": {f"module.{k}": v for k, v in state.items()},
            "best_acc": 0.9,
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": list(range(3))}]},
        },
        path,
    )


@pytest.mark.parametrize("name", CIFAR_MODELS)
def test_our_state_dict_has_the_reference_keys_and_shapes_in_order(name: str) -> None:
    entries, count = reference_listing(name)
    model = build_model(name, 10)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == entries
    assert sum(p.numel() for p in model.parameters()) == count


@pytest.mark.parametrize("name", CIFAR_MODELS)
def test_a_reference_checkpoint_loads_every_tensor_into_its_place(name: str, tmp_path: Path) -> None:
    entries, _ = reference_listing(name)
    original = random_state_dict(entries, seed=len(name))
    path = tmp_path / "checkpoint.pth.tar"
    save_reference_checkpoint(path, original)
    model = build_model(name, 10)
    load_reference_weights(model, path)
    saved_back = tmp_path / "saved_back.pt"
    torch.save(model.state_dict(), saved_back)
    reloaded = torch.load(saved_back)
    assert list(reloaded) == [k for k, _ in entries]
    for key, tensor in original.items():
        assert reloaded[key].dtype == tensor.dtype, key
        assert torch.equal(reloaded[key], tensor), key


def test_a_reference_checkpoint_for_100_classes_loads(tmp_path: Path) -> None:
    entries, _ = reference_listing("resnext29")
    entries = [(k, (100, *s[1:]) if k.startswith("classifier.") else s) for k, s in entries]
    original = random_state_dict(entries, seed=5)
    model = build_model("resnext29", 100)
    load_reference_weights(model, {"state_dict": {f"module.{k}": v for k, v in original.items()}})
    assert torch.equal(model.classifier.weight, original["classifier.weight"])
    assert torch.equal(model.stage_3[2].bn_expand.running_var, original["stage_3.2.bn_expand.running_var"])


@pytest.mark.parametrize("prefix", ["", "module."])
def test_a_bare_state_dict_loads_with_or_without_the_data_parallel_prefix(prefix: str) -> None:
    entries, _ = reference_listing("allconv")
    original = random_state_dict(entries, seed=7)
    model = build_model("allconv", 10)
    load_reference_weights(model, {prefix + k: v for k, v in original.items()})
    assert torch.equal(model.features[29].running_mean, original["features.29.running_mean"])
    assert torch.equal(model.classifier.bias, original["classifier.bias"])


def test_a_loaded_model_computes_with_the_checkpoints_weights() -> None:
    entries, _ = reference_listing("densenet")
    original = random_state_dict(entries, seed=11)
    model = build_model("densenet", 10).eval()
    load_reference_weights(model, {"state_dict": original})
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = model.dense3(model.trans2(model.dense2(model.trans1(model.dense1(model.conv1(x))))))
        bn = (features - original["bn1.running_mean"].view(1, -1, 1, 1)) / torch.sqrt(
            original["bn1.running_var"].view(1, -1, 1, 1) + 1e-5
        )
        bn = bn * original["bn1.weight"].view(1, -1, 1, 1) + original["bn1.bias"].view(1, -1, 1, 1)
        pooled = torch.relu(bn).mean(dim=(2, 3))
        expected = pooled @ original["fc.weight"].T + original["fc.bias"]
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)


def test_a_wrong_shape_is_refused_in_one_line() -> None:
    entries, _ = reference_listing("wrn40_2")
    entries = [(k, (100, *s[1:]) if k.startswith("fc.") else s) for k, s in entries]
    checkpoint = {"state_dict": {f"module.{k}": v for k, v in random_state_dict(entries, seed=1).items()}}
    with pytest.raises(UserError) as error:
        load_reference_weights(build_model("wrn40_2", 10), checkpoint, "wrn40_2")
    assert str(error.value) == (
        "checkpoint does not fit model 'wrn40_2': key 'fc.weight' has shape (100, 128) in the checkpoint, "
        "(10, 128) in the model"
    )


def test_a_missing_or_unexpected_key_is_refused_in_one_line() -> None:
    entries, _ = reference_listing("resnext29")
    state = random_state_dict(entries, seed=2)
    missing = {k: v for k, v in state.items() if k != "stage_2.1.bn.running_var"}
    with pytest.raises(UserError) as error:
        load_reference_weights(build_model("resnext29", 10), missing)
    assert str(error.value) == (
        "checkpoint does not fit model 'CifarResNeXt': "
        "key 'stage_2.1.bn.running_var' is missing from the checkpoint"
    )
    extra = {**state, "stage_4.0.conv_reduce.weight": torch.zeros(1)}
    with pytest.raises(UserError) as error:
        load_reference_weights(build_model("resnext29", 10), {"state_dict": extra}, "resnext29")
    assert str(error.value) == (
        "checkpoint does not fit model 'resnext29': key 'stage_4.0.conv_reduce.weight' in the checkpoint "
        "has no counterpart in the model"
    )


def test_a_checkpoint_of_another_architecture_names_the_first_missing_key() -> None:
    entries, _ = reference_listing("allconv")
    with pytest.raises(UserError) as error:
        load_reference_weights(build_model("densenet", 10), random_state_dict(entries, seed=3), "densenet")
    assert str(error.value) == (
        "checkpoint does not fit model 'densenet': key 'conv1.weight' is missing from the checkpoint"
    )


def test_files_that_hold_no_state_dict_are_refused(tmp_path: Path) -> None:
    native = tmp_path / "last.pt"
    torch.save({"model": {"fc.weight": torch.zeros(1)}, "config": {"seed": 1}}, native)
    with pytest.raises(UserError) as error:
        load_reference_weights(build_model("wrn40_2", 10), native)
    assert str(error.value) == (
        "checkpoint holds neither a 'state_dict' entry nor a bare state dict "
        "(top-level keys: model, config); checkpoints written by augmix-train need checkpoint_format=native"
    )
    with pytest.raises(UserError, match=r"^checkpoint holds a list, not a dict$"):
        load_reference_weights(build_model("wrn40_2", 10), [1, 2])  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"does not exist$"):
        load_reference_weights(build_model("wrn40_2", 10), tmp_path / "absent.pth.tar")


def tiny_wrn_checkpoint(path: Path, calibration: torch.Tensor) -> dict[str, torch.Tensor]:
    """A reference-layout checkpoint of WRN-10-1: random weights, BatchNorm statistics of the
    ``calibration`` images (so that predictions vary from image to image); returns the state dict."""
    torch.manual_seed(4)
    model = build_model("wrn40_2", 10, depth=10, widen_factor=1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        model.fc.weight.mul_(20)
        model(calibration)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    save_reference_checkpoint(path, state, epoch=99)
    return state


def first_test_images(root: Path, count: int) -> tuple[torch.Tensor, np.ndarray]:
    """The first ``count`` CIFAR-10 test images (uint8, N x 3 x 32 x 32) and labels, read directly."""
    with open(root / "cifar-10-batches-py" / "test_batch", "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    images = np.asarray(batch[b"data"][:count], dtype=np.uint8).reshape(count, 3, 32, 32)
    return torch.from_numpy(images), np.asarray(batch[b"labels"][:count])


EVAL_ARGS = (
    "checkpoint_format=reference",
    "dataset=cifar10",
    "eval.limit=50",
    "trainer.num_workers=0",
    "trainer.progress=false",
    "trainer.accelerator=cpu",
)


@pytest.mark.e2e
def test_augmix_eval_evaluates_a_reference_checkpoint(cifar10_root: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.pth.tar"
    images, labels = first_test_images(cifar10_root, 50)
    inputs = (images.float() / 255.0 - 0.5) / 0.5
    state = tiny_wrn_checkpoint(checkpoint, inputs)
    run_cli(
        "augmix-eval", f"checkpoint={checkpoint}", "model=wrn40_2", "model.depth=10", "model.widen_factor=1",
        f"dataset.root={cifar10_root}", *EVAL_ARGS, cwd=tmp_path,
    )
    results = json.loads((tmp_path / "eval_results.json").read_text())
    identity = [results[key] for key in ("dataset", "model", "augmentation", "seed", "epochs")]
    assert identity == ["cifar10", "wrn10_1", None, None, 100]
    assert results["config"]["checkpoint_format"] == "reference"
    assert results["config"]["checkpoint"] == str(checkpoint)
    assert results["config"]["model"] == {
        "name": "wrn10_1", "_target_": "augmix_bench.models.wrn40_2", "depth": 10, "widen_factor": 1, "dropout": 0.0
    }
    assert results["config"]["dataset"]["root"] == str(cifar10_root)
    assert len(results["corruptions"]["per_corruption"]) == 15

    model = build_model("wrn40_2", 10, depth=10, widen_factor=1).eval()
    model.load_state_dict(state)
    with torch.no_grad():
        probabilities = torch.softmax(model(inputs), dim=1)
    confidence, predicted = probabilities.max(dim=1)
    correct = predicted.numpy() == labels
    assert len(set(predicted.tolist())) > 1
    assert results["clean"]["n"] == 50
    assert results["clean"]["error"] == pytest.approx(100.0 * (1 - correct.mean()), abs=1e-9)
    assert results["clean"]["rms_calibration_error"] == pytest.approx(
        100.0 * rms_calibration_error(confidence.double().numpy(), correct), abs=1e-4
    )


def test_augmix_eval_refuses_a_reference_checkpoint_that_does_not_fit_in_one_line(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "checkpoint.pth.tar"
    tiny_wrn_checkpoint(checkpoint, torch.randn(4, 3, 32, 32))
    monkeypatch.chdir(tmp_path)
    result = run_in_process(
        "augmix-eval", f"checkpoint={checkpoint}", "model=wrn40_2", "model.depth=16", "model.widen_factor=1",
        f"dataset.root={cifar10_root}", *EVAL_ARGS,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "augmix-eval: error: checkpoint does not fit model 'wrn16_1': "
        "key 'block1.layer.1.bn1.weight' is missing from the checkpoint"
    ]
    assert not (tmp_path / "eval_results.json").exists()


def test_augmix_eval_needs_model_and_dataset_for_a_reference_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = tmp_path / "checkpoint.pth.tar"
    tiny_wrn_checkpoint(checkpoint, torch.randn(4, 3, 32, 32))
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-eval", f"checkpoint={checkpoint}", "checkpoint_format=reference")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "augmix-eval: error: checkpoint_format=reference needs model=<name> and dataset=<name> "
        "on the command line (model: allconv, custom, densenet, densenet_bc, resnet50, resnext29, wrn40_2; dataset: "
    )
    assert "cifar10, cifar100" in line


def compose_config(name: str, overrides: list[str]) -> DictConfig:
    """The config ``augmix-<name>`` would compose from ``overrides``."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name=name, overrides=overrides)


def test_a_native_checkpoint_that_does_not_fit_is_refused(cifar10_root: Path, tmp_path: Path) -> None:
    train_overrides = ["model.depth=10", "model.widen_factor=1", f"dataset.root={cifar10_root}"]
    resolved = OmegaConf.to_container(compose_config("train", train_overrides), resolve=True)
    checkpoint = tmp_path / "last.pt"
    deeper = build_model("wrn40_2", 10, depth=16, widen_factor=1)
    torch.save({"model": deeper.state_dict(), "config": resolved}, checkpoint)
    overrides = [f"checkpoint={checkpoint}", "trainer.accelerator=cpu"]
    with pytest.raises(UserError) as error:
        evaluate_checkpoint(compose_config("eval", overrides), overrides)
    assert str(error.value) == (
        "checkpoint does not fit model 'wrn10_1': key 'block1.layer.1.bn1.weight' in the checkpoint "
        "has no counterpart in the model"
    )


def test_an_unknown_checkpoint_format_is_refused(tmp_path: Path) -> None:
    overrides = [f"checkpoint={tmp_path / 'x.pt'}", "checkpoint_format=timm"]
    with pytest.raises(UserError) as error:
        evaluate_checkpoint(compose_config("eval", overrides), overrides)
    assert str(error.value) == "checkpoint_format='timm' is invalid; choose from: native, reference, state_dict"
