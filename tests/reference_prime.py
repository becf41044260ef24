"""Test oracle: PRIME as the reference code does it, one image at a time, in NumPy (float64).

Transcribed for the tests from github.com/amodas/PRIME-augmentations @ 0290f6b (utils/prime.py,
utils/diffeomorphism.py, utils/color_jitter.py, utils/rand_filter.py) in another style than
the library module: one image at a time, loops over chains, channels, frequencies and kernel taps. Two entry points:

- ``*_one``: a primitive on one image (C, S, S) for given draws (pixel-exact comparisons);
- ``sample_*`` / ``prime_one``: the reference's random draws for a batch of one image (so its
  per-call draws are per image), from a NumPy Generator (distribution comparisons).
"""

from __future__ import annotations

import math

import numpy as np
import torch

# ---------------------------------------------------------------- primitives for given draws


def allowed_temperatures(n: int, cut: int) -> tuple[float, float]:
    """``temperature_range`` of utils/diffeomorphism.py (c = cut + 1e-6)."""
    c = cut + 1e-6
    return 1 / (math.pi * n**2 * math.log(c)), 4 / (math.pi**3 * c**2 * math.log(c))


def scalar_field_one(n: int, cut: int, coefficients: np.ndarray) -> np.ndarray:
    """The (n, n) field [y, x] from a (cut, cut) coefficient matrix ('ij,xi,yj->yx')."""
    k = np.arange(1, cut + 1, dtype=np.float64)
    i, j = np.meshgrid(k, k, indexing="ij")
    r = np.sqrt(i**2 + j**2)
    energy = np.where(r < cut + 0.5, 1.0 / r, 0.0)
    sines = np.sin(float32_angles(float32_grid(n), k))
    return np.einsum("ij,xi,yj->yx", coefficients * energy, sines, sines, optimize=True)


def float32_grid(n: int) -> np.ndarray:
    """``torch.linspace(0, 1, n)`` in float32, the reference's own call (its rounding differs
    from NumPy's by an ulp here and there, which matters once multiplied by pi * 500)."""
    return torch.linspace(0, 1, n).numpy()


def float32_angles(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """pi * x * k with the reference's float32 rounding (x float32, k whole numbers; the
    reference multiplies in float32, and the phase error of k up to 500 exceeds 1e-5)."""
    return (np.float32(math.pi) * x.astype(np.float32))[:, None] * k.astype(np.float32)[None, :]


def bilinear_one(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """out[:, y, x] = image at (y - dy, x - dx), clamped, bilinear over floor/ceil neighbours."""
    _, h, w = image.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    sx = np.clip(x - dx, 0, w - 1)
    sy = np.clip(y - dy, 0, h - 1)
    x0, x1 = np.floor(sx).astype(int), np.ceil(sx).astype(int)
    y0, y1 = np.floor(sy).astype(int), np.ceil(sy).astype(int)
    ax, ay = sx - x0, sy - y0
    return (
        (1 - ay) * (1 - ax) * image[:, y0, x0]
        + (1 - ay) * ax * image[:, y0, x1]
        + ay * (1 - ax) * image[:, y1, x0]
        + ay * ax * image[:, y1, x1]
    )


def diffeo_one(image: np.ndarray, temperature: float, cut: int, cu: np.ndarray, cv: np.ndarray) -> np.ndarray:
    """``deform``: displacement sqrt(T) * field * n along x (from cu) and y (from cv)."""
    n = image.shape[-1]
    dx = math.sqrt(temperature) * scalar_field_one(n, cut, cu) * n
    dy = math.sqrt(temperature) * scalar_field_one(n, cut, cv) * n
    return bilinear_one(image, dx, dy)


def color_one(image: np.ndarray, temperature: float, ks: list[int], coefficients: np.ndarray) -> np.ndarray:
    """``random_smooth_color``: per channel x + sum_f sqrt(T) c_f sin(pi k_f x), clipped."""
    out = np.empty_like(image)
    k = np.asarray(ks, dtype=np.float32)
    for ch in range(image.shape[0]):
        x = image[ch].reshape(-1)
        # colors * k * pi, multiplied in float32 as the reference does (phases reach ~1600)
        angles = (x.astype(np.float32)[:, None] * k[None, :]) * np.float32(math.pi)
        waves = np.sin(angles.astype(np.float64))  # (pixels, frequencies)
        curve = x + math.sqrt(temperature) * (waves @ coefficients[ch])
        out[ch] = np.clip(curve, 0.0, 1.0).reshape(image.shape[1:])
    return out


def filter_one(image: np.ndarray, sigma: float, noise: np.ndarray) -> np.ndarray:
    """``RandomFilter``: kernel sigma * noise + delta at (ceil(k/2), ceil(k/2)), 'same' zero-padded
    cross-correlation on every channel, NaN -> 1, clipped."""
    k = noise.shape[0]
    kernel = sigma * noise.astype(np.float64)
    centre = int(np.ceil(k / 2))
    kernel[centre, centre] += 1.0
    before = (k - 1) // 2
    after = k - 1 - before
    c, h, w = image.shape
    padded = np.zeros((c, h + k - 1, w + k - 1))
    padded[:, before : before + h, before : before + w] = image
    out = np.zeros_like(image, dtype=np.float64)
    for a in range(k):
        for b in range(k):
            out += kernel[a, b] * padded[:, a : a + h, b : b + w]
    assert after >= 0
    out[np.isnan(out)] = 1.0
    return np.clip(out, 0.0, 1.0)


# ---------------------------------------------------------------- the mixing for a given draw


def prime_from_draw(images: np.ndarray, draw) -> np.ndarray:  # noqa: ANN001 (a PrimeDraw)
    """The mixed view of every image (B, C, S, S) for a library ``PrimeDraw``, image by image."""
    batch = images.shape[0]
    weights = draw.weights.double().numpy()
    skip = draw.skip.double().numpy()
    depths = draw.depths.numpy()
    ops = draw.ops.numpy()
    width = weights.shape[1]
    results = []
    for b in range(batch):
        mix = np.zeros_like(images[b])
        for chain in range(width):
            instance = chain * batch + b
            x = images[b].copy()
            for step, step_draw in enumerate(draw.steps):
                if step >= depths[instance]:
                    break
                op = ops[instance, step]
                name = draw.primitives[op]
                position = step_draw.members[op].tolist().index(instance)
                d = step_draw.draws[op]
                if name == "diffeo":
                    cut = int(d.cut[position])
                    x = diffeo_one(
                        x,
                        float(d.temperature[position]),
                        cut,
                        d.coefficients_u[position, :cut, :cut].double().numpy(),
                        d.coefficients_v[position, :cut, :cut].double().numpy(),
                    )
                elif name == "color":
                    ks = [int(k) for k in d.frequencies[position] if k > 0]
                    x = color_one(
                        x, float(d.temperature[position]), ks,
                        d.coefficients[position, :, : len(ks)].double().numpy(),
                    )
                else:
                    x = filter_one(x, float(d.sigma[position]), d.noise[position].double().numpy())
                # the reference keeps its images in float32 between steps; a high colour
                # frequency (pi k up to ~1600) turns a float64/float32 gap into > 1e-5
                x = x.astype(np.float32).astype(np.float64)
            mix += weights[b, chain] * x
        results.append((1 - skip[b]) * images[b] + skip[b] * mix)
    return np.stack(results)


# ---------------------------------------------------------------- the reference's random draws


def sample_diffeo(rng: np.random.Generator, n: int, p: dict) -> tuple[int, float]:
    """``Diffeo.forward`` with stochastic=True for one image: (cut, T)."""
    cutmax = int(rng.integers(p["cutmin"] + 1, p["cutmax"] + 1))
    a_cut = p["scut"] - p["scut"] / (p["rcut"] + 1)
    b_cut = p["scut"] / (p["rcut"] + 1)
    cut = int(np.float32(rng.beta(a_cut, b_cut)) * np.float32(cutmax + 1 - p["cutmin"]) + p["cutmin"])
    t1, t2 = allowed_temperatures(n, cut)
    t2 = max(t1, p["alpha"] * t2)
    a_t = p["sT"] - p["sT"] / (p["rT"] + 1)
    b_t = p["sT"] / (p["rT"] + 1)
    return cut, float(rng.beta(a_t, b_t) * (t2 - t1) + t1)


def sample_color(rng: np.random.Generator, p: dict) -> tuple[float, list[int]]:
    """``RandomSmoothColor`` with stochastic=True: (T, frequencies)."""
    cut = int(rng.integers(1, p["cut"] + 1))
    temperature = float(rng.uniform(0.0, p["T"]))
    if p["max_freqs"] is None:
        return temperature, list(range(1, cut + 1))
    min_k = int(rng.integers(1, cut + 1))
    return temperature, list(range(min_k, min(min_k + p["max_freqs"], cut + 1)))


def apply_sampled(rng: np.random.Generator, name: str, x: np.ndarray, p: dict) -> np.ndarray:
    """One primitive with freshly drawn parameters (``p``: the reference config's sections)."""
    if name == "diffeo":
        cut, temperature = sample_diffeo(rng, x.shape[-1], p["diffeo"])
        cu = rng.standard_normal((cut, cut))
        cv = rng.standard_normal((cut, cut))
        return diffeo_one(x, temperature, cut, cu, cv)
    if name == "color":
        temperature, ks = sample_color(rng, p["color_jit"])
        return color_one(x, temperature, ks, rng.standard_normal((x.shape[0], len(ks))))
    sigma = float(rng.uniform(0.0, p["rand_filter"]["sigma"]))
    k = p["rand_filter"]["kernel_size"]
    return filter_one(x, sigma, rng.standard_normal((k, k)))


def prime_one(rng: np.random.Generator, image: np.ndarray, p: dict, width: int = 3, max_depth: int = 3) -> tuple:
    """``GeneralizedPRIMEModule.aug`` on one image (mixture_depth=-1): (mixed, weights, m)."""
    names = ("diffeo", "color", "filter")
    weights = rng.dirichlet(np.ones(width))
    m = float(rng.beta(1.0, 1.0))
    mix = np.zeros_like(image)
    for chain in range(width):
        depth = int(rng.integers(1, max_depth + 1))
        x = image.copy()
        for _ in range(depth):
            x = apply_sampled(rng, names[int(rng.integers(0, 3))], x, p)
        mix += weights[chain] * x
    return (1 - m) * image + m * mix, weights, m
