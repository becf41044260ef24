"""AugMix against an independent transcription of the reference procedure, exactly and statistically."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from reference_augmix import (
    SIGNED,
    reference_augment_and_mix,
    reference_mix_given_draw,
    reference_preprocess,
    structured_image,
)
from scipy import stats
from torch.utils.data import DataLoader, Dataset

from augmix_bench.augment import (
    ALL_OPS,
    AUGMIX_OPS,
    CIFAR_MEAN,
    CIFAR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugMix,
)
from augmix_bench.augment.augmix import to_normalized_tensor
from augmix_bench.errors import UserError

CONFIGS = {
    "cifar": dict(
        severity=3, width=3, depth=-1, alpha=1.0, all_ops=False, mean=CIFAR_MEAN, std=CIFAR_STD, fill=0
    ),
    "imagenet_grey": dict(
        severity=1,
        width=3,
        depth=-1,
        alpha=1.0,
        all_ops=False,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        fill=128,
    ),
    "all_ops_deep": dict(
        severity=6, width=4, depth=2, alpha=0.5, all_ops=True, mean=CIFAR_MEAN, std=CIFAR_STD, fill=0
    ),
}


@pytest.mark.parametrize(
    ("config", "side", "seeds"), [("cifar", 32, 60), ("imagenet_grey", 224, 4), ("all_ops_deep", 32, 30)]
)
def test_replays_the_reference_random_stream_exactly(config: str, side: int, seeds: int) -> None:
    """Given a legacy RandomState seeded like the reference's global generator, AugMix makes the
    reference's draws in the reference's order and mixes them to the same image."""
    kwargs = CONFIGS[config]
    augmix = AugMix(**kwargs)
    img = structured_image(side, seed=side)
    for seed in range(seeds):
        expected = reference_augment_and_mix(img, np.random.RandomState(seed), **kwargs)
        ours = augmix(img, np.random.RandomState(seed))
        assert ours.dtype == torch.float32 and ours.shape == (3, side, side)
        torch.testing.assert_close(ours, expected, rtol=0, atol=2e-6)


def test_mixes_a_given_draw_as_the_reference() -> None:
    """``mix`` of a drawn ``AugMixDraw`` equals per-chain ToTensor+Normalize then mixing."""
    kwargs = CONFIGS["all_ops_deep"]
    augmix = AugMix(**kwargs)
    img = structured_image(32, seed=5)
    rng = np.random.default_rng(11)
    for _ in range(40):
        draw = augmix.draw(rng)
        ours = to_normalized_tensor(augmix.mix(img, draw), augmix.mean, augmix.std)
        expected = reference_mix_given_draw(img, draw, kwargs["mean"], kwargs["std"], kwargs["fill"])
        torch.testing.assert_close(ours, expected, rtol=0, atol=2e-6)


def test_a_call_is_draw_then_mix() -> None:
    augmix = AugMix()
    img = structured_image(32, seed=6)
    draw = augmix.draw(np.random.default_rng(3))
    torch.testing.assert_close(
        augmix(img, np.random.default_rng(3)),
        to_normalized_tensor(augmix.mix(img, draw), augmix.mean, augmix.std),
    )


@pytest.fixture(scope="module")
def cifar_draws() -> list:
    augmix = AugMix()
    rng = np.random.default_rng(2024)
    return [augmix.draw(rng) for _ in range(6000)]


def test_chain_depths_are_uniform_over_one_to_three(cifar_draws: list) -> None:
    depths = Counter(len(chain) for draw in cifar_draws for chain in draw.chains)
    assert set(depths) == {1, 2, 3}
    observed = [depths[1], depths[2], depths[3]]
    assert stats.chisquare(observed).pvalue > 1e-3
    assert all(len(draw.chains) == 3 for draw in cifar_draws)


def test_fixed_depth_is_used_for_every_chain() -> None:
    augmix = AugMix(width=5, depth=2)
    rng = np.random.default_rng(0)
    assert all(len(chain) == 2 for _ in range(200) for chain in augmix.draw(rng).chains)


def test_ops_are_uniform_with_replacement_over_the_nine(cifar_draws: list) -> None:
    ops = Counter(step.op for draw in cifar_draws for chain in draw.chains for step in chain)
    assert set(ops) == set(AUGMIX_OPS)
    assert stats.chisquare([ops[name] for name in AUGMIX_OPS]).pvalue > 1e-3
    repeated = sum(
        1
        for draw in cifar_draws
        for chain in draw.chains
        if len(chain) == 3 and len({s.op for s in chain}) < 3
    )
    three_step = sum(1 for draw in cifar_draws for chain in draw.chains if len(chain) == 3)
    # With replacement: P(some op repeats in 3 steps) = 1 - (9 * 8 * 7) / 9**3 = 0.3086.
    assert stats.binomtest(repeated, three_step, 1 - 504 / 729).pvalue > 1e-3


def test_all_ops_draws_uniformly_over_thirteen() -> None:
    augmix = AugMix(all_ops=True)
    rng = np.random.default_rng(7)
    ops = Counter(step.op for _ in range(3000) for chain in augmix.draw(rng).chains for step in chain)
    assert set(ops) == set(ALL_OPS)
    assert stats.chisquare([ops[name] for name in ALL_OPS]).pvalue > 1e-3


def test_levels_are_uniform_between_a_tenth_and_the_severity(cifar_draws: list) -> None:
    steps = [step for draw in cifar_draws for chain in draw.chains for step in chain]
    levels = np.array([s.level for s in steps if s.op not in ("autocontrast", "equalize")])
    assert all(s.level is None for s in steps if s.op in ("autocontrast", "equalize"))
    assert levels.min() >= 0.1 and levels.max() < 3.0
    assert stats.kstest(levels, stats.uniform(loc=0.1, scale=2.9).cdf).pvalue > 1e-3


def test_signs_are_fair_and_only_for_signed_ops(cifar_draws: list) -> None:
    steps = [step for draw in cifar_draws for chain in draw.chains for step in chain]
    signed = [s.negate for s in steps if s.op in SIGNED]
    assert not any(s.negate for s in steps if s.op not in SIGNED)
    assert stats.binomtest(sum(signed), len(signed), 0.5).pvalue > 1e-3


@pytest.mark.parametrize(("alpha", "width"), [(1.0, 3), (0.5, 4)])
def test_mixing_weights_are_dirichlet_and_skip_is_beta(alpha: float, width: int) -> None:
    augmix = AugMix(alpha=alpha, width=width, depth=1)
    rng = np.random.default_rng(99)
    draws = [augmix.draw(rng) for _ in range(4000)]
    weights = np.stack([d.weights for d in draws])
    assert weights.dtype == np.float32 and weights.shape == (4000, width)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    standard_error = np.sqrt((1 / width) * (1 - 1 / width) / (width * alpha + 1) / len(draws))
    assert np.abs(weights.mean(axis=0) - 1 / width).max() < 4 * standard_error
    marginal = stats.beta(alpha, (width - 1) * alpha)
    for column in weights.T:
        assert stats.kstest(column, marginal.cdf).pvalue > 1e-3
    skips = np.array([d.skip for d in draws])
    assert stats.kstest(skips, stats.beta(alpha, alpha).cdf).pvalue > 1e-3


def _mean_deviation(view: torch.Tensor, clean: torch.Tensor) -> float:
    return float((view - clean).abs().mean())


def test_deviation_from_the_clean_image_matches_the_reference_distribution() -> None:
    """Mean |AugMix(x) - normalize(x)| over many draws: ours (a modern Generator) and the reference
    procedure (an independent legacy stream) are samples of the same distribution; a reference
    with another severity is not (the test has power)."""
    img = structured_image(32, seed=8)
    clean = reference_preprocess(img, CIFAR_MEAN, CIFAR_STD)
    augmix = AugMix()
    rng = np.random.default_rng(5)
    ours = [_mean_deviation(augmix(img, rng), clean) for _ in range(700)]
    legacy = np.random.RandomState(6)
    reference = [_mean_deviation(reference_augment_and_mix(img, legacy), clean) for _ in range(700)]
    assert stats.ks_2samp(ours, reference).pvalue > 1e-3
    milder = [
        _mean_deviation(reference_augment_and_mix(img, legacy, severity=1.5), clean) for _ in range(400)
    ]
    assert stats.ks_2samp(ours, milder).pvalue < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(severity=0), "augmentation.severity=0 is invalid; accepted: a number in (0.1, 10]"),
        (dict(severity=11), "augmentation.severity=11"),
        (dict(width=0), "augmentation.width=0 is invalid"),
        (dict(depth=0), "augmentation.depth=0 is invalid; accepted: -1"),
        (dict(depth=-2), "augmentation.depth=-2"),
        (dict(alpha=0), "augmentation.alpha=0 is invalid"),
        (dict(fill=256), "augmentation.fill=256 is invalid; accepted: an integer in [0, 255]"),
    ],
)
def test_bad_arguments_are_user_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError) as info:
        AugMix(**kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_seeded_instances_repeat_their_stream() -> None:
    img = structured_image(32, seed=9)
    a, b = AugMix(seed=4), AugMix(seed=4)
    first = [a(img) for _ in range(3)]
    assert all(torch.equal(x, b(img)) for x in first)
    assert not torch.equal(first[0], first[1])


class _RepeatedImage(Dataset):
    """One image, many times, through a plain AugMix transform (no per-sample generator)."""

    def __init__(self, augmix: AugMix, count: int) -> None:
        self.augmix = augmix
        self.image = structured_image(32, seed=10)
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.augmix(self.image)


@pytest.mark.parametrize("seed", [None, 3])
def test_data_loader_workers_draw_different_streams(seed: int | None) -> None:
    """Used as a plain transform, AugMix re-seeds in every worker: no two workers repeat each other."""
    torch.manual_seed(0)
    loader = DataLoader(_RepeatedImage(AugMix(seed=seed), 24), batch_size=4, num_workers=2)
    views = torch.cat(list(loader)).flatten(1)
    assert views.shape[0] == 24
    assert len({tuple(row.tolist()) for row in views}) == 24


def test_non_rgb_images_are_converted() -> None:
    img = structured_image(32, seed=12).convert("L")
    out = AugMix()(img, np.random.default_rng(0))
    assert out.shape == (3, 32, 32)
