"""-C-bar corruptions that add or mask with a noise field: blue noise sample, brownish noise,
Perlin noise, plasma noise, concentric sine waves and single frequency greyscale.

Each corruption is a ``draw_*`` function (the random numbers, from a ``np.random.Generator``, in
the order its docstring gives) and a ``render_*`` function (the reference's deterministic maths
on those numbers). Where the reference seeded a ``RandomState`` to draw, the draws come straight
from the generator instead: the same distributions, not the same streams.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import fftpack

from .cbar_common import TWO_PI, libm_pow, pixel_grid, scaled, to_uint8


@lru_cache(maxsize=16)
def _centre_distance(side: int) -> np.ndarray:
    """|(x, y) - side / 2| per pixel (exact: the offsets are integers or halves)."""
    rows, cols = pixel_grid(side)
    centre = side / 2
    dx, dy = cols - centre, rows - centre
    distance = np.sqrt(dx * dx + dy * dy)
    distance.flags.writeable = False
    return distance


@lru_cache(maxsize=16)
def _brownish_power(side: int) -> np.ndarray:
    """1 / (|(x, y) - side / 2| ** 2 + 1), squaring with the C ``pow`` as the reference's scalars did."""
    power = 1 / (libm_pow(_centre_distance(side), 2) + 1)
    power.flags.writeable = False
    return power


def _phase_draws(rng: np.random.Generator, side: int, count: int | None) -> dict[str, Any]:
    """Phases U[0, 2 pi) of shape (side, side // 2), then (odd sides only) the centre column's
    (side // 2, 1); with ``count``, ``count`` of each, all first phases before any centre column."""
    lead = () if count is None else (count,)
    phases = rng.uniform(0, TWO_PI, size=lead + (side, side // 2))
    centre = rng.uniform(0, TWO_PI, size=lead + (side // 2, 1)) if side % 2 else None
    return {"phases": phases, "centre_phases": centre}


def _fourier_noise(power: np.ndarray, phases: np.ndarray, centre_phases: np.ndarray | None) -> np.ndarray:
    """The reference's ``gen_noise``: a spectrum of amplitude ``power`` and the drawn phases
    (mirrored), centred, inverse FFT (scipy.fftpack), real part, divided by its standard deviation."""
    side = power.shape[0]
    if side % 2 == 0:
        full = np.concatenate((phases, phases[::-1, ::-1]), axis=1)
    else:
        assert centre_phases is not None
        column = np.concatenate((centre_phases, np.array([[0.0]]), centre_phases[::-1, :]), axis=0)
        full = np.concatenate((phases, column, phases[::-1, ::-1]), axis=1)
    spectrum = power * (np.cos(full) + np.sin(full) * 1j)
    spectrum = np.roll(spectrum, side // 2, axis=0)
    spectrum = np.roll(spectrum, side // 2, axis=1)
    noise = np.real(fftpack.ifft2(spectrum))
    return noise / np.std(noise)


def draw_blue_noise_sample(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Phases U[0, 2 pi) (side, side // 2), then for odd sides the centre column (side // 2, 1)."""
    return _phase_draws(rng, side, None)


def render_blue_noise_sample(
    image: np.ndarray, parameter: float, phases: np.ndarray, centre_phases: np.ndarray | None
) -> np.ndarray:
    """Keep the pixels where blue noise (amplitude = distance from the spectrum centre) exceeds
    ``parameter * 0.3 - 2.5``; the others become black."""
    threshold = scaled(parameter, 3.0) - 2.5
    mask = _fourier_noise(_centre_distance(image.shape[0]), phases, centre_phases) > threshold
    return to_uint8(image * mask[:, :, None])


def draw_brownish_noise(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Phases U[0, 2 pi) (3, side, side // 2), then for odd sides the centre columns (3, side // 2, 1)."""
    return _phase_draws(rng, side, 3)


def render_brownish_noise(
    image: np.ndarray, parameter: float, phases: np.ndarray, centre_phases: np.ndarray | None
) -> np.ndarray:
    """Add ``parameter * 6.4`` times unit-variance noise of amplitude 1 / (distance ** 2 + 1), one field per channel."""
    power = _brownish_power(image.shape[0])
    fields = [_fourier_noise(power, phases[c], None if centre_phases is None else centre_phases[c]) for c in range(3)]
    return to_uint8(image + scaled(parameter, 64) * np.stack(fields, axis=2))


def draw_perlin_noise(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Gradient components, integers in [0, 512) (514, 2); then the 256 swap partners in [0, 256)
    of the permutation loop (the reference's ``randint(2**31) % 512`` and ``% 256``)."""
    return {"gradients": rng.integers(0, 512, size=(514, 2)), "swaps": rng.integers(0, 256, size=256)}


def _perlin_tables(gradients: np.ndarray, swaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The permutation and unit gradient tables of the reference's ``PerlinNoiseGenerator``."""
    table = (np.asarray(gradients) - 256) / 256
    with np.errstate(invalid="ignore", divide="ignore"):
        table = table / np.sqrt(table[:, 0] * table[:, 0] + table[:, 1] * table[:, 1])[:, None]
    perm = np.arange(514)
    for step, i in enumerate(range(255, -1, -1)):
        j = int(swaps[step])
        perm[i], perm[j] = perm[j], perm[i]
    for i in range(258):
        perm[256 + i] = perm[i]
        table[256 + i] = table[i]
    return perm, table


def _perlin(perm: np.ndarray, table: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The reference's 2-D gradient noise at coordinates (a, b), element by element."""
    ta = a + 4096
    a0 = ta.astype(np.int64) % 256
    a1 = (a0 + 1) % 256
    ra0 = ta % 1
    ra1 = ra0 - 1.0
    tb = b + 4096
    b0 = tb.astype(np.int64) % 256
    b1 = (b0 + 1) % 256
    rb0 = tb % 1
    rb1 = rb0 - 1.0
    i, j = perm[a0], perm[a1]
    g00, g10, g01, g11 = table[perm[i + b0]], table[perm[j + b0]], table[perm[i + b1]], table[perm[j + b1]]
    sa = ra0 * ra0 * (3.0 - 2.0 * ra0)
    sb = rb0 * rb0 * (3.0 - 2.0 * rb0)
    u = ra0 * g00[..., 0] + rb0 * g00[..., 1]
    v = ra1 * g10[..., 0] + rb0 * g10[..., 1]
    low = u + sa * (v - u)
    u = ra0 * g01[..., 0] + rb1 * g01[..., 1]
    v = ra1 * g11[..., 0] + rb1 * g11[..., 1]
    high = u + sa * (v - u)
    return 1.5 * (low + sb * (high - low))


def render_perlin_noise(image: np.ndarray, parameter: float, gradients: np.ndarray, swaps: np.ndarray) -> np.ndarray:
    """Blend in (weight ``parameter / 20``) Perlin turbulence (5 octaves, one cycle per 32 px at
    224 px, scaled with the side), ``0.5 * turbulence + 0.5`` clipped to [0, 1], grey; pixels
    next to a zero gradient come out black."""
    side = image.shape[0]
    perm, table = _perlin_tables(gradients, swaps)
    m = np.array([[1, 0], [0, 1]]) / (32 * side / 224)
    rows, cols = pixel_grid(side)
    a = rows * m[0, 0] + cols * m[1, 0]
    b = rows * m[0, 1] + cols * m[1, 1]
    turbulence = np.zeros((side, side))
    frequency = 1.0
    while frequency <= 16.0:
        turbulence = turbulence + np.abs(_perlin(perm, table, frequency * a, frequency * b)) / frequency
        frequency = frequency * 2
    field = np.clip(0.5 * turbulence + 0.5, 0, 1.0)
    alpha = scaled(parameter, 0.50)
    out = (1 - alpha) * image.astype(np.float32) + 255 * alpha * field[:, :, None]
    # A drawn gradient of (0, 0) (odds 1 in 512 ** 2 per entry) is normalised to NaN, as in the
    # reference, whose uint8 cast turned NaN into 0 (x86 and ARM): black, here on every platform.
    return to_uint8(np.where(np.isnan(out), 0.0, out))


def draw_plasma_noise(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """time U[0, 6 pi), iterations in {4, 5, 6}, sharpness U[0.5, 1), scale U[0.075, 0.2) * side."""
    time = rng.uniform(0.0, 6 * np.pi)
    iterations = int(rng.integers(4, 7))
    sharpness = rng.uniform(0.5, 1.0)
    scale = rng.uniform(0.075, 0.2) * side
    return {"time": time, "iterations": iterations, "sharpness": sharpness, "scale": scale}


def render_plasma_noise(
    image: np.ndarray, parameter: float, time: float, iterations: int, sharpness: float, scale: float
) -> np.ndarray:
    """Mix in (weight ``parameter * 6.4 / 255``) a coloured plasma pattern from an iterated
    sine/cosine domain warp, as the reference's kernel."""
    rows, cols = pixel_grid(image.shape[0])
    x = cols / scale
    y = rows / scale
    i0, i1, i2, i3 = 1.0, 1.0, 1.0, 0.0
    for _ in range(iterations):
        r0 = np.cos(y * i0 - i3 + time / i1) / i2
        r1 = np.sin(x * i0 - i3 + time / i1) / i2
        r0, r1 = r0 + (-r1) * 0.3, r1 + r0 * 0.3
        x = x + r0
        y = y + r1
        i0, i1, i2, i3 = i0 * 1.93, i1 * 1.15, i2 * (2.25 - sharpness), i3 * (time * i1)
    red = np.sin(x - time)
    blue = np.sin(y + time)
    green = np.sin((x + y + np.sin(time)) * 0.5)
    intensity = scaled(parameter, 64)
    return to_uint8((1 - intensity / 255) * image + intensity * np.stack((red, green, blue), axis=2))


def draw_cocentric_sine_waves(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Centre U[0, side)^2 (x, y), frequency U[0, 10), amplitude U[0, side / 10), ring width U[0, side / 10)."""
    offset = rng.uniform(0, side, size=2)
    freq = rng.uniform(0, 10)
    amplitude = rng.uniform(0, side / 10)
    ring_width = rng.uniform(0, side / 10)
    return {"offset": offset, "freq": freq, "amplitude": amplitude, "ring_width": ring_width}


def render_cocentric_sine_waves(
    image: np.ndarray, parameter: float, offset: np.ndarray, freq: float, amplitude: float, ring_width: float
) -> np.ndarray:
    """Add ``parameter * 12.8`` times a sawtooth of the distance from ``offset`` (in [-1/2, 1/2)),
    wobbled by a sine of the angle, to every channel."""
    rows, cols = pixel_grid(image.shape[0])
    dx = cols - offset[0]
    dy = rows - offset[1]
    angle = np.arctan2(dx, dy) * freq
    distance = ((np.sqrt(dx * dx + dy * dy) + np.sin(angle) * amplitude) % ring_width) / ring_width - 1 / 2
    intensity = scaled(parameter, 128)
    return to_uint8(image + np.stack((intensity * distance,) * 3, axis=2))


def draw_single_frequency_greyscale(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """f1 U[-pi, pi), f2 U[-|f1|, |f1|), a random order of the two (permutation of 2), phase U[0, 2 pi)."""
    magnitude = rng.uniform(-np.pi, np.pi)
    second = rng.uniform(-abs(magnitude), abs(magnitude))
    freq = np.array([magnitude, second])[rng.permutation(2)]
    phase = rng.uniform(0, TWO_PI)
    return {"freq": freq, "phase": phase}


def render_single_frequency_greyscale(image: np.ndarray, parameter: float, freq: np.ndarray, phase: float) -> np.ndarray:
    """Add ``parameter * 19.6`` times sin(x f_x + y f_y + phase) to every channel."""
    rows, cols = pixel_grid(image.shape[0])
    wave = np.sin(cols * freq[0] + rows * freq[1] + phase)
    return to_uint8(image + scaled(parameter, 196) * np.stack((wave,) * 3, axis=2))
