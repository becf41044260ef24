"""The successors of AugMix wired into the tool (issue 22): PRIME, PixMix, FMix, TrivialAugment and
RandAugment as ``augmentation=`` choices: one-epoch CLI runs, the plans their configs build (with
the reference's defaults), the one-line refusals of bad values and the reproducibility of a seed."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import run_in_process
from omegaconf import OmegaConf
from PIL import Image
from torchvision.transforms import RandAugment, TrivialAugmentWide

from augmix_bench.augment.batch_mixing import step_generator
from augmix_bench.augment.fmix import draw_fmix, fmix
from augmix_bench.augment.objectives import CrossEntropy, FMix, JensenShannonConsistency
from augmix_bench.augment.ops import ALL_OPS
from augmix_bench.augment.pixmix import PIXMIX_SETTINGS, PixMix
from augmix_bench.augment.prime import PRIME_PARAMETERS
from augmix_bench.augment.prime_views import BatchedPrime, PrimeSamples
from augmix_bench.augment.views import sample_rng
from augmix_bench.commands.build import build_training_plan_from_config
from augmix_bench.config.paths import config_dir
from augmix_bench.data import CifarBenchmark
from augmix_bench.data.image_folder import ImageFolderBenchmark
from augmix_bench.runtime import Runtime
from augmix_bench.training.batches import build_training_batches, resolve_data_pipeline

CPU = torch.device("cpu")
CUDA = torch.device("cuda")

#: A one-epoch run of two batches on the synthetic CIFAR-format dataset, evaluated on its clean test set.
SYNTHETIC_RUN = (
    "dataset=synthetic",
    "dataset.download=true",
    "dataset.train_size=32",
    "dataset.test_size=16",
    "model.depth=10",
    "model.widen_factor=1",
    "trainer.epochs=1",
    "trainer.batch_size=16",
    "trainer.eval_batch_size=16",
    "trainer.num_workers=0",
    "trainer.accelerator=cpu",
    "trainer.progress=false",
    "eval.suites=[clean]",
)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root the first run generates the synthetic dataset into (later runs reuse it)."""
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture(scope="module")
def mixing_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PixMix mixing set: three noise pictures of odd sizes, one in a subfolder, one at the top."""
    folder = tmp_path_factory.mktemp("mixing")
    (folder / "fractals").mkdir()
    rng = np.random.default_rng(0)
    for path, shape in ((folder / "fractals" / "a.png", (40, 48, 3)), (folder / "fractals" / "b.jpg", (64, 50, 3)),
                        (folder / "c.png", (36, 36, 3))):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return folder


def augmentation_config(name: str, **overrides: object):
    """``configs/augmentation/<name>.yaml`` with its ``defaults`` merged in and ``overrides`` applied."""
    config = OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml")
    if "defaults" in config:
        base = augmentation_config(str(config.defaults[0]))
        config = OmegaConf.merge(base, {k: v for k, v in config.items() if k != "defaults"})
    return OmegaConf.merge(config, overrides)


def composed_augmentation(*args: str) -> dict:
    """The ``augmentation`` node ``augmix-train ARGS --cfg job`` composes (the recipes applied)."""
    result = run_in_process("augmix-train", *args, "--cfg", "job")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["augmentation"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("prime", ()),
        ("prime_jsd", ("trainer.data_pipeline=hybrid",)),  # PRIME on tensor batches of the training device
        ("pixmix", ()),
        ("fmix", ()),
        ("trivialaugment", ()),
        ("trivialaugment_jsd", ()),
        ("randaugment", ()),
        ("randaugment_jsd", ()),
    ],
)
def test_each_successor_trains_one_epoch_from_the_cli(
    name: str, extra: tuple[str, ...], synthetic_root: Path, mixing_folder: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    mixing = (f"augmentation.mixing_set={mixing_folder}",) if name == "pixmix" else ()
    result = run_in_process("augmix-train", f"augmentation={name}", *mixing, *extra, f"dataset.root={synthetic_root}",
                            *SYNTHETIC_RUN, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr
    results = json.loads((run / "results.json").read_text())
    assert (results["augmentation"], results["epochs"], results["clean"]["n"]) == (name, 1, 16)
    assert results["config"]["augmentation"]["name"] == name
    with open(run / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and math.isfinite(float(rows[0]["train_loss"]))
    expected_pipeline = "hybrid" if extra else "cpu"
    assert f"data pipeline: {expected_pipeline}" in (run / "train.log").read_text()


def test_prime_plans_have_the_references_parameters_and_views(cifar10_root: Path) -> None:
    benchmark = CifarBenchmark(cifar10_root)
    # The reference (amodas/PRIME-augmentations @ 0290f6b): config/cifar10_cfg.py mixture_width 3,
    # mixture_depth -1; train.py max_depth=3, all three primitives; systems/augmentation.py lambda 12.
    reference = {"preset": "cifar", "mixture_width": 3, "mixture_depth": -1, "max_depth": 3,
                 "primitives": ["diffeo", "color", "filter"], "jsd_lambda": 12.0}
    config = augmentation_config("prime")
    assert {k: OmegaConf.to_container(config)[k] for k in reference} == reference
    plain = build_training_plan_from_config(config, benchmark, seed=1)
    assert isinstance(plain.objective, CrossEntropy) and plain.on_device
    batched = plain.tensor_views.augmix
    assert isinstance(batched, BatchedPrime) and isinstance(plain.dataset, PrimeSamples)
    prime = batched.prime
    assert prime.parameters == PRIME_PARAMETERS["cifar"]
    assert (prime.mixture_width, prime.mixture_depth, prime.max_depth) == (3, -1, 3)
    assert prime.primitives == ("diffeo", "color", "filter") and not prime.shared_draws
    assert PRIME_PARAMETERS["cifar"].diffeo.cut_max == 100 and PRIME_PARAMETERS["cifar"].color.temperature == 0.01
    view, _ = plain.dataset[0]
    assert view.shape == (3, 32, 32) and view.dtype == torch.float32

    jsd = build_training_plan_from_config(augmentation_config("prime_jsd"), benchmark, seed=1)
    assert isinstance(jsd.objective, JensenShannonConsistency) and jsd.objective.jsd_lambda == 12.0
    assert jsd.tensor_views.jsd
    views, _ = jsd.dataset[0]
    assert len(views) == 3 and not torch.equal(views[1], views[2])
    clean = torch.from_numpy(np.array(jsd.dataset.spatial(benchmark.train_set()[0][0], sample_rng(1, 0, 0)))).permute(2, 0, 1)
    assert torch.allclose(views[0], (clean.float() / 255 - 0.5) / 0.5, atol=1e-6)  # the clean view after the flip/crop
    imagenet = build_training_plan_from_config(augmentation_config("prime", preset="imagenet"), benchmark, seed=1)
    assert imagenet.tensor_views.augmix.prime.parameters == PRIME_PARAMETERS["imagenet"]


def test_prime_uses_the_imagenet_parameters_on_imagenet_and_runs_on_the_device() -> None:
    assert composed_augmentation("augmentation=prime")["preset"] == "cifar"
    assert composed_augmentation("dataset=imagenet", "augmentation=prime")["preset"] == "imagenet"
    assert composed_augmentation("dataset=imagenet", "augmentation=prime_jsd")["preset"] == "imagenet"
    imagenet = PRIME_PARAMETERS["imagenet"]
    assert (imagenet.diffeo.cut_max, imagenet.color.cut, imagenet.color.temperature, imagenet.color.freq_bandwidth) == (
        500, 500, 0.05, 20)


def test_auto_pipeline_puts_prime_on_the_training_device(cifar10_root: Path, tmp_path: Path) -> None:
    cifar = CifarBenchmark(cifar10_root)
    prime = build_training_plan_from_config(augmentation_config("prime"), cifar, seed=1)
    assert resolve_data_pipeline("auto", CUDA, cifar, prime) == "gpu"
    assert resolve_data_pipeline("auto", CPU, cifar, prime) == "cpu"
    for split in ("train", "val"):
        for label in ("a", "b"):
            (tmp_path / split / label).mkdir(parents=True)
            Image.new("RGB", (40, 40), (200 if label == "a" else 20,) * 3).save(tmp_path / split / label / "0.png")
    folder = ImageFolderBenchmark(tmp_path, image_size=32, train_crop="resized")
    folder_prime = build_training_plan_from_config(augmentation_config("prime"), folder, seed=1)
    assert resolve_data_pipeline("auto", CUDA, folder, folder_prime) == "hybrid"  # no in-memory set: hybrid
    mixed = build_training_plan_from_config(augmentation_config("fmix"), folder, seed=1)
    assert resolve_data_pipeline("auto", CUDA, folder, mixed) == "cpu"  # a clean view only: as before


def test_pixmix_plan_has_the_references_settings(cifar10_root: Path, mixing_folder: Path) -> None:
    # andyzoujm/pixmix @ f867e87, cifar.py: --k 4, --beta 3, --aug-severity 3, --all-ops (README recipes),
    # mixing pictures Resize(36) + RandomCrop(32); imagenet.py: --beta 4, --aug-severity 1, Resize(256).
    config = augmentation_config("pixmix", mixing_set=str(mixing_folder))
    assert {k: config[k] for k in ("k", "beta", "severity", "all_ops", "fill")} == {
        "k": 4, "beta": 3, "severity": 3, "all_ops": True, "fill": 0}
    cifar = PIXMIX_SETTINGS["cifar"]
    assert (cifar.k, cifar.beta, cifar.severity, cifar.all_ops) == (config.k, config.beta, config.severity, config.all_ops)
    imagenet = composed_augmentation("dataset=imagenet", "augmentation=pixmix", f"augmentation.mixing_set={mixing_folder}")
    settings = PIXMIX_SETTINGS["imagenet"]
    assert (imagenet["k"], imagenet["beta"], imagenet["severity"]) == (settings.k, settings.beta, settings.severity) == (4, 4, 1)
    plan = build_training_plan_from_config(config, CifarBenchmark(cifar10_root), seed=1)
    assert isinstance(plan.objective, CrossEntropy) and plan.tensor_views is None
    pixmix = plan.dataset.augmix
    assert isinstance(pixmix, PixMix) and pixmix.ops == ALL_OPS
    assert (pixmix.k, pixmix.beta, pixmix.severity) == (4, 3.0, 3.0)
    assert pixmix.mixing_set.resize == 36 and len(pixmix.mixing_set) == 3
    view, _ = plan.dataset[0]
    assert view.shape == (3, 32, 32) and view.min() >= -1 and view.max() <= 1


@pytest.mark.parametrize(
    ("name", "transform", "arguments", "views", "objective"),
    [
        # TrivialAugment (Mueller & Hutter 2021): TA (Wide), 31 strength bins.
        ("trivialaugment", TrivialAugmentWide, {"num_magnitude_bins": 31}, 1, CrossEntropy),
        ("trivialaugment_jsd", TrivialAugmentWide, {"num_magnitude_bins": 31}, 3, JensenShannonConsistency),
        # RandAugment (Cubuk et al. 2020): N = 2, M = 9 (ImageNet ResNet-50; torchvision's defaults).
        ("randaugment", RandAugment, {"num_ops": 2, "magnitude": 9, "num_magnitude_bins": 31}, 1, CrossEntropy),
        ("randaugment_jsd", RandAugment, {"num_ops": 2, "magnitude": 9, "num_magnitude_bins": 31}, 3,
         JensenShannonConsistency),
    ],
)
def test_trivialaugment_and_randaugment_plans(
    name: str, transform: type, arguments: dict, views: int, objective: type, cifar10_root: Path
) -> None:
    config = augmentation_config(name)
    assert {k: config[k] for k in arguments} == arguments
    plan = build_training_plan_from_config(config, CifarBenchmark(cifar10_root), seed=1)
    assert isinstance(plan.objective, objective) and plan.tensor_views is None
    built = plan.dataset.augmix.transform.transform
    assert type(built) is transform and {k: getattr(built, k) for k in arguments} == arguments
    sample, _ = plan.dataset[0]
    inputs = sample if isinstance(sample, tuple) else (sample,)
    assert len(inputs) == views and all(v.shape == (3, 32, 32) for v in inputs)


def test_fmix_objective_mixes_through_the_drawn_mask_and_weights_the_labels(cifar10_root: Path) -> None:
    # ecs-vlc/FMix @ e5991dc: FMixBase(decay_power=3, alpha=1, max_soft=0, reformulate=False).
    config = augmentation_config("fmix")
    assert {k: config[k] for k in ("alpha", "decay_power", "max_soft", "reformulate")} == {
        "alpha": 1.0, "decay_power": 3.0, "max_soft": 0.0, "reformulate": False}
    plan = build_training_plan_from_config(config, CifarBenchmark(cifar10_root), seed=1)
    objective = plan.objective
    assert isinstance(objective, FMix) and (objective.alpha, objective.decay_power) == (1.0, 3.0)
    assert plan.tensor_views is not None and plan.tensor_views.augmix is None  # the clean view; FMix mixes it

    seen: list[torch.Tensor] = []

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3 * 8 * 8, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return self.fc(x.flatten(1))

    torch.manual_seed(0)
    model = Linear()
    inputs, targets = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 2, 3, 0, 1])
    torch.manual_seed(5)
    result = objective(model, inputs, targets)
    torch.manual_seed(5)
    draw = draw_fmix(6, 8, 8, 1.0, 3.0, step_generator())
    assert torch.equal(seen[0], fmix(inputs, draw))
    assert 0 < draw.mask.mean() < 1 and abs(float(draw.mask.mean()) - draw.lam) <= 1 / 64
    logits = model.fc(seen[0].flatten(1))
    expected = draw.lam * torch.nn.functional.cross_entropy(logits, targets) + (1 - draw.lam) * (
        torch.nn.functional.cross_entropy(logits, targets[draw.permutation]))
    assert torch.allclose(result.loss, expected)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("augmentation=pixmix",),
         ("augmentation.mixing_set is required; pass augmentation.mixing_set=<a folder of images (searched "
          "recursively)> or set AUGMIX_MIXING_SET=<the folder>")),
        (("augmentation=pixmix", "augmentation.mixing_set={tmp}/nothing"),
         "augmentation.mixing_set='{tmp}/nothing': no such folder; accepted: a folder"),
        (("augmentation=pixmix", "augmentation.mixing_set={tmp}/empty"),
         "augmentation.mixing_set='{tmp}/empty': holds no image files; accepted: a folder"),
        (("augmentation=pixmix", "augmentation.mixing_set={tmp}/broken"),
         "augmentation.mixing_set='{tmp}/broken': '{tmp}/broken/a.png' cannot be read as an image"),
        (("augmentation=pixmix", "augmentation.mixing_set="),
         "augmentation.mixing_set='': empty path; accepted: a folder"),
        (("augmentation=pixmix", "augmentation.mixing_set={tmp}/empty", "augmentation.k=-1"),
         "augmentation.k=-1 is invalid; accepted: an integer >= 0"),
        (("augmentation=fmix", "augmentation.alpha=0"), "augmentation.alpha=0 is invalid; accepted: a number > 0"),
        (("augmentation=fmix", "augmentation.decay_power=-1"),
         "augmentation.decay_power=-1 is invalid; accepted: a number >= 0"),
        (("augmentation=fmix", "augmentation.max_soft=0.7"),
         "augmentation.max_soft=0.7 is invalid; accepted: a number in [0, 0.5]"),
        (("augmentation=prime", "augmentation.preset=svhn"),
         "augmentation.preset='svhn' is invalid; choose from: cifar, imagenet"),
        (("augmentation=prime_jsd", "augmentation.mixture_depth=4"),
         "augmentation.mixture_depth=4 is invalid; accepted: -1 or an integer in 1..augmentation.max_depth (3)"),
        (("augmentation=prime", "augmentation.primitives=[diffeo,blur]"),
         ("augmentation.primitives=['diffeo', 'blur'] is invalid; accepted: a non-empty list of distinct items, "
          "each one of diffeo, color, filter")),
        (("augmentation=randaugment", "augmentation.magnitude=31"),
         "augmentation.magnitude=31 is invalid; accepted: an integer in 0..augmentation.num_magnitude_bins - 1 (30)"),
        (("augmentation=randaugment_jsd", "augmentation.num_ops=0"),
         "augmentation.num_ops=0 is invalid; accepted: an integer >= 1"),
        (("augmentation=trivialaugment", "augmentation.num_magnitude_bins=1"),
         "augmentation.num_magnitude_bins=1 is invalid; accepted: an integer >= 2"),
    ],
)
def test_bad_values_are_one_line_and_write_nothing(
    args: tuple[str, ...], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_text("not an image")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("AUGMIX_MIXING_SET", raising=False)
    run = tmp_path / "run"
    result = run_in_process("augmix-train", *(a.format(tmp=tmp_path) for a in args), f"hydra.run.dir={run}",
                            f"dataset.root={tmp_path / 'data'}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("augmix-train: error: " + line.format(tmp=tmp_path)), lines[0]
    assert not run.exists() and not (tmp_path / "data").exists() and list(work.iterdir()) == []


def test_the_environment_names_the_mixing_set_for_a_whole_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUGMIX_MIXING_SET", str(tmp_path / "empty"))
    shown = run_in_process("augmix-train", "augmentation=pixmix", "--cfg", "job", "--resolve")
    assert shown.returncode == 0 and f"  mixing_set: {tmp_path / 'empty'}\n" in shown.stdout, shown.stderr
    refused = run_in_process("augmix-train", "augmentation=pixmix", f"hydra.run.dir={tmp_path / 'run'}")
    assert (refused.returncode, refused.stderr) == (2, (
        f"augmix-train: error: augmentation.mixing_set='{tmp_path / 'empty'}': holds no image files; "
        "accepted: a folder (searched recursively) of images Pillow can read, e.g. the PixMix authors' fractals "
        "and feature visualizations\n"
    ))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def _first_batch(name: str, benchmark: CifarBenchmark, pipeline: str, seed: int, **overrides: object):
    plan = build_training_plan_from_config(augmentation_config(name, **overrides), benchmark, seed=seed)
    source = build_training_batches(plan, benchmark, Runtime(device=CPU, num_workers=0, progress=False), pipeline, 8, seed)
    source.set_epoch(0)
    inputs, targets = next(iter(source))
    return (tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)), targets


@pytest.mark.parametrize(
    ("name", "pipeline"),
    [("prime", "cpu"), ("prime_jsd", "gpu"), ("pixmix", "cpu"), ("trivialaugment", "cpu"), ("randaugment_jsd", "cpu"),
     ("fmix", "gpu")],
)
def test_a_fixed_seed_gives_the_same_first_batch(
    name: str, pipeline: str, cifar10_root: Path, mixing_folder: Path
) -> None:
    benchmark = CifarBenchmark(cifar10_root)
    overrides = {"mixing_set": str(mixing_folder)} if name == "pixmix" else {}
    first, targets = _first_batch(name, benchmark, pipeline, 3, **overrides)
    again, targets_again = _first_batch(name, benchmark, pipeline, 3, **overrides)
    assert torch.equal(targets, targets_again)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    other, _ = _first_batch(name, benchmark, pipeline, 4, **overrides)
    assert not torch.equal(first[-1], other[-1])  # the seed decides the draws (and the order)


def test_prime_per_sample_draws_come_from_the_seed_epoch_and_index(cifar10_root: Path) -> None:
    """The cpu pipeline's PRIME views: a function of (seed, epoch, index), different when any differs."""
    benchmark = CifarBenchmark(cifar10_root)

    def view(seed: int, epoch: int, index: int) -> torch.Tensor:
        plan = build_training_plan_from_config(augmentation_config("prime"), benchmark, seed=seed)
        plan.dataset.spatial = None  # the same pixels every time: only PRIME's draws can differ
        plan.dataset.set_epoch(epoch)
        return plan.dataset[index][0]

    first = view(3, 0, 0)
    assert torch.equal(first, view(3, 0, 0))
    assert not torch.equal(first, view(4, 0, 0)) and not torch.equal(first, view(3, 1, 0))
    clean = torch.from_numpy(np.array(benchmark.train_set()[0][0])).permute(2, 0, 1).float() / 255
    assert not torch.allclose(first, (clean - 0.5) / 0.5, atol=1e-3)  # PRIME changed the image
