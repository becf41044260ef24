"""-C-bar corruptions that paint over the image: checkerboard cutout, lines, sparkles and inverse sparkles.

As in ``cbar_noise``: ``draw_*`` takes the random numbers from a ``np.random.Generator`` (the
order is in its docstring), ``render_*`` is the reference's deterministic maths on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.draw import line_aa

from .cbar_common import TWO_PI, pixel_grid, scaled, to_uint8

#: Sparkles drawn by ``sparkles`` (the reference's five centres).
SPARKLE_COUNT = 5
#: Spread of the ray lengths, in percent of the radius (the reference's ``randomness``).
RAY_RANDOMNESS = 25


def draw_checkerboard_cutout(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Angle U[0, 2 pi); square size max(U[0.1, 0.25) * side, 1); then one U[0, 1) per square of
    an (n, n) grid, n = int(4 * side // size)."""
    angle = rng.uniform(0, TWO_PI)
    scale = np.maximum(rng.uniform(0.1, 0.25) * side, 1)
    cells = int(4 * side // scale)
    return {"angle": angle, "scale": scale, "grid": rng.random((cells, cells))}


def render_checkerboard_cutout(
    image: np.ndarray, parameter: float, angle: float, scale: float, grid: np.ndarray
) -> np.ndarray:
    """Grey out (128) the squares of one colour of a rotated checkerboard whose grid value is
    below ``parameter / 10``."""
    rows, cols = pixel_grid(image.shape[0])
    cut = grid < scaled(parameter, 1.0)
    nx = (np.cos(angle) * rows + np.sin(angle) * cols) / scale
    ny = (-np.sin(angle) * rows + np.cos(angle) * cols) / scale
    same_colour = (nx % 2).astype(np.int64) == (ny % 2).astype(np.int64)
    # int() truncates towards zero, and Python indexing wraps negative indices
    ix = np.mod(nx.astype(np.int64), grid.shape[0])
    iy = np.mod(ny.astype(np.int64), grid.shape[1])
    out = image.copy()
    out[same_colour & cut[ix, iy]] = 128
    return out


def draw_lines(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Angle U[0, 2 pi), angle variation U[0.1, 1); then per line (int(parameter / 10 * side)
    lines) three U[0, 1): row, column and angle jitter, shape (lines, 3)."""
    angle = rng.uniform(0.0, TWO_PI)
    variation = rng.uniform(0.1, 1.0)
    count = int(scaled(parameter, 1.0) * side)
    return {"angle": angle, "angle_variation": variation, "positions": rng.random((count, 3))}


def render_lines(
    image: np.ndarray, parameter: float, angle: float, angle_variation: float, positions: np.ndarray
) -> np.ndarray:
    """Draw one anti-aliased grey (128) line of half-length ``side`` per row of ``positions``,
    one after the other, with scikit-image's ``line_aa``."""
    side = image.shape[0]
    length = 1.0 * side
    out = image.copy()
    for u_row, u_col, u_angle in positions:
        row = side * u_row
        col = side * u_col
        a = angle + 2 * np.pi * angle_variation * (u_angle - 0.5)
        s = np.sin(a) * length
        c = np.cos(a) * length
        rr, cc, val = line_aa(int(row - c), int(col - s), int(row + c), int(col + s))
        inside = (rr >= 0) & (cc >= 0) & (rr < side) & (cc < side)
        rr, cc, val = rr[inside], cc[inside], val[inside].reshape(-1, 1)
        out[rr, cc, :] = (1.0 - val) * out[rr, cc, :].astype(np.float32) + val * 128
    return out


def _ray_weight(
    side: int, centre: np.ndarray, radius: float, ray_lengths: np.ndarray, exponent: float
) -> np.ndarray:
    """The reference's sparkle kernel factor per pixel, clipped to [0, 1]: the fractional angle
    position, shaped by the interpolated ray length over the distance from ``centre``."""
    rows, cols = pixel_grid(side)
    dr = rows - centre[0]
    dc = cols - centre[1]
    dist = np.sqrt(dr * dr + dc * dc)
    rays = len(ray_lengths)
    d = (np.arctan2(dc, dr) + np.pi) / (2 * np.pi) * rays
    i = d.astype(np.int64)
    f = d - i
    if radius != 0:
        low = ray_lengths[i % rays]
        length = low + f * (ray_lengths[(i + 1) % rays] - low)
        g = length * length / (dist * dist + 1e-4)
        g = g**exponent
        f = f - 0.5
        f = 1 - f * f
        f = f * g
    return np.clip(f, 0, 1)


def draw_sparkles(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Centres U[0, side) (5, 2) as (row, column); ray counts in [50, 200) (5,); then per sparkle
    that many standard normals (the ray lengths' noise), a list of 5 arrays."""
    centres = rng.uniform(0, side, size=(SPARKLE_COUNT, 2))
    rays = rng.integers(50, 200, size=SPARKLE_COUNT)
    return {"centres": centres, "ray_noise": [rng.standard_normal(int(n)) for n in rays]}


def render_sparkles(image: np.ndarray, parameter: float, centres: np.ndarray, ray_noise: list[np.ndarray]) -> np.ndarray:
    """Brighten towards white around each centre in turn, along rays of length ``parameter / 100 * side``
    (+- 25 %, at least 1); the image is rounded to float32 before each sparkle, as the reference."""
    side = image.shape[0]
    radius = scaled(parameter, 0.1) * side
    current: np.ndarray = image
    for centre, noise in zip(centres, ray_noise):
        lengths = np.maximum(1, radius + RAY_RANDOMNESS / 100.0 * radius * np.asarray(noise))
        value = current.astype(np.float32).astype(np.float64)
        weight = _ray_weight(side, centre, radius, lengths, (100 - 50) / 50.0)
        current = value + weight[:, :, None] * (255 - value)
    return to_uint8(current)


def draw_inverse_sparkles(rng: np.random.Generator, side: int, parameter: float) -> dict[str, Any]:
    """Centre U[0.25, 0.75)^2 * side (row, column); ray count in [50, 200); that many standard normals."""
    centre = rng.uniform(0.25, 0.75, size=2) * side
    rays = int(rng.integers(50, 200))
    return {"centre": centre, "ray_noise": rng.standard_normal(rays)}


def render_inverse_sparkles(image: np.ndarray, parameter: float, centre: np.ndarray, ray_noise: np.ndarray) -> np.ndarray:
    """White everywhere except a star-shaped window of radius ``side / 4`` (+- 25 %) around ``centre``
    that shows the image; the star's edge sharpens as ``parameter`` grows."""
    side = image.shape[0]
    radius = 0.25 * side
    amount = 100 - scaled(parameter, 65)
    lengths = radius + RAY_RANDOMNESS / 100.0 * radius * np.asarray(ray_noise)
    weight = _ray_weight(side, centre, radius, lengths, (100 - amount) / 50.0)
    value = image.astype(np.float32).astype(np.float64)
    return to_uint8(255 + weight[:, :, None] * (value - 255))
