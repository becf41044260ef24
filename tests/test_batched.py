"""BatchedAugMix and its tensor ops against the reference PIL implementation (augment.ops / AugMix)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from augmix_bench.augment import ALL_OPS, AUGMIX_OPS, AugMix, BatchedAugMix, apply_op
from augmix_bench.augment.augmix import to_normalized_tensor
from augmix_bench.augment.ops import op_magnitude
from augmix_bench.augment.tensor_ops import apply_tensor_op, op_magnitudes
from augmix_bench.augment.tensor_random import (
    sample_beta,
    sample_dirichlet,
    sample_log_gamma,
)
from augmix_bench.errors import UserError


def sample_images(count: int, side: int, seed: int = 0) -> np.ndarray:
    """(count, side, side, 3) uint8: smooth random images plus the cases that LUT ops special-case.

    Image 0 is constant (equalize and autocontrast leave it alone), image 1 holds two values per
    channel, image 2 has a low contrast, image 3 has a constant channel and one whose equalize
    table reaches 256 at 32x32 (Pillow clips it to 255); the rest are smooth colour fields with
    some noise, like upscaled photos.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, max(side // 8, 2), max(side // 8, 2), 3), dtype=np.uint8)
    images = np.stack([np.asarray(Image.fromarray(c).resize((side, side), Image.BICUBIC)) for c in coarse])
    noise = rng.integers(-6, 7, size=images.shape)
    images = np.clip(images.astype(int) + noise, 0, 255).astype(np.uint8)
    images[0] = 77
    images[1] = np.where(rng.random((side, side, 1)) < 0.5, 30, 200)
    images[2] = 100 + images[2] // 16
    images[3, ..., 1] = 5
    images[3, ..., 0] = 0
    images[3, 0, :2, 0] = 200
    return images


def pixel_tensor(images: np.ndarray) -> torch.Tensor:
    """HWC uint8 arrays -> the ops' pixel tensor (N, 3, H, W) float32."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32)


def reference_ops(
    images: np.ndarray, name: str, levels: np.ndarray, negate: np.ndarray, fill: int
) -> np.ndarray:
    """``apply_op`` on every image (the reference), as (N, H, W, 3) int."""
    return np.stack(
        [
            np.asarray(apply_op(Image.fromarray(img), name, float(level), bool(neg), fill))
            for img, level, neg in zip(images, levels, negate, strict=True)
        ]
    ).astype(int)


@pytest.mark.parametrize("name", ALL_OPS)
@pytest.mark.parametrize(("side", "count", "fill"), [(32, 48, 0), (224, 6, 0), (32, 12, 128)])
def test_tensor_op_is_pixel_identical_to_apply_op(name: str, side: int, count: int, fill: int) -> None:
    images = sample_images(count, side, seed=side + count)
    levels = np.linspace(0.1, 9.99, count)  # the whole range of severities 1-10
    negate = np.arange(count) % 2 == 1
    expected = reference_ops(images, name, levels, negate, fill)
    got = apply_tensor_op(
        pixel_tensor(images), name, torch.from_numpy(levels), torch.from_numpy(negate), fill
    )
    got = got.permute(0, 2, 3, 1).numpy()
    assert np.array_equal(got, np.round(got)), "pixel tensors must hold whole numbers"
    difference = np.abs(got.astype(int) - expected)
    mad, worst = difference.mean(), difference.max()
    assert worst == 0, f"{name}: mean abs difference {mad:.4f}, max {worst}"


@pytest.mark.parametrize("side", [32, 224])
def test_magnitudes_equal_op_magnitude(side: int) -> None:
    levels = np.concatenate([np.linspace(0.1, 9.999, 400), [0.1, 1.0, 2.5, 10 / 3, 5.0, 25 / 3, 9.99]])
    for name in ALL_OPS:
        for negate in (False, True):
            flags = torch.full((len(levels),), negate)
            got = op_magnitudes(name, torch.from_numpy(levels), flags, side).tolist()
            for level, value in zip(levels, got, strict=True):
                expected = op_magnitude(name, float(level), side, negate)
                assert value == (0 if expected is None else expected), (name, level, negate)


def augmix_pair(seed: int = 0, **options: object) -> tuple[AugMix, BatchedAugMix]:
    return AugMix(**options), BatchedAugMix(seed=seed, **options)


@pytest.mark.parametrize("options", [{}, {"all_ops": True}, {"depth": 2, "fill": 128, "severity": 10}])
def test_mix_equals_pil_augmix_for_the_same_draw(options: dict) -> None:
    images = sample_images(24, 32, seed=5)
    reference, batched = augmix_pair(**options)
    draw = batched.draw(len(images), batched.generator("cpu"))
    mixed = batched.mix(torch.from_numpy(images).permute(0, 3, 1, 2), draw)
    normalized = batched.normalize(mixed)
    for i, image in enumerate(images):
        expected = reference.mix(Image.fromarray(image), draw.image_draw(i))
        assert torch.equal(mixed[i], torch.from_numpy(expected).permute(2, 0, 1)), i
        assert torch.equal(normalized[i], to_normalized_tensor(expected, reference.mean, reference.std)), i


def test_chains_group_ops_and_shorter_chains_stop() -> None:
    images = sample_images(16, 32, seed=6)
    batched = BatchedAugMix(seed=3)
    draw = batched.draw(len(images), batched.generator("cpu"))
    chains = batched.chains(torch.from_numpy(images).permute(0, 3, 1, 2), draw)
    for i, image in enumerate(images):
        for chain, steps in enumerate(draw.image_draw(i).chains):
            expected = Image.fromarray(image)
            for step in steps:
                expected = apply_op(expected, step.op, step.level or 0.0, step.negate)
            got = chains[chain, i].permute(1, 2, 0).numpy()
            assert np.array_equal(got, np.asarray(expected)), (i, chain)


def test_every_image_draws_its_own_chains() -> None:
    image = torch.from_numpy(sample_images(5, 32, seed=7)[4]).permute(2, 0, 1)
    batch = image.expand(64, -1, -1, -1).contiguous()
    out = BatchedAugMix(seed=11)(batch)
    distinct = {tuple(out[i].flatten()[::7].tolist()) for i in range(len(out))}
    assert len(distinct) == 64
    draw = BatchedAugMix(seed=11).draw(64, torch.Generator().manual_seed(0))
    assert len({tuple(row.flatten().tolist()) for row in draw.ops}) > 60
    assert len(set(draw.skip.tolist())) == 64


def test_seeded_runs_repeat_and_seeds_differ() -> None:
    batch = torch.from_numpy(sample_images(8, 32, seed=8)).permute(0, 3, 1, 2).contiguous()
    first, again = BatchedAugMix(seed=5)(batch), BatchedAugMix(seed=5)(batch)
    other = BatchedAugMix(seed=6)(batch)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    explicit = BatchedAugMix()(batch, torch.Generator().manual_seed(5))
    assert torch.equal(first, explicit)


def mean_change(mixed: np.ndarray, clean: np.ndarray) -> float:
    return float(np.abs(mixed - clean.astype(np.float32)).mean())


def test_mixed_output_distribution_matches_augmix() -> None:
    """KS test on each output's mean |mixed - clean| over 1000 draws, PIL AugMix vs BatchedAugMix."""
    images = sample_images(20, 32, seed=9)[4:]
    draws = 1000
    reference = AugMix(seed=123)
    pil = [Image.fromarray(img) for img in images]
    pil_changes = [
        mean_change(reference.mix(pil[k % len(pil)], reference.draw()), images[k % len(pil)])
        for k in range(draws)
    ]
    batch = torch.from_numpy(images[np.arange(draws) % len(images)]).permute(0, 3, 1, 2).contiguous()

    def batched_changes(augmix: BatchedAugMix) -> np.ndarray:
        mixed = augmix.mix(batch, augmix.draw(draws, augmix.generator("cpu")))
        return (mixed - batch.float()).abs().mean(dim=(1, 2, 3)).numpy()

    same = stats.ks_2samp(pil_changes, batched_changes(BatchedAugMix(seed=321)))
    assert same.pvalue > 0.01, same
    # The test has the power to see a different severity.
    weaker = stats.ks_2samp(pil_changes, batched_changes(BatchedAugMix(severity=1.5, seed=321)))
    assert weaker.pvalue < 1e-4, weaker


def test_draw_frequencies_follow_the_reference_distribution() -> None:
    batched = BatchedAugMix(seed=2)
    draw = batched.draw(6000, batched.generator("cpu"))
    depths = draw.depths.flatten().numpy()
    assert stats.chisquare(np.bincount(depths, minlength=4)[1:]).pvalue > 0.01
    ops = draw.ops[draw.ops >= 0].numpy()
    assert stats.chisquare(np.bincount(ops, minlength=len(AUGMIX_OPS))).pvalue > 0.01
    steps = draw.ops >= 0
    assert stats.kstest(draw.levels[steps].numpy(), stats.uniform(0.1, 2.9).cdf).pvalue > 0.01
    assert stats.binomtest(int(draw.negate[steps].sum()), int(steps.sum())).pvalue > 0.01
    assert stats.kstest(draw.skip.numpy(), stats.beta(1, 1).cdf).pvalue > 0.01
    assert stats.kstest(draw.weights[:, 0].numpy(), stats.beta(1, 2).cdf).pvalue > 0.01
    assert torch.allclose(draw.weights.sum(dim=1), torch.ones(6000))
    assert (draw.depths[:, :, None] > torch.arange(3)).eq(steps).all()


@pytest.mark.parametrize("alpha", [0.3, 1.0, 2.5])
def test_gamma_dirichlet_and_beta_draws(alpha: float) -> None:
    generator = torch.Generator().manual_seed(4)
    gamma = sample_log_gamma((5000,), alpha, generator).exp().numpy()
    assert stats.kstest(gamma, stats.gamma(alpha).cdf).pvalue > 0.01
    beta = sample_beta(5000, alpha, generator).numpy()
    assert stats.kstest(beta, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    weights = sample_dirichlet(5000, 3, alpha, generator).numpy()
    assert stats.kstest(weights[:, 1], stats.beta(alpha, 2 * alpha).cdf).pvalue > 0.01


def test_bad_batches_are_rejected_in_one_line() -> None:
    augmix = BatchedAugMix()
    with pytest.raises(UserError, match="uint8"):
        augmix(torch.zeros(2, 3, 32, 32))
    with pytest.raises(UserError, match=r"\(B, 3, S, S\)"):
        augmix(torch.zeros(2, 3, 32, 30, dtype=torch.uint8))
    with pytest.raises(UserError, match="severity"):
        BatchedAugMix(severity=11)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run pytest -m gpu on one)")
def test_cuda_ops_and_mix_equal_the_pil_reference() -> None:
    images = sample_images(24, 32, seed=10)
    levels, negate = np.linspace(0.1, 9.99, 24), np.arange(24) % 2 == 1
    pixels = pixel_tensor(images).cuda()
    for name in ALL_OPS:
        got = apply_tensor_op(pixels, name, torch.from_numpy(levels).cuda(), torch.from_numpy(negate).cuda())
        expected = reference_ops(images, name, levels, negate, 0)
        assert np.array_equal(got.permute(0, 2, 3, 1).cpu().numpy().astype(int), expected), name
    reference, batched = augmix_pair(all_ops=True)
    draw = batched.draw(len(images), batched.generator("cuda"))
    mixed = batched.mix(torch.from_numpy(images).permute(0, 3, 1, 2).cuda(), draw).cpu()
    for i, image in enumerate(images):
        expected = reference.mix(Image.fromarray(image), draw.image_draw(i))
        assert torch.equal(mixed[i], torch.from_numpy(expected).permute(2, 0, 1)), i
