"""-C-bar corruptions that move pixels: pinch and twirl, ripple, caustic refraction, circular
motion blur and transverse chromatic aberration.

As in ``cbar_noise``: ``draw_*`` takes the random numbers from a ``np.random.Generator``,
``render_*`` is the reference's deterministic maths on them.

NumPy 1 arithmetic: the reference ran on NumPy 1.19/1.22, where a float32 array times a float64
*scalar* stays float32, but a float32 array plus a float64 *array* becomes float64. Its bilinear
sampler multiplies float32 pixels by float64 scalar weights and uses int64 zeros for corners
outside the image, so a sample is computed in float32 where its corners are inside and partly in
float64 near the border. ``bilinear_float32`` reproduces that per pixel; whole-image float32
arithmetic (circular motion blur) is written with explicit float32 scalars.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from .cbar_common import TWO_PI, libm_pow, pixel_grid, scaled, to_uint8

#: Weights of the luma (Rec. 709) in caustic refraction.
LUMA = np.array([0.2126, 0.7152, 0.0722])


def _corners(
    image: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The four corner values (zero outside), whether each is inside, and the weights
    (column u, column u + 1, row l, row l + 1) in the reference's operation order."""
    height, width = image.shape[:2]
    top = np.floor(rows).astype(np.int64)
    left = np.floor(cols).astype(np.int64)
    values, inside = [], []
    for r, c in ((top, left), (top, left + 1), (top + 1, left), (top + 1, left + 1)):
        ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        value = image[np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)]
        values.append(np.where(ok[..., None], value, np.zeros((), dtype=image.dtype)))
        inside.append(ok)
    weights = ((1.0 - cols) + left, (1.0 - (left + 1)) + cols, (1.0 - rows) + top, (1.0 - (top + 1)) + rows)
    return values, inside, weights


def bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The reference's ``bilinear_interpolation`` at every (row, col), in float64 (zero outside the image)."""
    (lu, ld, ru, rd), _, (wu, wd, wl, wr) = _corners(image, rows, cols)
    wu, wd, wl, wr = (w[..., None] for w in (wu, wd, wl, wr))
    f64 = [v.astype(np.float64) for v in (lu, ld, ru, rd)]
    upper = f64[0] * wu + f64[1] * wd
    lower = f64[2] * wu + f64[3] * wd
    return upper * wl + lower * wr


def bilinear_float32(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reference's ``bilinear_interpolation`` of a float32 image under NumPy 1 casting.

    Returns the samples (float64 array holding each value as computed) and a (rows.shape) mask of
    the samples the reference computed in float32 (all four corners inside the image).
    """
    values, inside, weights = _corners(image, rows, cols)
    wu, wd, wl, wr = (w[..., None] for w in weights)
    wu32, wd32, wl32, wr32 = (w.astype(np.float32) for w in (wu, wd, wl, wr))
    lu, ld, ru, rd = values
    ok = [m[..., None] for m in inside]

    def half(a: np.ndarray, b: np.ndarray, ok_a: np.ndarray, ok_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ta, tb = a * wu32, b * wd32  # float32 products (corner inside)
        as32 = ta + tb
        as64 = np.where(ok_a, ta.astype(np.float64), 0.0 * wu) + np.where(ok_b, tb.astype(np.float64), 0.0 * wd)
        return as32, as64, ok_a & ok_b

    upper32, upper64, upper_is32 = half(lu, ld, ok[0], ok[1])
    lower32, lower64, lower_is32 = half(ru, rd, ok[2], ok[3])
    left32, right32 = upper32 * wl32, lower32 * wr32
    left64 = np.where(upper_is32, left32.astype(np.float64), upper64 * wl)
    right64 = np.where(lower_is32, right32.astype(np.float64), lower64 * wr)
    is32 = upper_is32 & lower_is32
    out = np.where(is32, (left32 + right32).astype(np.float64), left64 + right64)
    return out, is32[..., 0]


def draw_pinch_and_twirl(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """One sign, +1 or -1 with even odds, per cell of the n x n grid (n = 5 at 224 px, else 3)."""
    count = 5 if side == 224 else 3
    return {"signs": rng.choice(np.array([1, -1]), size=count * count)}


def render_pinch_and_twirl(image: np.ndarray, parameter: float, signs: np.ndarray) -> np.ndarray:
    """In each cell of an n x n grid, in turn (column-block major), pinch (``parameter / 25 + 0.1``)
    and twirl (+-``parameter * pi / 20``) the disc inscribed in the cell, sampling the partly
    processed image bilinearly; pixels right of and below the last full cell are kept."""
    side = image.shape[0]
    count = 5 if side == 224 else 3
    angles = np.asarray(signs).reshape(count, count) * scaled(parameter, np.pi / 2)
    amount = scaled(parameter, 0.4) + 0.1
    out = image.astype(np.float32)
    cell = side // count
    radius = cell / 2
    for i in range(count):
        for j in range(count):
            left, right = i * cell, (i + 1) * cell
            top, bottom = j * cell, (j + 1) * cell
            centre_row, centre_col = top + radius, left + radius
            rows, cols = np.mgrid[top:bottom, left:right].astype(np.float64)
            dr, dc = rows - centre_row, cols - centre_col
            dist = np.sqrt(dr * dr + dc * dc)
            moved = ~((dist > radius) | (np.round(dist, 3) == 0.0))
            d = dist[moved] / radius
            t = libm_pow(np.sin(np.pi * 0.5 * d), -amount)
            mr, mc = dr[moved] * t, dc[moved] * t
            a = angles[i, j] * libm_pow(1 - d, 2)
            rows[moved] = centre_row + (mr * np.cos(a) - mc * np.sin(a))
            cols[moved] = centre_col + (mr * np.sin(a) + mc * np.cos(a))
            samples, _ = bilinear_float32(out, rows, cols)
            out[top:bottom, left:right, :] = samples.astype(np.float32)
    return to_uint8(out)


def draw_ripple(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Wavelengths U[0.1, 0.3) * side (row, column), then phases U[0, 2 pi) (row, column)."""
    wavelengths = rng.uniform(0.1, 0.3, size=2) * side
    phases = rng.uniform(0, TWO_PI, size=2)
    return {"wavelengths": wavelengths, "phases": phases}


def render_ripple(image: np.ndarray, parameter: float, wavelengths: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Sample at (row, col) + ``parameter * side / 400`` * sin(2 pi (row, col) / wavelength + phase)."""
    side = image.shape[0]
    amplitudes = np.array([scaled(parameter, 0.025) for _ in range(2)]) * side
    rows, cols = pixel_grid(side)
    new_rows = rows + amplitudes[0] * np.sin(2 * np.pi * rows / wavelengths[0] + phases[0])
    new_cols = cols + amplitudes[1] * np.sin(2 * np.pi * cols / wavelengths[1] + phases[1])
    return to_uint8(bilinear(image, new_rows, new_cols))


def draw_caustic_refraction(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """time U[0.5, 2), pattern size U[0.75, 1.25) * side."""
    time = rng.uniform(0.5, 2.0)
    size = rng.uniform(0.75, 1.25) * side
    return {"time": time, "size": size}


def _caustics(side: int, time: float, size: float) -> np.ndarray:
    """The reference's caustic noise (a value in [0, 1] per pixel), before smoothing."""
    rows, cols = pixel_grid(side)
    pr = (rows / size % 1) * 6.28318530718 - 250
    pc = (cols / size % 1) * 6.28318530718 - 250
    ir, ic = pr.copy(), pc.copy()
    c: Any = 1.0
    inten = 0.005
    for n in range(5):
        t = time * (1.0 - (3.5 / (n + 1)))
        ir, ic = pr + (np.cos(t - ir) + np.sin(t + ic)), pc + (np.sin(t - ic) + np.cos(t + ir))
        a = pr / (np.sin(ir + t) / inten)
        b = pc / (np.cos(ic + t) / inten)
        c = c + 1.0 / np.sqrt(a * a + b * b)
    c = c / 5.0
    c = 1.17 - c**1.4
    return np.clip(np.abs(c) ** 8.0, 0, 1)


def render_caustic_refraction(image: np.ndarray, parameter: float, time: float, size: float) -> np.ndarray:
    """Refract the image through a lens whose height is the (smoothed) caustic pattern (eta 4,
    displacement ``parameter * side / 20``, rounded to 0.001 px) and light it by the pattern's
    slopes (``parameter / 5``)."""
    side = image.shape[0]
    eta = 4.0
    lens_scale = scaled(parameter, 0.5 * side)
    lighting = scaled(parameter, 2.0)
    noise = ndimage.gaussian_filter(np.stack((_caustics(side, time, size),) * 3, axis=2), sigma=1)
    luma = np.pad(noise[..., 0] * LUMA[0] + noise[..., 1] * LUMA[1] + noise[..., 2] * LUMA[2], 1)
    north, south = luma[1:-1, :-2], luma[1:-1, 2:]  # the reference's north/south: (y, x -+ 1)
    west, east = luma[:-2, 1:-1], luma[2:, 1:-1]
    normal = np.stack((east - west, south - north, np.ones((side, side))), axis=-1)
    normal = normal / np.sqrt(np.sum(normal * normal, axis=-1, keepdims=True))
    refraction = np.zeros((side, side, 3))
    refraction[..., 2] = 1.0
    bent = np.abs(normal[..., 2]) < 1.0 - 1e-3
    if bent.any():
        n = normal[bent]
        out_angle = np.arcsin(np.sin(np.arccos(n[:, 2])) / eta)
        unrotated = np.stack((np.cos(out_angle), np.sin(out_angle), np.zeros(len(n))), axis=-1)
        spectator = np.stack((-n[:, 1], n[:, 0], np.zeros(len(n))), axis=-1)
        spectator = spectator / np.sqrt(np.sum(spectator * spectator, axis=-1, keepdims=True))
        orthogonal = np.cross(n, spectator)
        rotation = np.stack((n, orthogonal, spectator), axis=1)
        refraction[bent] = np.einsum("nij,nj->ni", np.linalg.inv(rotation), unrotated)
    refraction = np.round(refraction * lens_scale, 3)
    rows, cols = pixel_grid(side)
    samples, is32 = bilinear_float32(image.astype(np.float32) / 255, rows + refraction[..., 0], cols + refraction[..., 1])
    shade_a = ((north - south) * lighting)[..., None]
    shade_b = ((east - west) * lighting)[..., None]
    lit32 = samples.astype(np.float32) + shade_a.astype(np.float32)
    lit32 = np.clip(lit32 + shade_b.astype(np.float32), 0, 1)
    lit64 = np.clip(samples + shade_a + shade_b, 0, 1)
    if is32.all():  # every pixel float32: the reference's array stayed float32
        return to_uint8((lit32 * 255).astype(np.uint8))
    lit = np.where(is32[..., None], lit32.astype(np.float64), lit64)
    return to_uint8((lit * 255).astype(np.uint8))


def draw_circular_motion_blur(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Nothing: circular motion blur is deterministic."""
    return {}


def render_circular_motion_blur(image: np.ndarray, parameter: float) -> np.ndarray:
    """Average 21 copies rotated (SciPy ``rotate``, cubic, same shape) by -a..a degrees,
    a = ``parameter * 1.5``, with weights exp(-2 s^2), s in [-1, 1]; in float32."""
    num = 21
    amount = scaled(parameter, 15)
    unit = image.astype(np.float32) / 255
    out = np.zeros_like(unit)
    factors = []
    for i in range(num):
        step = 2 * i / (num - 1) - 1
        factor = np.exp(-2 * step**2)
        out += np.float32(factor) * ndimage.rotate(unit, step * amount, reshape=False)
        factors.append(factor)
    out /= np.float32(sum(factors))
    return to_uint8(out * 255)


def draw_transverse_chromatic_abberation(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Which channel gets which zoom: a permutation of (0, 1, 2)."""
    return {"order": rng.permutation(3)}


def render_transverse_chromatic_abberation(image: np.ndarray, parameter: float, order: np.ndarray) -> np.ndarray:
    """Zoom the channels by 1, 1 + s/2 and 1 + s (s = ``parameter / 20``; in the drawn order) with
    SciPy's cubic ``zoom`` without prefilter, keeping the centre."""
    side = image.shape[0]
    scale = scaled(parameter, 0.5)
    scales = np.array([1.0, 1.0 + scale / 2, 1.0 + scale])[np.asarray(order)]
    out = image.copy()
    for c in range(3):
        zoomed = ndimage.zoom(image[:, :, c], scales[c], prefilter=False)
        edge = (zoomed.shape[0] - side) // 2
        out[:, :, c] = zoomed[edge : edge + side, edge : edge + side]
    return out
