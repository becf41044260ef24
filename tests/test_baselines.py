"""The paper's Table 1 baselines: Cutout, AutoAugment*, Mixup, CutMix, PGD adversarial training."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_RUN, run_cli
from omegaconf import OmegaConf
from reference_augmix import structured_image
from scipy import stats
from torchvision.transforms import AutoAugment, AutoAugmentPolicy

from augmix_bench.augment import IMAGENET_MEAN, IMAGENET_STD, StandardViews
from augmix_bench.augment.adversarial import pgd_linf
from augmix_bench.augment.baselines import (
    AutoAugmentDraw,
    Cutout,
    RestrictedAutoAugment,
)
from augmix_bench.augment.batch_mixing import draw_cutmix, draw_mixup, step_generator
from augmix_bench.runtime import restore_rng_state, rng_state
from augmix_bench.commands.build import (
    build_training_plan_from_config as build_training_plan,
)
from augmix_bench.config.paths import config_dir
from augmix_bench.data.cifar import CifarBenchmark
from augmix_bench.errors import UserError
from augmix_bench.augment.objectives import (
    AdversarialTraining,
    CrossEntropy,
    CutMix,
    Mixup,
)

BASELINES = ("cutout", "mixup", "cutmix", "autoaugment", "adversarial")


# ----------------------------------------------------------------------------------------- Cutout


def _covered_rows(length: int, side: int, row: int) -> int:
    """How many centres y in [0, side) give a hole [y - length//2, y + length//2) covering ``row``."""
    return sum(1 for y in range(side) if max(y - length // 2, 0) <= row < min(y + length // 2, side))


def test_cutout_holes_follow_the_authors_geometry() -> None:
    cutout = Cutout(length=16, holes=1)
    rng = np.random.default_rng(0)
    image = torch.ones(3, 32, 32)
    masks = []
    for _ in range(4000):
        out = cutout(image, rng)
        hole = out == 0
        assert torch.equal(hole[0], hole[1]) and torch.equal(hole[0], hole[2])
        rows, cols = hole[0].any(dim=1), hole[0].any(dim=0)
        assert int(hole[0].sum()) == int(rows.sum()) * int(cols.sum())  # one rectangle
        assert int(rows.sum()) <= 16 and int(cols.sum()) <= 16
        assert torch.equal(out[~hole], image[~hole])
        masks.append(hole[0].numpy())
    masks = np.stack(masks)
    assert torch.equal(image, torch.ones(3, 32, 32))
    # Hand-computed per-pixel probabilities: the centre is uniform over 32 x 32, the hole clipped.
    assert (
        _covered_rows(16, 32, 0) == 9 and _covered_rows(16, 32, 16) == 16 and _covered_rows(16, 32, 31) == 8
    )
    for (row, col), probability in {
        (0, 0): 81 / 1024,
        (16, 16): 1 / 4,
        (31, 31): 1 / 16,
        (0, 16): 9 / 64,
    }.items():
        assert stats.binomtest(int(masks[:, row, col].sum()), len(masks), probability).pvalue > 1e-3
    full = int((masks.sum(axis=(1, 2)) == 256).sum())  # centre in [8, 24] on both axes
    assert stats.binomtest(full, len(masks), (17 / 32) ** 2).pvalue > 1e-3


def test_cutout_zero_is_the_mean_colour_and_holes_add_up() -> None:
    image = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(0))
    two = Cutout(length=8, holes=2)(image, np.random.default_rng(3))
    assert 0 < int((two[0] == 0).sum()) <= 2 * 64
    assert torch.equal(Cutout(length=8, holes=0)(image, np.random.default_rng(3)), image)
    a = Cutout()(image, np.random.default_rng(9))
    assert torch.equal(a, Cutout()(image, np.random.default_rng(9)))


# ----------------------------------------------------------------------------------- AutoAugment*


def _torchvision_with_removed_ops(removed: tuple[str, ...]) -> AutoAugment:
    """torchvision's own AutoAugment, with the removed ops' probabilities set to 0."""
    reference = AutoAugment(AutoAugmentPolicy.CIFAR10)
    reference.policies = [
        tuple((name, 0.0 if name in removed else p, magnitude) for name, p, magnitude in sub_policy)
        for sub_policy in reference.policies
    ]
    return reference


@pytest.mark.parametrize("removed", [("Color", "Contrast", "Brightness", "Sharpness"), ()])
def test_autoaugment_equals_torchvision_with_the_removed_ops_disabled(removed: tuple[str, ...]) -> None:
    ours = RestrictedAutoAugment("cifar10", removed)
    reference = _torchvision_with_removed_ops(removed)
    assert len(ours.sub_policies) == 25
    img = structured_image(32, seed=3)
    changed = 0
    for seed in range(300):
        torch.manual_seed(seed)
        index, probabilities, signs = AutoAugment.get_params(25)
        draw = AutoAugmentDraw(index, tuple(probabilities.tolist()), tuple((signs == 0).tolist()))
        torch.manual_seed(seed)
        expected = np.asarray(reference(img))
        result = np.asarray(ours.apply(img, draw))
        assert np.array_equal(result, expected), seed
        changed += not np.array_equal(result, np.asarray(img))
    assert changed > 100


def test_autoaugment_never_applies_the_removed_ops() -> None:
    ours = RestrictedAutoAugment()
    assert ours.removed_ops == ("Color", "Contrast", "Brightness", "Sharpness")
    img = structured_image(32, seed=4)
    only_removed = [
        i for i, sub in enumerate(ours.sub_policies) if all(name in ours.removed_ops for name, _, _ in sub)
    ]
    assert len(only_removed) == 6  # e.g. (Sharpness, Sharpness), (Color, Brightness)
    for index in only_removed:
        draw = AutoAugmentDraw(index, (0.0, 0.0), (False, True))
        assert np.array_equal(np.asarray(ours.apply(img, draw)), np.asarray(img))


def test_autoaugment_draws_only_from_the_passed_generator() -> None:
    ours = RestrictedAutoAugment()
    img = structured_image(32, seed=5)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first = [np.asarray(ours(img, np.random.default_rng(i))) for i in range(40)]
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    assert all(
        np.array_equal(a, np.asarray(ours(img, np.random.default_rng(i)))) for i, a in enumerate(first)
    )
    rng = np.random.default_rng(1)
    picks = [ours.draw(rng).sub_policy for _ in range(5000)]
    assert stats.chisquare(np.bincount(picks, minlength=25)).pvalue > 1e-3


def test_autoaugment_bad_names_are_user_errors() -> None:
    with pytest.raises(
        UserError, match="augmentation.policy='cifar' is unknown; choose from: imagenet, cifar10, svhn"
    ):
        RestrictedAutoAugment("cifar")
    with pytest.raises(
        UserError, match="augmentation.removed_ops has 'Blur', not an op of the cifar10 policy"
    ):
        RestrictedAutoAugment("cifar10", ["Blur"])


# ----------------------------------------------------------------------------------- Mixup, CutMix


class _Linear(torch.nn.Module):
    def __init__(self, inputs: int = 3 * 8 * 8, classes: int = 4, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.linear = torch.nn.Linear(inputs, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def _batch(size: int = 16, side: int = 8, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(size, 3, side, side, generator=generator), torch.randint(
        0, 4, (size,), generator=generator
    )


def test_mixup_loss_is_the_label_mixed_cross_entropy_of_the_mixed_batch() -> None:
    model, (x, y) = _Linear(), _batch()
    for seed in range(5):
        torch.manual_seed(seed)
        draw = draw_mixup(len(y), 1.0, step_generator())
        lam, perm = draw.lam, draw.permutation
        torch.manual_seed(seed)
        step = Mixup(alpha=1.0)(model, x, y)
        with torch.no_grad():
            logits = model(lam * x + (1 - lam) * x[perm])
            expected = lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[perm])
        assert step.loss.item() == pytest.approx(expected.item(), rel=1e-6)
        assert torch.equal(step.targets, y) and sorted(perm.tolist()) == list(range(16))


@pytest.mark.parametrize("alpha", [1.0, 0.2])
def test_mixup_weights_are_beta_distributed(alpha: float) -> None:
    rng = np.random.default_rng(0)
    lams = [draw_mixup(8, alpha, rng).lam for _ in range(3000)]
    assert stats.kstest(lams, stats.beta(alpha, alpha).cdf).pvalue > 1e-3


def _authors_cutmix_draw(batch: int, side: int, alpha: float, probability: float, rng: np.random.Generator):
    """The CutMix authors' train-loop draw and rand_bbox, transcribed onto one NumPy generator."""
    if not rng.uniform() < probability:
        return None
    lam = rng.beta(alpha, alpha)
    perm = rng.permutation(batch)
    cut_rat = np.sqrt(1.0 - lam)
    cut_w = int(side * cut_rat)
    cut_h = int(side * cut_rat)
    cx = rng.integers(side)
    cy = rng.integers(side)
    bbx1 = np.clip(cx - cut_w // 2, 0, side)
    bby1 = np.clip(cy - cut_h // 2, 0, side)
    bbx2 = np.clip(cx + cut_w // 2, 0, side)
    bby2 = np.clip(cy + cut_h // 2, 0, side)
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (side * side))
    return (int(bbx1), int(bbx2), int(bby1), int(bby2)), float(lam), perm


def test_cutmix_draws_as_the_authors_code() -> None:
    applied = 0
    for seed in range(400):
        ours = draw_cutmix(16, 32, 32, 1.0, 0.5, np.random.default_rng(seed))
        theirs = _authors_cutmix_draw(16, 32, 1.0, 0.5, np.random.default_rng(seed))
        if theirs is None:
            assert ours.box is None and ours.lam == 1.0
            continue
        applied += 1
        box, lam, perm = theirs
        assert ours.box == box and ours.lam == pytest.approx(lam, abs=1e-12)
        assert ours.permutation.tolist() == perm.tolist()
    assert stats.binomtest(applied, 400, 0.5).pvalue > 1e-3


def test_cutmix_pastes_the_box_and_weights_labels_by_area() -> None:
    model, (x, y) = _Linear(inputs=3 * 32 * 32), _batch(side=32)
    seen_applied = seen_skipped = False
    for seed in range(12):
        torch.manual_seed(seed)
        draw = draw_cutmix(16, 32, 32, 1.0, 0.5, step_generator())
        torch.manual_seed(seed)
        step = CutMix(alpha=1.0, probability=0.5)(model, x, y)
        with torch.no_grad():
            if draw.box is None:
                seen_skipped = True
                expected = F.cross_entropy(model(x), y)
            else:
                seen_applied = True
                top, bottom, left, right = draw.box
                mixed = x.clone()
                mixed[:, :, top:bottom, left:right] = x[draw.permutation][:, :, top:bottom, left:right]
                kept = 1 - (bottom - top) * (right - left) / 1024
                logits = model(mixed)
                expected = kept * F.cross_entropy(logits, y) + (1 - kept) * F.cross_entropy(
                    logits, y[draw.permutation]
                )
        assert step.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert seen_applied and seen_skipped


@pytest.mark.parametrize("objective", [Mixup(1.0), CutMix(1.0, 1.0)])
def test_batch_baselines_draw_only_from_the_checkpointed_torch_generator(objective) -> None:
    """Restoring the saved generator states replays a step exactly (what resume relies on), and the
    step leaves NumPy's and Python's global generators alone."""
    model, (x, y) = _Linear(inputs=3 * 8 * 8), _batch()
    torch.manual_seed(3)
    saved = rng_state()
    first = objective(model, x, y).loss.item()
    after = rng_state()
    restore_rng_state(saved)
    assert objective(model, x, y).loss.item() == first
    assert after["numpy"][1].tolist() == saved["numpy"][1].tolist() and after["python"] == saved["python"]
    assert objective(model, x, y).loss.item() != first


# ------------------------------------------------------------------------------------ adversarial


def _pixels_to_inputs(pixels: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (pixels - mean) / std


def _inputs_to_pixels(inputs: torch.Tensor) -> torch.Tensor:
    return inputs * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)


def test_pgd_on_a_linear_model_reaches_the_analytic_corner() -> None:
    """For a two-class linear model the loss gradient's sign is sign(W_other - W_target) everywhere,
    so enough PGD steps end at x + eps * that sign in pixel space (clipped to [0, 1])."""
    model = _Linear(inputs=3 * 4 * 4, classes=2, seed=4)
    generator = torch.Generator().manual_seed(5)
    pixels = 0.2 + 0.6 * torch.rand(6, 3, 4, 4, generator=generator)
    pixels[0, 1, 2, 2] = 0.995  # near white: the [0, 1] range clips the step there
    targets = torch.tensor([0, 1, 0, 1, 1, 0])
    epsilon = 8 / 255
    torch.manual_seed(0)
    adversarial = pgd_linf(
        model, _pixels_to_inputs(pixels), targets, epsilon, 2 / 255, 10, True, IMAGENET_MEAN, IMAGENET_STD
    )
    weights = model.linear.weight.detach()
    direction = torch.sign(weights[1 - targets] - weights[targets]).view(6, 3, 4, 4)
    expected = torch.clamp(pixels + epsilon * direction, 0, 1)
    torch.testing.assert_close(_inputs_to_pixels(adversarial), expected, rtol=0, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_pgd_stays_in_the_budget_and_range_and_raises_the_loss() -> None:
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 8 * 8, 4),
    )
    model.train()
    pixels = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    targets = torch.randint(0, 4, (16,), generator=torch.Generator().manual_seed(3))
    inputs = _pixels_to_inputs(pixels)
    epsilon = 8 / 255
    adversarial = pgd_linf(model, inputs, targets, epsilon, 2 / 255, 7, True, IMAGENET_MEAN, IMAGENET_STD)
    moved = _inputs_to_pixels(adversarial) - pixels
    assert moved.abs().max() <= epsilon + 1e-6
    assert moved.abs().max() > epsilon - 1e-4
    adversarial_pixels = _inputs_to_pixels(adversarial)
    assert adversarial_pixels.min() >= -1e-6 and adversarial_pixels.max() <= 1 + 1e-6
    noise = torch.clamp(pixels + epsilon * (2 * torch.rand(pixels.shape) - 1), 0, 1)
    with torch.no_grad():
        model.eval()
        loss = {
            name: F.cross_entropy(model(x), targets).item()
            for name, x in [("clean", inputs), ("noise", _pixels_to_inputs(noise)), ("pgd", adversarial)]
        }
    assert loss["pgd"] > loss["noise"] and loss["pgd"] > loss["clean"]


def test_adversarial_objective_trains_on_the_attacked_batch() -> None:
    model, (x, y) = _Linear(), _batch()
    objective = AdversarialTraining(8 / 255, 2 / 255, 7, True, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    torch.manual_seed(4)
    step = objective(model, x, y)
    torch.manual_seed(4)
    attacked = pgd_linf(model, x, y, 8 / 255, 2 / 255, 7, True, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert step.loss.item() == pytest.approx(F.cross_entropy(model(attacked), y).item(), rel=1e-6)
    assert step.loss.item() > CrossEntropy()(model, x, y).loss.item()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: AdversarialTraining(-0.1, 0.01, 7, True, (0.5,) * 3, (0.5,) * 3),
            "augmentation.epsilon=-0.1",
        ),
        (
            lambda: AdversarialTraining(0.03, 0.0, 7, True, (0.5,) * 3, (0.5,) * 3),
            "augmentation.step_size=0.0",
        ),
        (lambda: AdversarialTraining(0.03, 0.01, 0, True, (0.5,) * 3, (0.5,) * 3), "augmentation.steps=0"),
        (lambda: Mixup(0.0), "augmentation.alpha=0.0 is invalid"),
        (lambda: CutMix(1.0, 1.5), "augmentation.probability=1.5 is invalid; accepted: a number in [0, 1]"),
        (lambda: Cutout(length=0), "augmentation.length=0 is invalid"),
    ],
)
def test_bad_settings_are_user_errors(build, message: str) -> None:
    with pytest.raises(UserError) as info:
        build()
    assert message in str(info.value)


# ------------------------------------------------------------------------ registry, configs, CLI


@pytest.fixture(scope="module")
def benchmark(cifar10_root: Path) -> CifarBenchmark:
    return CifarBenchmark(cifar10_root, "cifar10")


@pytest.mark.parametrize("name", BASELINES)
def test_every_config_builds_its_plan(name: str, benchmark: CifarBenchmark) -> None:
    options = OmegaConf.to_container(OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml"))
    assert options["name"] == name
    plan = build_training_plan(options, benchmark, seed=1)
    assert isinstance(plan.dataset, StandardViews)
    view, label = plan.dataset[0]
    assert view.shape == (3, 32, 32) and view.dtype == torch.float32
    objective = {
        "cutout": CrossEntropy,
        "autoaugment": CrossEntropy,
        "mixup": Mixup,
        "cutmix": CutMix,
        "adversarial": AdversarialTraining,
    }[name]
    assert isinstance(plan.objective, objective)


def test_paper_settings_in_the_configs(benchmark: CifarBenchmark) -> None:
    load = lambda name: OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml")  # noqa: E731
    assert (load("cutout").length, load("cutout").holes) == (16, 1)
    assert load("mixup").alpha == 1.0 and load("cutmix").alpha == 1.0 and load("cutmix").probability == 0.5
    adversarial = load("adversarial")
    assert adversarial.epsilon == pytest.approx(8 / 255, abs=1e-15)
    assert adversarial.step_size == pytest.approx(2 / 255, abs=1e-15)
    assert (adversarial.steps, adversarial.random_start) == (7, True)
    plan = build_training_plan(OmegaConf.to_container(adversarial), benchmark, seed=1)
    assert plan.objective.mean == benchmark.mean and plan.objective.std == benchmark.std
    assert OmegaConf.load(config_dir() / "recipe" / "augmentation" / "mixup.yaml").optim.weight_decay == 1e-4


def shipped(name: str) -> dict:
    """The shipped ``configs/augmentation/<name>.yaml`` as a dict."""
    return OmegaConf.to_container(OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml"))


def test_unknown_options_are_user_errors(benchmark: CifarBenchmark) -> None:
    with pytest.raises(
        UserError, match="augmentation 'cutout' has no option 'size'; accepted: length, holes"
    ):
        build_training_plan(shipped("cutout") | {"size": 8}, benchmark, seed=1)
    with pytest.raises(UserError, match="augmentation 'adversarial' has no option 'mean'"):
        build_training_plan(shipped("adversarial") | {"mean": [0, 0, 0]}, benchmark, seed=1)


@pytest.mark.e2e
def test_each_baseline_trains_one_epoch_through_the_cli(cifar10_root: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run_cli(
        "augmix-train",
        "-m",
        f"augmentation={','.join(BASELINES)}",
        f"dataset.root={cifar10_root}",
        "eval.suites=[clean]",
        f"hydra.sweep.dir={sweep}",
        *TINY_RUN,
        cwd=tmp_path,
    )
    entries = [json.loads(line) for line in (sweep / "runs.jsonl").read_text().splitlines()]
    assert sorted(e["augmentation"] for e in entries) == sorted(BASELINES)
    configs = {}
    for entry in entries:
        run_dir = Path(entry["run_dir"])
        results = json.loads((run_dir / "results.json").read_text())
        assert results["augmentation"] == entry["augmentation"] and results["clean"]["n"] == 100
        assert results["corruptions"] is None
        with open(run_dir / "train_log.csv") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 1 and math.isfinite(float(rows[0]["train_loss"]))
        assert (run_dir / "checkpoints" / "last.pt").is_file()
        configs[entry["augmentation"]] = results["config"]
    assert configs["mixup"]["optim"]["weight_decay"] == 1e-4
    assert all(configs[name]["optim"]["weight_decay"] == 5e-4 for name in BASELINES if name != "mixup")
    assert configs["cutout"]["augmentation"] == {
        "name": "cutout", "_target_": "augmix_bench.augment.plans.cutout", "length": 16, "holes": 1
    }
    assert configs["cutmix"]["augmentation"]["probability"] == 0.5
    assert configs["autoaugment"]["augmentation"]["removed_ops"] == [
        "Color",
        "Contrast",
        "Brightness",
        "Sharpness",
    ]
    assert configs["adversarial"]["augmentation"]["steps"] == 7


@pytest.mark.parametrize(("dataset", "length"), [("cifar10", 16), ("cifar100", 8)])
def test_cutout_hole_follows_the_cutout_paper_per_dataset(dataset: str, length: int) -> None:
    """DeVries & Taylor: a 16-pixel hole on CIFAR-10, 8 on CIFAR-100 (the recipe table)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["augmentation=cutout", f"dataset={dataset}"])
    assert cfg.augmentation.length == length
