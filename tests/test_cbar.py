"""The -C-bar corruptions (augmix_bench.corrupt.cbar) against an independent transcription of the
reference (tests/original_cbar.py): parameter tables, pixel-exact rendering of given draws, the
order and distributions of the draws, seeding and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import original_cbar as original
from augmix_bench.corrupt.cbar import (
    CBAR_CORRUPTIONS,
    CBAR_DETERMINISTIC,
    CBAR_FUNCTIONS,
    CBAR_PARAMETERS,
    cbar_parameter,
    corrupt_cbar,
)

TWO_PI = 2 * np.pi

# Re-typed from facebookresearch/augmentation-corruption @ ba4d5a5e9132fe98fcd4be1ac90abedbbb188794,
# imagenet_c_bar/cifar10_c_bar.csv and imagenet_c_bar/imagenet_c_bar.csv (read by the make scripts).
CIFAR10_C_BAR_CSV = """\
blue_noise_sample,0.7,1.4,2.1,3.5,4.2
checkerboard_cutout,1.0,2.0,3.0,4.0,5.0
inverse_sparkles,1.0,1.5,2.5,4.5,5.0
pinch_and_twirl,5.5,6.0,6.5,8.5,10.0
ripple,5.5,6.0,6.5,7.5,8.0
brownish_noise,2.5,4.0,5.5,6.5,7.0
circular_motion_blur,2.8,3.6,4.4,5.2,6.0
lines,0.5,1.0,1.5,2.0,2.5
sparkles,0.7,3.5,5.6,6.3,7.0
transverse_chromatic_abberation,1.0,2.0,5.0,9.0,10.0
"""
IMAGENET_C_BAR_CSV = """\
caustic_refraction,2.35,3.2,4.9,6.6,9.15
inverse_sparkles,1.0,2.0,4.0,9.0,10.0
sparkles,1.0,2.0,3.0,5.0,6.0
perlin_noise,4.6,5.2,5.8,7.6,8.8
blue_noise_sample,0.8,1.6,2.4,4.0,5.6
plasma_noise,4.75,7.0,8.5,9.25,10.0
checkerboard_cutout,2.0,3.0,4.0,5.0,6.0
cocentric_sine_waves,3.0,5.0,8.0,9.0,10.0
single_frequency_greyscale,1.0,1.5,2.0,4.5,5.0
brownish_noise,1.0,2.0,3.0,4.0,5.0
"""

ALL = tuple(CBAR_FUNCTIONS)
RANDOM = tuple(n for n in ALL if n not in CBAR_DETERMINISTIC)


def read_csv(text: str) -> dict[str, tuple[float, ...]]:
    rows = [line.split(",") for line in text.strip().splitlines()]
    return {row[0]: tuple(float(v) for v in row[1:]) for row in rows}


def sample_image(side: int, seed: int) -> np.ndarray:
    """Noise with flat patches (grey, white, a pure colour) and a ramp: flat areas are where
    float32-versus-float64 arithmetic shows after truncation to uint8."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    half, quarter = side // 2, side // 4
    image[:half, :half] = 200
    image[:quarter, half:] = 255
    image[half:, half:] = (10, 128, 250)
    image[half:, :half, 0] = np.linspace(0, 255, side - half).astype(np.uint8)[:, None]
    return image


def parameters_of(name: str) -> list[tuple[str, float]]:
    return [(table, p) for table in CBAR_PARAMETERS if name in CBAR_PARAMETERS[table] for p in CBAR_PARAMETERS[table][name]]


def first_table(name: str) -> str:
    return next(t for t in CBAR_PARAMETERS if name in CBAR_PARAMETERS[t])


# ------------------------------------------------------------------------------------------- tables


def test_parameter_tables_equal_the_reference_csv_files() -> None:
    for table, text in (("cifar", CIFAR10_C_BAR_CSV), ("imagenet", IMAGENET_C_BAR_CSV)):
        expected = read_csv(text)
        assert CBAR_PARAMETERS[table] == expected
        assert list(CBAR_PARAMETERS[table]) == list(expected)  # the reference's order
        assert CBAR_CORRUPTIONS[table] == tuple(expected)
    assert set(CBAR_CORRUPTIONS["cifar"]) == {
        "blue_noise_sample", "brownish_noise", "checkerboard_cutout", "circular_motion_blur", "inverse_sparkles",
        "lines", "pinch_and_twirl", "ripple", "sparkles", "transverse_chromatic_abberation",
    }
    assert set(CBAR_CORRUPTIONS["cifar"]) & set(CBAR_CORRUPTIONS["imagenet"]) == {
        "blue_noise_sample", "brownish_noise", "checkerboard_cutout", "inverse_sparkles", "sparkles",
    }
    assert set(ALL) == set(CBAR_CORRUPTIONS["cifar"]) | set(CBAR_CORRUPTIONS["imagenet"])
    assert cbar_parameter("caustic_refraction", 5, "imagenet") == 9.15
    assert cbar_parameter("sparkles", 2) == 3.5


# ----------------------------------------------------------------------------------- exact rendering


@pytest.mark.parametrize("name", ALL)
def test_rendering_equals_the_transcription_pixel_for_pixel(name: str) -> None:
    """Given the same draws (the reference's, from a seeded RandomState), every severity of every
    set the corruption belongs to, at 32 and 64 px (and 33 px, odd, for the Fourier noises)."""
    sample, transcription = original.TRANSFORMS[name]
    render = CBAR_FUNCTIONS[name].render
    sides = (32, 64, 33) if name in ("blue_noise_sample", "brownish_noise") else (32, 64)
    for side in sides:
        image = sample_image(side, side)
        for k, (table, parameter) in enumerate(parameters_of(name)):
            draws = sample(np.random.RandomState(1000 * side + k), side, parameter)
            ours, theirs = render(image, parameter, **draws), transcription(image, parameter, **draws)
            assert ours.dtype == np.uint8 and ours.shape == image.shape
            differ = np.argwhere(ours != theirs)
            assert len(differ) == 0, f"{table} {parameter} at {side} px: {len(differ)} values differ, first {differ[0]}"


def test_pinch_and_twirl_uses_a_5x5_grid_at_224_px() -> None:
    image = sample_image(224, 5)
    sample, transcription = original.TRANSFORMS["pinch_and_twirl"]
    draws = sample(np.random.RandomState(3), 224, 10.0)
    assert len(draws["signs"]) == 25
    ours = CBAR_FUNCTIONS["pinch_and_twirl"].render(image, 10.0, **draws)
    assert np.array_equal(ours, transcription(image, 10.0, **draws))
    assert np.array_equal(ours[220:], image[220:]) and not np.array_equal(ours[:220, :220], image[:220, :220])


def test_sparkles_round_the_image_to_float32_between_sparkles() -> None:
    """The reference re-reads each pixel as float32 before the next sparkle; without that rounding
    one value of this draw (row 10, column 18) comes out one grey level off."""
    image = sample_image(32, 0)
    draws = CBAR_FUNCTIONS["sparkles"].draw(np.random.default_rng(20), 32, 7.0)
    ours = CBAR_FUNCTIONS["sparkles"].render(image, 7.0, **draws)
    assert np.array_equal(ours, original.sparkles(image, 7.0, **draws))
    radius = original.float_parameter(7.0, 0.1) * 32
    unrounded = image.astype(np.float64)
    for centre, noise in zip(draws["centres"], draws["ray_noise"]):
        lengths = [max(1, radius + 25 / 100.0 * radius * n) for n in noise]
        weight = np.array([[original._sparkle_factor(np.array([y, x]), centre, radius, lengths, 50)
                            for x in range(32)] for y in range(32)])
        unrounded = unrounded + weight[:, :, None] * (255 - unrounded)
    assert (np.clip(unrounded, 0, 255).astype(np.uint8) != ours).sum() == 1


# --------------------------------------------------------------------------------- the draws' order

# The draws each corruption takes from its generator, in order, written from the reference's
# sample_parameters / RandomState use (the library's draw_* docstrings promise this order).
EXPECTED_DRAWS = {
    "blue_noise_sample": lambda g, s, p: {"phases": g.uniform(0, TWO_PI, (s, s // 2)), "centre_phases": None},
    "brownish_noise": lambda g, s, p: {"phases": g.uniform(0, TWO_PI, (3, s, s // 2)), "centre_phases": None},
    "perlin_noise": lambda g, s, p: {"gradients": g.integers(0, 512, (514, 2)), "swaps": g.integers(0, 256, 256)},
    "plasma_noise": lambda g, s, p: {
        "time": g.uniform(0, 6 * np.pi), "iterations": int(g.integers(4, 7)),
        "sharpness": g.uniform(0.5, 1.0), "scale": g.uniform(0.075, 0.2) * s,
    },
    "cocentric_sine_waves": lambda g, s, p: {
        "offset": g.uniform(0, s, 2), "freq": g.uniform(0, 10), "amplitude": g.uniform(0, s / 10),
        "ring_width": g.uniform(0, s / 10),
    },
    "single_frequency_greyscale": lambda g, s, p: (
        lambda m: (lambda f2: {"freq": np.array([m, f2])[g.permutation(2)], "phase": g.uniform(0, TWO_PI)})(
            g.uniform(-abs(m), abs(m))
        )
    )(g.uniform(-np.pi, np.pi)),
    "checkerboard_cutout": lambda g, s, p: (
        lambda angle, size: {"angle": angle, "scale": size, "grid": g.random((int(4 * s // size),) * 2)}
    )(g.uniform(0, TWO_PI), max(g.uniform(0.1, 0.25) * s, 1)),
    "lines": lambda g, s, p: {
        "angle": g.uniform(0, TWO_PI), "angle_variation": g.uniform(0.1, 1.0),
        "positions": g.random((int(p / 10 * s), 3)),
    },
    "sparkles": lambda g, s, p: (
        lambda centres, rays: {"centres": centres, "ray_noise": [g.standard_normal(int(n)) for n in rays]}
    )(g.uniform(0, s, (5, 2)), g.integers(50, 200, 5)),
    "inverse_sparkles": lambda g, s, p: (
        lambda centre, rays: {"centre": centre, "ray_noise": g.standard_normal(rays)}
    )(g.uniform(0.25, 0.75, 2) * s, int(g.integers(50, 200))),
    "pinch_and_twirl": lambda g, s, p: {"signs": g.choice([1, -1], size=9)},
    "ripple": lambda g, s, p: {"wavelengths": g.uniform(0.1, 0.3, 2) * s, "phases": g.uniform(0, TWO_PI, 2)},
    "caustic_refraction": lambda g, s, p: {"time": g.uniform(0.5, 2.0), "size": g.uniform(0.75, 1.25) * s},
    "circular_motion_blur": lambda g, s, p: {},
    "transverse_chromatic_abberation": lambda g, s, p: {"order": g.permutation(3)},
}


@pytest.mark.parametrize("name", ALL)
def test_same_draws_give_the_transcriptions_output(name: str) -> None:
    """The corruption called with a generator equals the transcription fed the draws taken, in the
    documented order, from a twin of that generator."""
    image = sample_image(32, 11)
    _, transcription = original.TRANSFORMS[name]
    table = first_table(name)
    for severity in (2, 5):
        parameter = CBAR_PARAMETERS[table][name][severity - 1]
        twin = np.random.default_rng(severity)
        draws = EXPECTED_DRAWS[name](twin, 32, parameter)
        rng = np.random.default_rng(severity)
        ours = corrupt_cbar(image, name, severity, rng, table)
        assert np.array_equal(ours, transcription(image, parameter, **draws))
        assert rng.random() == twin.random()  # no draw more, no draw less


# --------------------------------------------------------------------------- the draws' distributions

DRAWS = 200


def interquartile_range(values: np.ndarray) -> float:
    low, high = np.percentile(values, [25, 75])
    return float(high - low)


@pytest.mark.parametrize("name", RANDOM)
def test_draws_are_distributed_as_the_references(name: str) -> None:
    """Over 200 draws on one 32 px image at severity 3, the mean |corrupted - clean| per image has
    the same mean (within 4 standard errors of the difference, + 0.05 grey levels) and spread
    (interquartile ranges within a factor 1.5; the standard deviation is too heavy-tailed for 200
    draws, e.g. single frequency greyscale near frequency 0) with our generator draws as with the
    reference's RandomState draws (``original_cbar.sample_*``), both rendered by the same, exact,
    renderer."""
    image = sample_image(32, 21)
    clean = image.astype(np.float64)
    corruption = CBAR_FUNCTIONS[name]
    sample, _ = original.TRANSFORMS[name]
    parameter = CBAR_PARAMETERS[first_table(name)][name][2]
    ours = np.array([np.abs(corruption(image, parameter, np.random.default_rng(i)) - clean).mean() for i in range(DRAWS)])
    with np.errstate(invalid="ignore"):
        theirs = np.array([
            np.abs(corruption.render(image, parameter, **sample(np.random.RandomState(i), 32, parameter)) - clean).mean()
            for i in range(DRAWS)
        ])
    standard_error = np.sqrt((ours.var(ddof=1) + theirs.var(ddof=1)) / DRAWS)
    assert abs(ours.mean() - theirs.mean()) <= 4 * standard_error + 0.05, (ours.mean(), theirs.mean(), standard_error)
    ratio = (interquartile_range(ours) + 1e-9) / (interquartile_range(theirs) + 1e-9)
    assert 1 / 1.5 <= ratio <= 1.5, (interquartile_range(ours), interquartile_range(theirs))
    assert ours.mean() > 1.0  # the corruption does something at severity 3


def test_perlin_noise_paints_the_cells_of_a_zero_gradient_black_as_the_reference() -> None:
    """The reference normalises a drawn (0, 0) gradient to NaN; NumPy casts NaN to 0 (x86, ARM)."""
    image = sample_image(32, 61)
    sample, transcription = original.TRANSFORMS["perlin_noise"]
    draws = sample(np.random.RandomState(4), 32, 5.8)
    draws["gradients"][::7] = 256  # every 7th gradient is now (0, 0)
    with np.errstate(invalid="ignore"):
        theirs = transcription(image, 5.8, **draws)
    ours = CBAR_FUNCTIONS["perlin_noise"].render(image, 5.8, **draws)
    black = (ours == 0).all(axis=2) & (image != 0).any(axis=2)
    assert black.sum() > 20
    assert np.array_equal(ours, theirs)


# ------------------------------------------------------------------------------------------ seeding


@pytest.mark.parametrize("name", ALL)
def test_a_seed_gives_one_output_and_other_seeds_others(name: str) -> None:
    image = sample_image(32, 31)
    table = first_table(name)
    first = corrupt_cbar(image, name, 4, np.random.default_rng(7), table)
    assert np.array_equal(first, corrupt_cbar(image, name, 4, np.random.default_rng(7), table))
    others = [corrupt_cbar(image, name, 4, np.random.default_rng(s), table) for s in (8, 9)]
    if name in CBAR_DETERMINISTIC:
        assert all(np.array_equal(first, o) for o in others)
    else:
        assert not all(np.array_equal(first, o) for o in others)
    assert not np.array_equal(first, image)
    assert np.array_equal(image, sample_image(32, 31))  # the input is left alone


def test_corrupt_cbar_looks_up_the_severity_in_the_named_table() -> None:
    image = sample_image(32, 41)
    for table in ("cifar", "imagenet"):
        for severity in (1, 5):
            parameter = CBAR_PARAMETERS[table]["sparkles"][severity - 1]
            expected = CBAR_FUNCTIONS["sparkles"](image, parameter, np.random.default_rng(0))
            assert np.array_equal(corrupt_cbar(image, "sparkles", severity, np.random.default_rng(0), table), expected)


# ----------------------------------------------------------------------------------- bad arguments


def test_bad_arguments_are_refused_in_plain_words() -> None:
    image = sample_image(32, 51)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown -C-bar table 'svhn'"):
        corrupt_cbar(image, "ripple", 1, rng, "svhn")
    with pytest.raises(ValueError, match="'lines' is not a corruption of the imagenet -C-bar set .it belongs to the cifar set"):
        corrupt_cbar(image, "lines", 1, rng, "imagenet")
    with pytest.raises(ValueError, match="'fog' is not a corruption of the cifar -C-bar set; choose from: blue_noise_sample"):
        corrupt_cbar(image, "fog", 1, rng)
    for severity in (0, 6, 2.0, True):
        with pytest.raises(ValueError, match="severity must be an integer from 1 to 5"):
            corrupt_cbar(image, "ripple", severity, rng)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a uint8 NumPy image, got float64"):
        corrupt_cbar(image.astype(np.float64), "ripple", 1, rng)
    with pytest.raises(ValueError, match=r"square RGB image of shape \(S, S, 3\), got shape \(32, 16, 3\)"):
        corrupt_cbar(image[:, :16], "ripple", 1, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, got RandomState"):
        corrupt_cbar(image, "ripple", 1, np.random.RandomState(0))  # type: ignore[arg-type]
