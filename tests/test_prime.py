"""PRIME (augment.prime) against the reference's numbers and an independent transcription
(tests/reference_prime.py) of github.com/amodas/PRIME-augmentations @ 0290f6b."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augmix_bench.augment.prime import (
    PRIME,
    PRIME_PARAMETERS,
    PRIMITIVES,
    REFERENCE_JSD,
    check_generator,
)
from augmix_bench.augment.prime_primitives import (
    ColorDraw,
    ColorParameters,
    DiffeoDraw,
    DiffeoParameters,
    FilterDraw,
    FilterParameters,
    diffeo,
    draw_color,
    draw_diffeo,
    draw_filter,
    random_filter,
    smooth_color,
)

import reference_prime as ref

# The reference's config sections, typed from config/cifar10_cfg.py:49-62 and
# config/imagenet_cfg.py:51-64 (names as there); the tables must hold exactly these numbers.
CIFAR_CFG = {
    "diffeo": {"sT": 1.0, "rT": 1.0, "scut": 1.0, "rcut": 1.0, "cutmin": 2, "cutmax": 100, "alpha": 1.0},
    "color_jit": {"cut": 100, "T": 0.01, "max_freqs": None},
    "rand_filter": {"kernel_size": 3, "sigma": 4.0},
}
IMAGENET_CFG = {
    "diffeo": {"sT": 1.0, "rT": 1.0, "scut": 1.0, "rcut": 1.0, "cutmin": 2, "cutmax": 500, "alpha": 1.0},
    "color_jit": {"cut": 500, "T": 0.05, "max_freqs": 20},
    "rand_filter": {"kernel_size": 3, "sigma": 4.0},
}
CONFIGS = {"cifar": CIFAR_CFG, "imagenet": IMAGENET_CFG}
TOLERANCE = 1e-5  # max abs difference of one primitive against the transcription, same draws
# A whole chain is compared with a looser bound: each step amplifies the float32 rounding of the
# step before (a filter with sigma ~4 by up to sum|kernel| ~ 30, a colour curve by up to
# 1 + pi k sqrt(T) sum|c|), so three float32 steps drift from a float64 transcription by ~3e-5
# here (every single step stays below 1e-6). Any wrong weight, order or depth is off by > 1e-2.
CHAIN_TOLERANCE = 2e-4


def smooth_images(count: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """(count, 3, size, size) float32 in [0, 1]: bicubic-upsampled colour fields plus some noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, 5, 5, generator=g)
    images = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (images + 0.03 * torch.randn(images.shape, generator=g)).clamp(0, 1)


def close_means(a: np.ndarray, b: np.ndarray, sigmas: float = 4.0) -> tuple[bool, str]:
    """Whether two samples' means agree within ``sigmas`` combined standard errors."""
    error = math.sqrt(a.var() / len(a) + b.var() / len(b))
    return abs(a.mean() - b.mean()) <= sigmas * error, f"{a.mean():.5f} vs {b.mean():.5f} (se {error:.5f})"


# ------------------------------------------------------------------------ parameter tables


@pytest.mark.parametrize("name", ["cifar", "imagenet"])
def test_parameter_tables_hold_the_reference_values(name: str) -> None:
    table, cfg = PRIME_PARAMETERS[name], CONFIGS[name]
    d = cfg["diffeo"]
    assert table.diffeo == DiffeoParameters(
        d["sT"], d["rT"], d["scut"], d["rcut"], d["cutmin"], d["cutmax"], d["alpha"]
    )
    assert table.color == ColorParameters(cfg["color_jit"]["cut"], cfg["color_jit"]["T"], cfg["color_jit"]["max_freqs"])
    assert table.filter == FilterParameters(cfg["rand_filter"]["kernel_size"], cfg["rand_filter"]["sigma"])
    # s = 1, r = 1: both Beta draws are Beta(0.5, 0.5) (utils/diffeomorphism.py:58-59)
    assert table.diffeo.temperature_beta == (0.5, 0.5)
    assert table.diffeo.cut_beta == (0.5, 0.5)
    assert PRIMITIVES == ("diffeo", "color", "filter")
    assert REFERENCE_JSD == {"cifar": True, "imagenet": False}


# ------------------------------------------------------------------------ primitives, same draws


def test_diffeo_equals_the_transcription() -> None:
    images = smooth_images(6)
    cut = torch.tensor([2, 3, 7, 20, 60, 101])
    g = torch.Generator().manual_seed(1)
    cu = torch.randn(6, 101, 101, generator=g)
    cv = torch.randn(6, 101, 101, generator=g)
    temperatures = []
    for i, c in enumerate(cut.tolist()):
        t1, t2 = ref.allowed_temperatures(32, c)
        # lowest, highest, in between, and far beyond (displacements that hit the borders)
        temperatures.append([t1, t2, 0.5 * (t1 + t2), 5 * t2, 0.2 * t2 + 0.8 * t1, 40 * t2][i])
    draw = DiffeoDraw(cut, torch.tensor(temperatures, dtype=torch.float32), cu, cv)
    out = diffeo(images, draw)
    for i, c in enumerate(cut.tolist()):
        expected = ref.diffeo_one(
            images[i].double().numpy(), float(draw.temperature[i]), c,
            cu[i, :c, :c].double().numpy(), cv[i, :c, :c].double().numpy(),
        )
        assert np.abs(out[i].double().numpy() - expected).max() < TOLERANCE, i
    assert (out - images).abs().mean() > 0.01  # it moved something


def test_diffeo_ignores_modes_past_each_cut() -> None:
    images = smooth_images(2)
    g = torch.Generator().manual_seed(2)
    cut = torch.tensor([4, 9])
    cu, cv = torch.randn(2, 12, 12, generator=g), torch.randn(2, 12, 12, generator=g)
    base = diffeo(images, DiffeoDraw(cut, torch.tensor([0.01, 0.002]), cu, cv))
    cu2, cv2 = cu.clone(), cv.clone()
    cu2[0, 4:, :] = 100.0  # i > 4: r >= cut + 0.5 for image 0
    cv2[1, :, 9:] = -50.0
    assert torch.equal(base, diffeo(images, DiffeoDraw(cut, torch.tensor([0.01, 0.002]), cu2, cv2)))


@pytest.mark.parametrize("name", ["cifar", "imagenet"])
def test_smooth_color_equals_the_transcription(name: str) -> None:
    images = smooth_images(5)
    g = torch.Generator().manual_seed(3)
    draw = draw_color(5, 3, PRIME_PARAMETERS[name].color, g)
    # larger temperatures too, so the clipping matters
    draw = ColorDraw(draw.temperature * torch.tensor([1.0, 1.0, 10.0, 30.0, 100.0]), draw.frequencies, draw.coefficients)
    out = smooth_color(images, draw)
    for i in range(5):
        ks = [int(k) for k in draw.frequencies[i] if k > 0]
        expected = ref.color_one(
            images[i].double().numpy(), float(draw.temperature[i]), ks,
            draw.coefficients[i, :, : len(ks)].double().numpy(),
        )
        assert np.abs(out[i].double().numpy() - expected).max() < TOLERANCE, i
    assert (out == 0).any() or (out == 1).any()


def test_smooth_color_equals_its_slot_by_slot_sum_bit_for_bit() -> None:
    # smooth_color skips each image's unused trailing slots and sorts the images by their count;
    # the values must be those of adding every slot over the whole batch in order (float32, exact),
    # also with unused slots in the middle and images given in no particular order of their counts.
    images = smooth_images(7, size=16, seed=21)
    draw = draw_color(7, 3, PRIME_PARAMETERS["cifar"].color, torch.Generator().manual_seed(21))
    frequencies = draw.frequencies.clone()
    frequencies[2, 1] = 0
    frequencies[4, 3:] = 0
    draw = ColorDraw(draw.temperature * 30, frequencies, draw.coefficients)
    colors = images.reshape(7, 3, -1)
    amplitude = draw.coefficients * draw.temperature.sqrt()[:, None, None]
    expected = colors.clone()
    for f in range(frequencies.shape[1]):
        wave = torch.sin(colors * frequencies[:, f, None, None].float() * math.pi)
        expected.addcmul_(wave, amplitude[:, :, f, None])
    expected = expected.clamp_(0, 1).view(images.shape)
    lengths = [int(torch.nonzero(row).max()) + 1 for row in frequencies]
    assert lengths != sorted(lengths, reverse=True) and len(set(lengths)) > 2
    assert torch.equal(smooth_color(images, draw), expected)


def test_random_filter_equals_the_transcription() -> None:
    images = smooth_images(6)
    g = torch.Generator().manual_seed(4)
    draw = draw_filter(6, PRIME_PARAMETERS["cifar"].filter, g)
    out = random_filter(images, draw)
    for i in range(6):
        expected = ref.filter_one(images[i].double().numpy(), float(draw.sigma[i]), draw.noise[i].double().numpy())
        assert np.abs(out[i].double().numpy() - expected).max() < TOLERANCE, i


def test_random_filter_delta_sits_at_ceil_half_as_in_the_reference() -> None:
    # sigma = 0 leaves the delta alone; at (ceil(3/2), ceil(3/2)) = (2, 2) it shifts by one pixel
    # up and left (cross-correlation), zero-filling the last row and column.
    images = smooth_images(2)
    out = random_filter(images, FilterDraw(torch.zeros(2), torch.randn(2, 3, 3)))
    assert torch.equal(out[:, :, :-1, :-1], images[:, :, 1:, 1:])
    assert torch.all(out[:, :, -1, :] == 0) and torch.all(out[:, :, :, -1] == 0)


# ------------------------------------------------------------------------ the whole pipeline


@pytest.mark.parametrize(
    "name, options",
    [("cifar", {}), ("imagenet", {}), ("cifar", {"shared_draws": True}), ("cifar", {"mixture_depth": 2})],
)
def test_pipeline_equals_the_transcription_for_the_same_draw(name: str, options: dict) -> None:
    images = smooth_images(3, seed=5)
    prime = PRIME(name, jsd=False, **options)
    draw = prime.draw(images.shape, torch.Generator().manual_seed(6))
    out = prime.apply(images, draw)
    expected = ref.prime_from_draw(images.double().numpy(), draw)
    assert np.abs(out.double().numpy() - expected).max() < CHAIN_TOLERANCE
    assert np.abs(out.double().numpy() - images.double().numpy()).max() > 0.05
    assert len(draw.steps) == prime.steps
    if options.get("shared_draws"):  # one diffeo per step for every instance that applies it
        for step in draw.steps:
            if step.members[0].numel() > 1:
                assert torch.equal(step.draws[0].coefficients_u[0], step.draws[0].coefficients_u[-1])


def test_call_equals_apply_of_draw_with_the_same_seed() -> None:
    images = smooth_images(4)
    prime = PRIME("cifar", jsd=False)
    drawn = prime.apply(images, prime.draw(images.shape, torch.Generator().manual_seed(7)))
    assert torch.equal(prime(images, torch.Generator().manual_seed(7)), drawn)


def test_jsd_returns_clean_and_two_independent_views() -> None:
    images = smooth_images(4)
    clean, aug1, aug2 = PRIME("cifar", jsd=True)(images, torch.Generator().manual_seed(8))
    assert clean is images
    assert aug1.shape == aug2.shape == images.shape
    assert not torch.equal(aug1, aug2)


# ------------------------------------------------------------------------ draw distributions


def test_diffeo_draws_follow_the_reference_distribution() -> None:
    count = 1200
    d = draw_diffeo(count, 32, PRIME_PARAMETERS["cifar"].diffeo, torch.Generator().manual_seed(9))
    rng = np.random.default_rng(9)
    reference = [ref.sample_diffeo(rng, 32, CIFAR_CFG["diffeo"]) for _ in range(count)]
    cut = d.cut.numpy().astype(float)
    ref_cut = np.array([c for c, _ in reference], dtype=float)
    assert cut.min() >= 2 and cut.max() <= 101
    ok, text = close_means(cut, ref_cut)
    assert ok, f"mean cut {text}"
    ok, text = close_means(cut**2, ref_cut**2)
    assert ok, f"mean cut² {text}"
    # T lies in the allowed range of its cut, at a Beta(0.5, 0.5) position (mean 1/2, var 1/8);
    # above cut 2n/pi (~20 at 32 px) T2 < T1, so the range is the single value T1.
    position = []
    for c, t in zip(cut.astype(int).tolist(), d.temperature.double().tolist(), strict=True):
        t1, t2 = ref.allowed_temperatures(32, c)
        t2 = max(t1, t2)
        assert t1 * (1 - 1e-6) <= t <= t2 * (1 + 1e-6), (c, t, t1, t2)
        if t2 > t1 * 1.01:
            position.append((t - t1) / (t2 - t1))
    position = np.array(position)
    assert len(position) > 100
    assert abs(position.mean() - 0.5) < 4 * math.sqrt(0.125 / len(position))
    assert abs(position.var() - 0.125) < 0.02
    ok, text = close_means(np.log(d.temperature.double().numpy()), np.log([t for _, t in reference]))
    assert ok, f"mean log T {text}"
    assert d.coefficients_u.shape[1:] == (int(cut.max()),) * 2
    assert abs(d.coefficients_u.std().item() - 1) < 0.01


@pytest.mark.parametrize("name", ["cifar", "imagenet"])
def test_color_draws_follow_the_reference_distribution(name: str) -> None:
    count = 3000
    params, cfg = PRIME_PARAMETERS[name].color, CONFIGS[name]["color_jit"]
    d = draw_color(count, 3, params, torch.Generator().manual_seed(10))
    rng = np.random.default_rng(10)
    reference = [ref.sample_color(rng, cfg) for _ in range(count)]
    for row in d.frequencies.tolist():  # consecutive frequencies, then unused slots
        used = [k for k in row if k > 0]
        assert used == list(range(used[0], used[0] + len(used))) and row[len(used):] == [0] * (len(row) - len(used))
        assert used[-1] <= cfg["cut"] and (cfg["max_freqs"] is not None or used[0] == 1)
    for ours, theirs in [
        ((d.frequencies > 0).sum(1).double().numpy(), np.array([len(k) for _, k in reference], float)),
        (d.frequencies.double().sum(1).numpy(), np.array([sum(k) for _, k in reference], float)),
        (d.temperature.double().numpy(), np.array([t for t, _ in reference])),
    ]:
        ok, text = close_means(ours, theirs)
        assert ok, text
    assert abs(d.temperature.double().mean().item() - cfg["T"] / 2) < 4 * cfg["T"] / math.sqrt(12 * count)
    assert d.temperature.max() <= cfg["T"]


def test_filter_draws_follow_the_reference_distribution() -> None:
    count = 4000
    d = draw_filter(count, PRIME_PARAMETERS["cifar"].filter, torch.Generator().manual_seed(11))
    sigma = d.sigma.double()
    assert 0 <= sigma.min() and sigma.max() <= 4.0
    assert abs(sigma.mean().item() - 2.0) < 4 * math.sqrt(16 / 12 / count)
    assert abs(sigma.var().item() - 16 / 12) < 0.1
    assert d.noise.shape == (count, 3, 3) and abs(d.noise.std().item() - 1) < 0.02


def test_mixing_draws_match_the_reference_distribution() -> None:
    batch = 4000
    weights, skip, depths, ops = PRIME("cifar").draw_mixing(batch, torch.Generator().manual_seed(12))
    rng = np.random.default_rng(12)
    ref_weights = rng.dirichlet(np.ones(3), size=batch)
    ref_skip = rng.beta(1.0, 1.0, size=batch)
    w = weights.double().numpy()
    assert np.allclose(w.sum(1), 1, atol=1e-6)
    # Dirichlet(1, 1, 1): mean 1/3, variance (1/3)(2/3)/4 = 1/18; Beta(1, 1): 1/2 and 1/12
    for ours, theirs, mean, var in [(w[:, 0], ref_weights[:, 0], 1 / 3, 1 / 18), (skip.double().numpy(), ref_skip, 0.5, 1 / 12)]:
        ok, text = close_means(ours, theirs)
        assert ok, text
        assert abs(ours.mean() - mean) < 4 * math.sqrt(var / batch)
        assert abs(ours.var() - var) < 0.1 * var and abs(theirs.var() - var) < 0.1 * var
    assert depths.shape == (3 * batch,) and ops.shape == (3 * batch, 3)
    for values, options in [(depths, (1, 2, 3)), (ops.flatten(), (0, 1, 2))]:
        counts = torch.bincount(values)[list(options)].double() / values.numel()
        assert torch.all((counts - 1 / 3).abs() < 0.02)


@pytest.mark.parametrize("primitive", ["diffeo", "color"])
def test_primitive_effect_matches_the_reference_on_average(primitive: str) -> None:
    """Mean |primitive(x) - x| with freshly drawn parameters, ours vs the transcription's draws."""
    images = smooth_images(600, seed=13)
    prime = PRIME("cifar", jsd=False, primitives=(primitive,), mixture_depth=1, mixture_width=1)
    draw = prime.draw_step(0, torch.ones(600, dtype=torch.long), torch.zeros(600, 1, dtype=torch.long), 3, 32,
                           torch.Generator().manual_seed(13))
    ours = (prime.apply_step(images.clone(), draw) - images).abs().mean((1, 2, 3)).double().numpy()
    rng = np.random.default_rng(13)
    x = images.double().numpy()
    theirs = np.array([np.abs(ref.apply_sampled(rng, primitive, img, CIFAR_CFG) - img).mean() for img in x])
    ok, text = close_means(ours, theirs)
    assert ok, text


def test_pipeline_statistics_match_the_reference() -> None:
    """Over 1000 images: mean |PRIME(x) - x| and the mixing weights, ours vs the transcription's."""
    count = 1000
    images = smooth_images(count, seed=14)
    prime = PRIME("cifar", jsd=False)
    out = prime(images, torch.Generator().manual_seed(14))
    assert out.min() >= 0 and out.max() <= 1
    ours = (out - images).abs().mean((1, 2, 3)).double().numpy()
    rng = np.random.default_rng(14)
    x = images.double().numpy()
    theirs, ref_w, ref_m = [], [], []
    for img in x:
        mixed, w, m = ref.prime_one(rng, img, CIFAR_CFG)
        theirs.append(np.abs(mixed - img).mean())
        ref_w.append(w[0])
        ref_m.append(m)
    ok, text = close_means(ours, np.array(theirs))
    assert ok, f"mean |aug - clean| {text}"
    assert 0.05 < ours.mean() < 0.3
    draw = prime.draw(images.shape, torch.Generator().manual_seed(15))
    for mine, theirs_ in [(draw.weights[:, 0], ref_w), (draw.skip, ref_m)]:
        ok, text = close_means(mine.double().numpy(), np.array(theirs_))
        assert ok, text
        assert abs(mine.double().var().item() - np.var(theirs_)) < 0.15 * np.var(theirs_)


# ------------------------------------------------------------------------ randomness and devices


def test_every_image_draws_its_own_parameters() -> None:
    images = smooth_images(1).repeat(2, 1, 1, 1)
    out = PRIME("cifar", jsd=False)(images, torch.Generator().manual_seed(16))
    assert not torch.equal(out[0], out[1])
    params = PRIME_PARAMETERS["cifar"]
    g = torch.Generator().manual_seed(17)
    d = draw_diffeo(8, 32, params.diffeo, g)
    assert len(set(d.cut.tolist())) > 1 and len(set(d.temperature.tolist())) > 1
    assert not torch.equal(d.coefficients_u[0], d.coefficients_u[1])
    c = draw_color(8, 3, params.color, g)
    assert len(set(c.temperature.tolist())) > 1
    f = draw_filter(8, params.filter, g)
    assert len(set(f.sigma.tolist())) > 1
    shared = draw_diffeo(8, 32, params.diffeo, g, shared=True)
    assert len(set(shared.cut.tolist())) == 1 and torch.equal(shared.coefficients_v[0], shared.coefficients_v[7])
    assert len(set(draw_filter(8, params.filter, g, shared=True).sigma.tolist())) == 1


def test_seeded_calls_reproduce() -> None:
    images = smooth_images(3)
    prime = PRIME("imagenet", jsd=True)
    first = prime(images, torch.Generator().manual_seed(18))
    again = prime(images, torch.Generator().manual_seed(18))
    other = prime(images, torch.Generator().manual_seed(19))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[1], other[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_output_stays_on_the_batch_device_and_dtype(dtype: torch.dtype) -> None:
    images = smooth_images(2).to(dtype)
    out = PRIME("cifar", jsd=False)(images, torch.Generator(device=images.device).manual_seed(20))
    assert out.dtype == dtype and out.device == images.device and out.shape == images.shape


def test_refuses_bad_inputs_in_plain_words() -> None:
    prime = PRIME("cifar")
    g = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match="float tensor"):
        prime(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), g)
    with pytest.raises(ValueError, match="square"):
        prime(torch.zeros(2, 3, 8, 9), g)
    with pytest.raises(ValueError, match="generator is on cpu"):
        check_generator(g, torch.empty(2, 3, 8, 8, device="meta"))
    with pytest.raises(ValueError, match="mixture_depth"):
        PRIME("cifar", mixture_depth=4)
    with pytest.raises(ValueError, match="accepted"):
        PRIME("svhn")
    with pytest.raises(ValueError, match="primitives"):
        PRIME("cifar", primitives=("diffeo", "blur"))
    with pytest.raises(ValueError, match="kernel_size"):
        FilterParameters(1, 4.0)
