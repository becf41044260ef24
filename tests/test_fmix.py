"""FMix against an independent transcription of the authors' fmix.py (tests/reference_fmix.py).

Tolerances: grey images agree to 1e-9 of their range (the transcription's explicit DFT against NumPy's
FFT); masks and mixed batches are compared exactly. Statistics over 1000 draws agree with the
transcription (driven by the reference's own generators) within 5 standard errors of the difference.
"""

from __future__ import annotations

import inspect
import math
import random

import numpy as np
import pytest
import torch

from augmix_bench.augment.fmix import (
    DEFAULT_ALPHA,
    DEFAULT_DECAY_POWER,
    binarise,
    draw_fmix,
    fmix,
    frequency_magnitudes,
    grey_image,
    half_spectrum_width,
    normalized_grey_image,
    spectrum_scale,
)
from reference_fmix import (
    reference_binarise,
    reference_columns,
    reference_frequencies,
    reference_grey,
    reference_mix_batch,
    reference_normalize,
    reference_sample_mask,
)

SHAPES = [(32, 32), (31, 33), (8, 40), (40, 8), (5, 3), (224, 224)]


def test_defaults_are_the_references() -> None:
    # FMixBase(decay_power=3, alpha=1, size=(32, 32), max_soft=0.0, reformulate=False); trainer.py
    # --alpha 1.0 --f-decay 3.0.
    assert (DEFAULT_ALPHA, DEFAULT_DECAY_POWER) == (1.0, 3.0)
    keywords = inspect.signature(draw_fmix).parameters
    assert keywords["max_soft"].default == 0.0
    assert keywords["reformulate"].default is False
    assert keywords["reference_spectrum"].default is True


@pytest.mark.parametrize("height,width", SHAPES)
def test_frequency_grid_is_fftfreqnd(height: int, width: int) -> None:
    # Odd widths keep one more column (fftfreq(w)[: w // 2 + 2]): 33 -> 18 columns, 3 -> 3.
    assert half_spectrum_width(width) == reference_columns(width)
    np.testing.assert_allclose(frequency_magnitudes(height, width), reference_frequencies(height, width), atol=1e-15)
    assert frequency_magnitudes(31, 33).shape == (31, 18)
    assert frequency_magnitudes(5, 3).shape == (5, 3)


def test_spectrum_scale_by_hand() -> None:
    scale = spectrum_scale(32, 32, 3.0)
    assert scale[0, 0] == pytest.approx(32.0**3)  # f = 0 is floored at 1 / 32
    assert scale[0, 1] == pytest.approx(32.0**3)  # f = 1 / 32
    assert scale[0, 4] == pytest.approx(512.0)  # f = 1 / 8
    assert scale[2, 3] == pytest.approx((32 / math.sqrt(13)) ** 3)
    assert scale[31, 16] == pytest.approx((32 / math.sqrt(1 + 16**2)) ** 3)  # fy = -1/32, fx = 1/2


@pytest.mark.parametrize("reference_spectrum", [True, False])
@pytest.mark.parametrize("height,width", SHAPES)
def test_grey_image_and_mask_equal_the_transcription(height: int, width: int, reference_spectrum: bool) -> None:
    rng = np.random.default_rng(height * 1000 + width)
    for _ in range(4 if height < 100 else 1):
        noise = rng.standard_normal((height, reference_columns(width), 2))
        ours = grey_image(noise, height, width, 3.0, reference_spectrum)
        theirs = reference_grey(noise, height, width, 3.0, reference_spectrum)
        assert np.abs(ours - theirs).max() < 1e-9 * np.ptp(theirs)
        grey = normalized_grey_image(ours)
        assert grey.min() == 0.0 and grey.max() == 1.0
        lam = float(rng.uniform())
        for round_up in (True, False):
            for max_soft in (0.0, 0.1, 0.45):
                mask = binarise(grey, lam, round_up, max_soft)
                expected = reference_binarise(reference_normalize(theirs), lam, round_up, max_soft)
                if max_soft == 0.0:
                    np.testing.assert_array_equal(mask, expected)
                else:  # the ramp: NumPy's linspace against 1 - j / (n - 1)
                    np.testing.assert_allclose(mask, expected, rtol=0, atol=1e-12)


def test_draws_equal_the_reference_generators_replayed() -> None:
    # The reference draws lam (scipy's beta.rvs on NumPy's global RandomState), then the noise
    # (np.random.randn), then the rounding coin (Python's random). Feeding those values to the
    # package's pieces gives the transcription's mask, for every shape.
    for height, width in SHAPES[:5]:
        for seed in range(5):
            lam, mask, round_up = reference_sample_mask(
                np.random.RandomState(seed), random.Random(seed), 1.0, 3.0, height, width
            )
            replay = np.random.RandomState(seed)
            assert float(replay.beta(1.0, 1.0)) == lam
            noise = replay.randn(1, height, half_spectrum_width(width), 2)[0]
            grey = normalized_grey_image(grey_image(noise, height, width, 3.0))
            np.testing.assert_array_equal(binarise(grey, lam, round_up), mask)


def test_draw_fmix_order_and_mixing() -> None:
    # draw_fmix takes every draw from one Generator in the reference's order: lam, noise, the
    # rounding coin, the permutation.
    rng = np.random.default_rng(7)
    draw = draw_fmix(6, 32, 32, 1.0, 3.0, np.random.default_rng(7))
    lam = float(rng.beta(1.0, 1.0))
    noise = rng.standard_normal((32, 17, 2))
    round_up = bool(rng.random() > 0.5)
    permutation = rng.permutation(6)
    mask = reference_binarise(reference_normalize(reference_grey(noise, 32, 32, 3.0)), lam, round_up)
    assert draw.lam == lam and draw.mask_lam == lam
    assert draw.mask.dtype == torch.float32
    np.testing.assert_array_equal(draw.mask.numpy(), mask.astype(np.float32))
    np.testing.assert_array_equal(draw.permutation.numpy(), permutation)
    images = torch.from_numpy(np.random.default_rng(1).normal(size=(6, 3, 32, 32)).astype(np.float32))
    expected = reference_mix_batch(images.numpy(), mask.astype(np.float32), permutation)
    assert torch.equal(fmix(images, draw), torch.from_numpy(expected))


def test_mask_has_exactly_ceil_or_floor_of_lam_n_ones() -> None:
    rng = np.random.default_rng(3)
    rounded_up = 0
    for _ in range(300):
        draw = draw_fmix(2, 32, 32, 1.0, 3.0, rng)
        ones = int(draw.mask.sum())
        assert set(np.unique(draw.mask.numpy())) <= {0.0, 1.0}
        assert ones in (math.floor(draw.lam * 1024), math.ceil(draw.lam * 1024))
        rounded_up += ones == math.ceil(draw.lam * 1024)
    assert 110 <= rounded_up <= 190  # coin of 1/2 over 300 draws, +-4.6 sigma


def test_soft_mask_ramp() -> None:
    draw = draw_fmix(2, 32, 32, 1.0, 3.0, np.random.default_rng(11), max_soft=0.1)
    values = np.sort(draw.mask.numpy().reshape(-1))[::-1]
    soft = int(1024 * min(0.1, draw.mask_lam, 1 - draw.mask_lam))
    ramp = values[(values > 0) & (values < 1)]
    assert len(ramp) in (2 * soft - 2, 2 * soft - 1, 2 * soft)  # linspace(1, 0, 2 soft) minus its ends
    assert np.all(np.diff(ramp) < 0)


def test_reformulate_draws_beta_alpha_plus_one_and_uses_own_label_only() -> None:
    draw = draw_fmix(4, 16, 16, 1.0, 3.0, np.random.default_rng(5), reformulate=True)
    assert draw.mask_lam == float(np.random.default_rng(5).beta(2.0, 1.0))
    assert draw.lam == 1.0


def _one_hot_noise(height: int, width: int, index: tuple[int, int, int]) -> np.ndarray:
    noise = np.zeros((height, half_spectrum_width(width), 2))
    noise[index] = 1.0
    return noise


def test_low_pass_spectrum_by_hand() -> None:
    # One unit of noise puts exactly scale = 1 / max(f, 1/32)^3 at one bin of the grey image's
    # spectrum, so the amplitude falls as f^-3.
    cases_paper = {(2, 3, 0): ((2, 3), (32 / math.sqrt(13)) ** 3), (0, 4, 1): ((0, 4), 512j)}
    for index, ((ky, kx), value) in cases_paper.items():
        spectrum = np.fft.rfft2(grey_image(_one_hot_noise(32, 32, index), 32, 32, 3.0, reference_spectrum=False))
        assert spectrum[ky, kx] == pytest.approx(value, rel=1e-9)
        spectrum[ky, kx] = 0
        assert np.abs(spectrum).max() < 1e-9
    # The reference's indexing: noise[row r, column j, part c] lands at (ky=j, kx=c), real for r=0,
    # imaginary for r=1, weighted by the scale of the bin (fy = r/32, fx = j/32).
    cases_reference = {(0, 4, 1): ((4, 1), 512.0), (1, 4, 1): ((4, 1), 1j * (32 / math.sqrt(17)) ** 3),
                       (0, 0, 1): ((0, 1), 32.0**3)}
    for index, ((ky, kx), value) in cases_reference.items():
        spectrum = np.fft.rfft2(grey_image(_one_hot_noise(32, 32, index), 32, 32, 3.0))
        assert spectrum[ky, kx] == pytest.approx(value, rel=1e-9)
        spectrum[ky, kx] = 0
        assert np.abs(spectrum).max() < 1e-9 * abs(value)


def test_reference_masks_have_one_period_across_the_width() -> None:
    # Only column frequencies 0 and 1 survive the reference's indexing: every row of the grey image
    # is A + B cos(2 pi x / W + phi), so a mask row changes value at most twice (cyclically).
    rng = np.random.default_rng(2)
    for _ in range(50):
        noise = rng.standard_normal((32, 17, 2))
        spectrum = np.fft.rfft2(grey_image(noise, 32, 32, 3.0))
        assert np.abs(spectrum[:, 2:]).max() < 1e-9 * np.abs(spectrum).max()
        mask = binarise(normalized_grey_image(grey_image(noise, 32, 32, 3.0)), 0.5, True)
        assert (mask != np.roll(mask, 1, axis=1)).sum(axis=1).max() <= 2


def _mask_statistics(masks: list[np.ndarray], lams: list[float], ups: list[bool]) -> dict[str, np.ndarray]:
    stack = np.stack(masks)
    return {
        "lam": np.array(lams),
        "share": stack.mean(axis=(1, 2)),
        "rounded_up": np.array(ups, dtype=float),
        "row_changes": (stack != np.roll(stack, 1, axis=2)).sum(axis=(1, 2)).astype(float),
        "column_changes": (stack != np.roll(stack, 1, axis=1)).sum(axis=(1, 2)).astype(float),
    }


def test_statistics_match_the_transcription_over_1000_draws() -> None:
    draws = 1000
    rng = np.random.default_rng(2024)
    ours = [draw_fmix(8, 32, 32, 1.0, 3.0, rng) for _ in range(draws)]
    ups = [int(d.mask.sum()) == math.ceil(d.lam * 1024) and d.lam * 1024 != int(d.lam * 1024) for d in ours]
    mine = _mask_statistics([d.mask.numpy() for d in ours], [d.lam for d in ours], ups)
    np_random, py_random = np.random.RandomState(99), random.Random(99)
    samples = [reference_sample_mask(np_random, py_random, 1.0, 3.0, 32, 32) for _ in range(draws)]
    theirs = _mask_statistics([s[1] for s in samples], [s[0] for s in samples], [s[2] for s in samples])
    for name in mine:
        a, b = mine[name], theirs[name]
        error = math.sqrt(a.var() / draws + b.var() / draws)
        assert abs(a.mean() - b.mean()) < 5 * error, (name, a.mean(), b.mean(), error)
    assert abs(mine["lam"].mean() - 0.5) < 5 * math.sqrt(1 / 12 / draws)  # Beta(1, 1)
    assert np.abs(mine["share"] - mine["lam"]).max() < 1 / 1024


def test_low_frequency_energy_share() -> None:
    # Over 300 grey images, the share of (non-DC) energy within the lowest frequencies (|ky|, kx <= 2)
    # is high for decay 3, as for the transcription; white noise (decay 0) has a small share.
    def share(decay: float, reference_spectrum: bool, rng: np.random.Generator, ours: bool) -> float:
        total = low = 0.0
        for _ in range(300):
            noise = rng.standard_normal((32, 17, 2))
            grey = (grey_image if ours else reference_grey)(noise, 32, 32, decay, reference_spectrum)
            power = np.abs(np.fft.rfft2(grey)) ** 2
            power[0, 0] = 0
            ky = np.minimum(np.arange(32), 32 - np.arange(32))[:, None]
            kx = np.arange(17)[None, :]
            total += power.sum()
            low += power[(ky <= 2) & (kx <= 2)].sum()
        return low / total

    for reference_spectrum in (True, False):
        ours = share(3.0, reference_spectrum, np.random.default_rng(1), True)
        theirs = share(3.0, reference_spectrum, np.random.default_rng(1), False)
        assert ours == pytest.approx(theirs, rel=1e-9)
        assert ours > 0.9
    assert share(0.0, False, np.random.default_rng(1), True) < 0.05


def test_fmix_on_device_dtype_and_shape_errors() -> None:
    draw = draw_fmix(3, 8, 8, 1.0, 3.0, np.random.default_rng(0))
    images = torch.arange(3 * 2 * 8 * 8, dtype=torch.float64).reshape(3, 2, 8, 8)
    mixed = fmix(images, draw)
    assert mixed.dtype == torch.float64
    keep = draw.mask.bool()
    partners = images[draw.permutation]
    assert torch.equal(mixed[:, :, keep], images[:, :, keep])
    assert torch.equal(mixed[:, :, ~keep], partners[:, :, ~keep])
    with pytest.raises(ValueError, match=r"mask is \(8, 8\) but the images are \(9, 9\)"):
        fmix(torch.zeros(3, 2, 9, 9), draw)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"alpha": 0.0}, r"augmentation.alpha=0.0 is invalid; accepted: a number > 0"),
        ({"decay_power": -1.0}, r"augmentation.decay_power=-1.0 is invalid; accepted: a number >= 0"),
        ({"max_soft": 0.6}, r"augmentation.max_soft=0.6 is invalid; accepted: 0 to 0.5"),
        ({"height": 1}, r"at least 2x2, got 4 of 1x8"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    arguments = {"batch_size": 4, "height": 8, "width": 8, "alpha": 1.0, "decay_power": 3.0}
    options = {"max_soft": kwargs.pop("max_soft")} if "max_soft" in kwargs else {}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        draw_fmix(**arguments, rng=np.random.default_rng(0), **options)
