"""held_out.py: which ops of an augmentation overlap the -C corruptions, checked against the real op sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import TINY_RUN, run_in_process
from omegaconf import OmegaConf
from torchvision.transforms import (
    AutoAugment,
    AutoAugmentPolicy,
    RandAugment,
    TrivialAugmentWide,
)

from augmix_bench.augment.ops import ALL_OPS, AUGMIX_OPS
from augmix_bench.augment.pixmix import PIXMIX_SETTINGS
from augmix_bench.augment.prime import PRIMITIVES
from augmix_bench.commands.report import main as report_main
from augmix_bench.config.paths import config_dir
from augmix_bench.data.names import CORRUPTIONS, EXTRA_CORRUPTIONS
from augmix_bench.held_out import (
    ALL_OPS_EXTRA,
    AUGMIX_OP_SET,
    AUTOAUGMENT_POLICIES,
    OVERLAPS,
    TORCHVISION_WIDE,
    corruption_overlap,
    overlapping_ops,
)

COLOUR_OPS = ("brightness", "contrast", "color", "sharpness")  # in OVERLAPS order


def augmentation_config(name: str) -> dict[str, Any]:
    """configs/augmentation/<name>.yaml with its defaults merged in, as a run's config holds it."""
    config = OmegaConf.load(config_dir() / "augmentation" / f"{name}.yaml")
    if "defaults" in config:
        base = augmentation_config(config.defaults[0])
        config = OmegaConf.merge(base, {k: v for k, v in config.items() if k != "defaults"})
    return OmegaConf.to_container(config)  # type: ignore[return-value]


def test_every_overlapped_corruption_is_a_corruption_of_the_benchmarks() -> None:
    assert {c for cs in OVERLAPS.values() for c in cs} <= set(CORRUPTIONS) | set(EXTRA_CORRUPTIONS)


def test_the_table_matches_the_op_sets_of_the_implementations() -> None:
    assert set(ALL_OPS_EXTRA) == set(ALL_OPS) - set(AUGMIX_OPS)  # what all_ops adds, all of it overlapping
    assert not set(AUGMIX_OPS) & set(OVERLAPS)  # AugMix's own set is held out
    assert "diffeo" in PRIMITIVES and "diffeo" in OVERLAPS
    for space in (TrivialAugmentWide()._augmentation_space(10), RandAugment()._augmentation_space(10, (32, 32))):
        assert {name.lower() for name in space} & set(OVERLAPS) == set(TORCHVISION_WIDE)
    for policy in AutoAugmentPolicy:
        used = {op.lower() for pair in AutoAugment(policy).policies for op, _, _ in pair}
        assert set(AUTOAUGMENT_POLICIES[policy.value]) == used & set(OVERLAPS), policy
    # PixMix's reference recipes pass --all-ops for CIFAR and ImageNet: the default when unsaid.
    assert all(settings.all_ops for settings in PIXMIX_SETTINGS.values()) and AUGMIX_OP_SET["pixmix"]


@pytest.mark.parametrize(
    ("name", "options", "ops"),
    [
        ("standard", {}, ()),
        ("augmix", {}, ()),
        ("augmix", {"all_ops": True}, COLOUR_OPS),
        ("augmix_no_jsd", {"all_ops": True}, COLOUR_OPS),
        ("random_aa_jsd", {}, ()),
        ("random_aa", {"all_ops": True}, COLOUR_OPS),
        ("autoaugment", {}, ()),  # AutoAugment* removes them
        ("autoaugment", {"removed_ops": []}, COLOUR_OPS),
        ("autoaugment", {"removed_ops": ["Color"], "policy": "imagenet"}, ("contrast", "sharpness")),
        ("autoaugment", {"removed_ops": [], "policy": "svhn"}, ("contrast",)),
        ("cutout", {}, ()),
        ("mixup", {}, ()),
        ("cutmix", {}, ()),
        ("adversarial", {}, ()),
        ("transform", {"transform": {"_target_": "torchvision.transforms.TrivialAugmentWide"}}, COLOUR_OPS),
    ],
)
def test_overlapping_ops_of_the_shipped_configs(name: str, options: dict, ops: tuple[str, ...]) -> None:
    config = {**augmentation_config(name), **options}
    assert overlapping_ops(config) == ops


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"name": "prime"}, {"diffeo": ["elastic_transform"]}),
        ({"name": "prime_jsd"}, {"diffeo": ["elastic_transform"]}),
        ({"name": "pixmix"}, {"brightness": ["brightness"], "contrast": ["contrast"], "color": ["saturate"],
                              "sharpness": ["defocus_blur", "gaussian_blur"]}),
        ({"name": "pixmix", "all_ops": False}, {}),
        ({"name": "trivialaugment_jsd"}, {"brightness": ["brightness"], "contrast": ["contrast"], "color": ["saturate"],
                                          "sharpness": ["defocus_blur", "gaussian_blur"]}),
        ({"name": "randaugment"}, {"brightness": ["brightness"], "contrast": ["contrast"], "color": ["saturate"],
                                   "sharpness": ["defocus_blur", "gaussian_blur"]}),
        ({"name": "fmix", "alpha": 1.0}, {}),
        ({"name": "shift", "most": 3}, None),  # a user's own augmentation: not known
        ({"name": "transform", "transform": {"_target_": "mycomponents.RandomShift"}}, None),
        ({"name": "autoaugment", "policy": "nosuch"}, None),
        (None, None),  # a checkpoint not trained here records no augmentation
    ],
)
def test_corruption_overlap_by_name_and_options(config: dict | None, expected: dict | None) -> None:
    assert corruption_overlap(config) == expected


def test_a_run_records_its_overlap_and_the_report_marks_it(
    cifar10_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One epoch of AugMix with all_ops through augmix-train, then augmix-report on its folder."""
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    result = run_in_process(
        "augmix-train", "dataset=cifar10", f"dataset.root={cifar10_root}", "augmentation=augmix",
        "augmentation.all_ops=true", "augmentation.jsd=false", *TINY_RUN, "eval.suites=[clean,corruptions]",
        "eval.limit=20", f"hydra.run.dir={run_dir}",
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert results["corruption_overlap"] == {
        "brightness": ["brightness"], "contrast": ["contrast"], "color": ["saturate"],
        "sharpness": ["defocus_blur", "gaussian_blur"],
    }
    assert report_main([str(run_dir), f"output={tmp_path / 'report'}"]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| wrn10_1 | augmix † | 1 |" in md  # the per-corruption table's method
    assert ("*† -C is not held out for augmix: their operations overlap -C corruptions, op (corruptions): "
            "brightness (brightness), contrast (contrast), color (saturate), sharpness (defocus_blur, gaussian_blur). "
            "The AugMix paper removes such operations from its set for this reason, and Composer's AugMix leaves "
            "them out with augmentation_set='safe'.*") in md
