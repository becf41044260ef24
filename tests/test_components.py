"""Open components: models, datasets and augmentations built from ``_target_``, from outside the package."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from conftest import TINY_RUN, run_cli, run_in_process
from omegaconf import OmegaConf
from PIL import Image

from augmix_bench.augment.augmix import apply_chain, draw_chain
from augmix_bench.augment.objectives import CrossEntropy, JensenShannonConsistency
from augmix_bench.augment.ops import AUGMIX_OPS, apply_op, get_op
from augmix_bench.augment.transforms import RandomChain, SeededTransform
from augmix_bench.commands.build import (
    build_benchmark_from_config,
    build_model_from_config,
    build_training_plan_from_config,
)
from augmix_bench.config.paths import config_dir
from augmix_bench.config.sweep import sweep_jobs
from augmix_bench.data import ImageFolderBenchmark
from augmix_bench.errors import UserError
from augmix_bench.held_out import overlapping_ops
from augmix_bench.models import MODELS, build_model, register_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "user_components"


@pytest.fixture(scope="module")
def user_code() -> tuple[Path, Path]:
    """docs/extending.md's worked example: a package outside augmix-bench and a config folder naming it."""
    return EXAMPLE, EXAMPLE / "conf"


@pytest.mark.e2e
def test_users_model_dataset_and_augmentation_train_and_the_checkpoint_evaluates(
    user_code: tuple[Path, Path], tmp_path: Path
) -> None:
    code, configs = user_code
    env = {"PYTHONPATH": f"{code}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", "--config-dir", str(configs), "model=tinynet", "dataset=stripes", "augmentation=shift",
        f"hydra.run.dir={run_dir}", *TINY_RUN[2:], "trainer.epochs=2", cwd=tmp_path, env=env,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert (results["model"], results["dataset"], results["augmentation"]) == ("tinynet", "stripes", "shift")
    assert results["config"]["model"] == {"name": "tinynet", "_target_": "mycomponents.TinyNet", "width": 12}
    assert results["config"]["augmentation"]["transform"] == {"_target_": "mycomponents.RandomShift", "most": 3}
    assert results["clean"]["n"] == 100 and results["clean"]["error"] < 75.0  # 4 classes: chance is 75%
    assert list(results["corruptions"]["per_corruption"]) == ["gaussian_noise"]
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)
    assert state["model"]["features.0.weight"].shape == (12, 3, 3, 3) and state["model"]["head.weight"].shape == (4, 12)
    out = tmp_path / "eval.json"
    run_cli("augmix-eval", f"checkpoint={run_dir / 'checkpoints' / 'last.pt'}", f"output={out}", cwd=tmp_path, env=env)
    evaluated = json.loads(out.read_text())
    assert evaluated["clean"] == results["clean"] and evaluated["corruptions"] == results["corruptions"]
    # Without the user's package on the path the checkpoint cannot be rebuilt: one line says why.
    refused = run_in_process("augmix-eval", f"checkpoint={run_dir / 'checkpoints' / 'last.pt'}", f"output={out}")
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1
    assert lines[0].startswith("augmix-eval: error: dataset._target_='mycomponents.StripesBenchmark' cannot be imported")


def test_unknown_group_option_lists_the_users_folder_too(user_code: tuple[Path, Path], tmp_path: Path) -> None:
    _, configs = user_code
    result = run_in_process("augmix-train", "--config-dir", str(configs), "model=tinynett")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "augmix-train: error: unknown model 'tinynett'; choose from: "
        "allconv, custom, densenet, densenet_bc, resnet50, resnext29, tinynet, wrn40_2"
    )


@pytest.mark.e2e
def test_custom_target_from_the_command_line_trains(cifar10_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", "model=custom", "model._target_=torchvision.models.squeezenet1_1", "+model.dropout=0.25",
        "dataset=cifar10", "augmentation=standard", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}",
        *TINY_RUN[2:], "eval.suites=[clean]", cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == "squeezenet1_1"
    assert results["config"]["model"] == {
        "name": "squeezenet1_1", "_target_": "torchvision.models.squeezenet1_1", "dropout": 0.25,
    }
    assert results["clean"]["n"] == 100


def test_custom_model_name_and_bad_targets(cifar10_root: Path) -> None:
    named = {"name": "r18", "_target_": "torchvision.models.resnet18"}
    model = build_model_from_config(named, 7)
    assert isinstance(model, torchvision.models.ResNet) and model.fc.out_features == 7
    with pytest.raises(UserError, match=r"model._target_='torchvision.models.nosuch' cannot be imported"):
        build_model_from_config({"name": "x", "_target_": "torchvision.models.nosuch"}, 10)
    with pytest.raises(UserError, match=r"model 'wrn40_2' \(augmix_bench.models.wrn40_2\) has no option 'width'; "
                                        r"accepted: num_classes, depth, widen_factor, dropout"):
        build_model_from_config({"name": "wrn40_2", "_target_": "augmix_bench.models.wrn40_2", "width": 3}, 10)
    with pytest.raises(UserError, match=r"model._target_='builtins.dict' built a dict, not a torch.nn.Module"):
        build_model_from_config({"name": "d", "_target_": "builtins.dict", "width": 3}, 10)


@pytest.mark.e2e
def test_state_dict_checkpoints_of_outside_models_evaluate(cifar10_root: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    with torch.no_grad():
        model.fc.bias[3] = 1e4  # these weights predict class 3 for every image; a fresh model would not
    weights = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), weights)
    out = tmp_path / "eval.json"
    run_cli(
        "augmix-eval", f"checkpoint={weights}", "checkpoint_format=state_dict", "model=custom",
        "model._target_=torchvision.models.resnet18", "dataset=cifar10", f"dataset.root={cifar10_root}",
        "eval.suites=[clean]", "trainer.accelerator=cpu", "trainer.num_workers=0", f"output={out}", cwd=tmp_path,
    )
    results = json.loads(out.read_text())
    assert results["model"] == "resnet18" and results["clean"]["n"] == 100
    benchmark = build_benchmark_from_config({"_target_": "augmix_bench.data.CifarBenchmark", "root": cifar10_root})
    labels = np.array([benchmark.test_set()[i][1] for i in range(100)])
    assert results["clean"]["error"] == pytest.approx(float(np.sum(labels != 3)), abs=1e-9)
    assert 0 < np.sum(labels == 3) < 100


def test_register_model_opens_the_registry() -> None:
    @register_model
    def tiny_linear(num_classes: int = 10, hidden: int = 4) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, hidden), torch.nn.Linear(hidden, num_classes))

    try:
        model = build_model("tiny_linear", 5, hidden=6)
        assert model[1].out_features == 6 and model[2].out_features == 5
        with pytest.raises(ValueError, match="model name 'tiny_linear' is already registered"):
            register_model(lambda num_classes: None, name="tiny_linear")
        with pytest.raises(UserError, match="model 'tiny_linear' has no option 'depth'; accepted: hidden"):
            build_model("tiny_linear", 5, depth=3)
    finally:
        del MODELS["tiny_linear"]


# ------------------------------------------------------------------------------- image folders


def write_image_folder(root: Path, side: int, corruptions: tuple[str, ...]) -> dict[str, int]:
    """train/ and val/ trees of 3 classes (a colour each, with noise) plus corruptions/<c>/<s>/."""
    rng = np.random.default_rng(3)
    colours = {"apple": (200, 40, 40), "grass": (40, 180, 60), "sky": (60, 90, 220)}
    counts = {"train": 16, "val": 6}
    for split, count in counts.items():
        for name, colour in colours.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = np.clip(rng.normal(colour, 30, size=(side, side, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    for corruption in corruptions:
        for severity in range(1, 6):
            for name in colours:
                folder = root / "corruptions" / corruption / str(severity) / name
                folder.mkdir(parents=True)
                for source in sorted((root / "val" / name).iterdir()):
                    pixels = np.asarray(Image.open(source)).astype(np.float64)
                    noisy = np.clip(pixels + rng.normal(0, 25 * severity, size=pixels.shape), 0, 255)
                    Image.fromarray(noisy.astype(np.uint8)).save(folder / source.name)
    return {"val": 3 * counts["val"]}


@pytest.mark.e2e
def test_image_folder_trains_and_evaluates_the_corruptions_found(tmp_path: Path) -> None:
    root = tmp_path / "flowers"
    write_image_folder(root, 40, ("fog_like", "noise_like"))
    run_dir = tmp_path / "run"
    run_cli(
        "augmix-train", "dataset=image_folder", f"dataset.root={root}", "dataset.image_size=40", "model=wrn40_2",
        f"hydra.run.dir={run_dir}", *TINY_RUN, "trainer.batch_size=16", cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["dataset"] == "image_folder" and results["clean"]["n"] == 18
    per_corruption = results["corruptions"]["per_corruption"]
    assert list(per_corruption) == ["fog_like", "noise_like"]
    assert all(len(entry["errors"]) == 5 for entry in per_corruption.values())
    means = [entry["mean_error"] for entry in per_corruption.values()]
    assert results["corruptions"]["mean_error"] == pytest.approx(np.mean(means))
    assert results["corruptions"]["mce"] is None


def test_image_folder_size_rule_and_missing_parts(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_image_folder(root, 40, ())
    small = ImageFolderBenchmark(root, image_size=40)
    assert small.train_crop == "pad" and small.num_classes == 3
    assert small.mean == (0.485, 0.456, 0.406) and small.std == (0.229, 0.224, 0.225)
    image, label = small.test_set()[0]
    assert image.shape == (3, 40, 40) and image.dtype == torch.uint8 and label == 0
    pixels = np.array(Image.open(root / "val" / "apple" / "0.png"))
    assert torch.equal(image, torch.from_numpy(pixels).permute(2, 0, 1))
    large = ImageFolderBenchmark(root, image_size=96)
    assert large.train_crop == "resized" and large.test_set()[0][0].shape == (3, 96, 96)
    assert ImageFolderBenchmark(root, image_size=96, train_crop="pad").train_crop == "pad"
    assert small.missing("clean") is None
    assert small.missing("corruptions").startswith(f"no corruptions in {root / 'corruptions'}")
    with pytest.raises(UserError, match="dataset.train_crop='big' is invalid; choose from: auto, pad, resized"):
        ImageFolderBenchmark(root, train_crop="big")


# ---------------------------------------------------------------------- per-image transforms


def sample_image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8))


def test_seeded_transform_is_a_function_of_the_sample_and_leaves_global_streams_alone() -> None:
    transform = SeededTransform(torchvision.transforms.TrivialAugmentWide())
    torch.manual_seed(5)
    random.seed(5)
    before = (torch.random.get_rng_state(), random.getstate())
    first = [np.asarray(transform(sample_image(), np.random.default_rng((1, 0, i)))) for i in range(6)]
    again = [np.asarray(transform(sample_image(), np.random.default_rng((1, 0, i)))) for i in range(6)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert len({a.tobytes() for a in first}) > 1  # different samples draw different ops
    assert torch.equal(torch.random.get_rng_state(), before[0]) and random.getstate() == before[1]


def test_random_chain_is_one_unmixed_augmix_chain() -> None:
    img = sample_image()
    chain = RandomChain(severity=3, depth=-1)
    drawn = draw_chain(np.random.default_rng(9), tuple(get_op(n) for n in AUGMIX_OPS), -1, 3.0)
    assert 1 <= len(drawn) <= 3 and all(step.op in AUGMIX_OPS for step in drawn)
    expected = img
    for step in drawn:  # independently of apply_chain: op after op
        expected = apply_op(expected, step.op, step.level or 0.0, step.negate, 0)
    assert np.array_equal(np.asarray(chain(img, np.random.default_rng(9))), np.asarray(expected))
    assert np.array_equal(np.asarray(apply_chain(img, drawn)), np.asarray(expected))
    with pytest.raises(UserError, match=r"augmentation.severity=20 is invalid; accepted: a number in \(0.1, 10\]"):
        RandomChain(severity=20)


@pytest.mark.parametrize(
    ("name", "overrides", "views", "objective"),
    [
        ("transform", {"transform": {"_target_": "torchvision.transforms.TrivialAugmentWide"}}, 1, CrossEntropy),
        ("transform", {"transform": {"_target_": "torchvision.transforms.RandAugment"}, "jsd": True}, 3,
         JensenShannonConsistency),
        ("random_aa", {}, 1, CrossEntropy),
        ("random_aa_jsd", {}, 3, JensenShannonConsistency),
    ],
)
def test_per_image_augmentation_plans(name: str, overrides: dict, views: int, objective: type, cifar10_root: Path) -> None:
    config = OmegaConf.merge(OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml"), overrides)
    if "defaults" in config:
        base = OmegaConf.load(config_dir() / "augmentation" / f"{config.defaults[0]}.yaml")
        config = OmegaConf.merge(base, {k: v for k, v in config.items() if k != "defaults"})
    benchmark = build_benchmark_from_config({"_target_": "augmix_bench.data.CifarBenchmark", "root": cifar10_root})
    plan = build_training_plan_from_config(config, benchmark, seed=1)
    assert isinstance(plan.objective, objective) and plan.tensor_views is None
    sample, _ = plan.dataset[0]
    inputs = sample if isinstance(sample, tuple) else (sample,)
    assert len(inputs) == views and all(v.shape == (3, 32, 32) and v.dtype == torch.float32 for v in inputs)
    if views == 3:
        assert not torch.equal(inputs[1], inputs[2])  # two independent draws
    again, _ = plan.dataset[0]
    assert all(torch.equal(a, b) for a, b in zip(inputs, again if isinstance(again, tuple) else (again,), strict=True))


def test_paper_ablation_sweeps_six_augmentations() -> None:
    preset = OmegaConf.load(config_dir() / "experiment" / "paper_ablation.yaml")
    rows = preset.hydra.sweeper.params.augmentation.split(",")
    assert rows == ["standard", "autoaugment", "random_aa", "random_aa_jsd", "augmix_no_jsd", "augmix"]
    assert all((config_dir() / "augmentation" / f"{row}.yaml").is_file() for row in rows)


def test_successors_preset_sweeps_seven_methods_on_the_chosen_architecture() -> None:
    """experiment=successors model=resnet50: 7 jobs as Hydra's basic sweeper runs them, the model
    override in each (configs/augmentation/<name>.yaml of the new methods come from the augmentation work)."""
    preset = OmegaConf.load(config_dir() / "experiment" / "successors.yaml")
    params = OmegaConf.to_container(preset.hydra.sweeper.params)
    jobs = sweep_jobs(["experiment=successors", "model=resnet50"], params)
    methods = ["standard", "augmix", "prime_jsd", "pixmix", "fmix", "trivialaugment", "randaugment"]
    assert [job.overrides for job in jobs] == [
        (f"augmentation={m}", "experiment=successors", "model=resnet50") for m in methods]
    assert [job.label for job in jobs][2] == "job 2 (augmentation=prime_jsd)"
    for method in methods:  # each job's augmentation exists, and held_out.py knows its ops by that name
        config = OmegaConf.load(config_dir() / "augmentation" / f"{method}.yaml")
        assert config.name == method
        assert overlapping_ops({"name": method}) is not None, method


def test_every_component_config_names_its_target() -> None:
    for group in ("model", "dataset", "augmentation"):
        for path in (config_dir() / group).glob("*.yaml"):
            config = OmegaConf.load(path)
            assert "name" in config, path
            if "defaults" not in config:
                assert "_target_" in OmegaConf.to_container(config), path


def test_mean_and_std_live_in_one_module() -> None:
    source = Path(__file__).resolve().parents[1] / "src" / "augmix_bench"
    typed = [p for p in source.rglob("*.py") if "0.485" in p.read_text() or "(0.5, 0.5, 0.5)" in p.read_text()]
    assert [p.relative_to(source).as_posix() for p in typed] == ["data/constants.py"]
    for path in (config_dir() / "dataset").glob("*.yaml"):
        assert OmegaConf.load(path).mean is None, path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("model=custom",), "model._target_ is required; pass model._target_=<a dotted path to a class or function>"),
        (("model=custom", "model._target_=nosuch.Net"),
         "model._target_='nosuch.Net' cannot be imported (No module named 'nosuch'); "
         "check the spelling and that its package is installed or on PYTHONPATH"),
        (("model=wrn40_2", "+model.width=3"),
         "model 'wrn40_2' (augmix_bench.models.wrn40_2) has no option 'width'; "
         "accepted: num_classes, depth, widen_factor, dropout"),
        (("augmentation=transform", "augmentation.transform._target_=torchvision.transforms.Nope"),
         "augmentation.transform._target_='torchvision.transforms.Nope' cannot be imported (module "
         "'torchvision.transforms' has no attribute 'Nope'); check the spelling and that its package is "
         "installed or on PYTHONPATH"),
        (("--config-dir", str(EXAMPLE / "conf"), "model=tinynet", "+model.widht=3"), None),
    ],
)
def test_bad_targets_are_refused_before_any_data_is_read(args: tuple[str, ...], line: str | None, tmp_path: Path) -> None:
    empty = tmp_path / "empty"  # no data here: a refusal about data would mean the target was checked too late
    empty.mkdir()
    result = run_in_process("augmix-train", *args, f"dataset.root={empty}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    if line is None:  # the example's package is not importable here: its import is what fails first
        assert "model._target_='mycomponents.TinyNet' cannot be imported" in result.stderr
    else:
        assert result.stderr == f"augmix-train: error: {line}\n"
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------- set-up probes


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("augmentation=transform", "augmentation.transform._target_=torchvision.transforms.ToTensor"),
         "augmentation.transform torchvision.transforms.transforms.ToTensor returned a float32 tensor of shape "
         "(3, 32, 32); accepted: a transform that returns a PIL image or a uint8 tensor (C, H, W) (leave out "
         "ToTensor/Normalize: the tool normalizes)"),
        (("model=custom", "model._target_=torch.nn.Identity"),
         "model 'Identity' has no trainable parameters; accepted: a torch.nn.Module with parameters"),
        (("model=custom", "model._target_=torch.nn.Linear", "+model.in_features=5", "+model.out_features=10"),
         "model 'Linear' does not fit the dataset's images: a batch of shape (2, 3, 32, 32) fails (RuntimeError: "
         "mat1 and mat2 shapes cannot be multiplied (192x32 and 5x10)); accepted: a model that takes 32x32 images"),
        (("model=custom", "model._target_=torch.nn.Conv2d", "+model.in_channels=3", "+model.out_channels=10",
          "+model.kernel_size=3"),
         "model 'Conv2d' returns (2, 10, 30, 30) for a batch of shape (2, 3, 32, 32); expected logits of shape "
         "(2, 10) (one per class)"),
    ],
)
def test_transform_and_model_are_tried_once_at_set_up(
    args: tuple[str, ...], line: str, cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process(
        "augmix-train", *args, f"dataset.root={cifar10_root}", f"hydra.run.dir={tmp_path / 'run'}",
        *TINY_RUN[2:], "trainer.num_workers=1", "eval.suites=[clean]",
    )
    assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {line}\n")
    assert not (tmp_path / "run").exists()


class FailingTransform:
    """A per-image transform that cannot handle the images it is given."""

    def __call__(self, image: Image.Image) -> Image.Image:
        raise RuntimeError(f"no {image.size[0]} px images\nhere")


def test_a_transform_that_fails_on_an_image_is_refused_when_the_plan_is_built(cifar10_root: Path) -> None:
    benchmark = build_benchmark_from_config({"_target_": "augmix_bench.data.CifarBenchmark", "root": cifar10_root})
    config = {
        "_target_": "augmix_bench.augment.plans.per_image_transform",
        "transform": {"_target_": f"{__name__}.FailingTransform"},
    }
    with pytest.raises(UserError) as raised:
        build_training_plan_from_config(config, benchmark, seed=1)
    assert str(raised.value) == (
        f"augmentation.transform {__name__}.FailingTransform fails on the first training image "
        "(RuntimeError: no 32 px images here); accepted: a transform of a PIL image"
    )
