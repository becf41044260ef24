"""PRIME's three primitive families on float image batches, and their maximum-entropy draws.

Reference: Modas et al., "PRIME: A few primitives can boost robustness to common corruptions",
ECCV 2022; code github.com/amodas/PRIME-augmentations, commit 0290f6be3771215bac78693b3a27d3e2da341a55
(cited below as ``utils/<file>:<line>``). The three families, with the reference's class names:

- ``diffeo`` (``Diffeo``, utils/diffeomorphism.py): a smooth random displacement field made of the
  first ``cut`` sine modes, scaled by a temperature ``T``, applied with bilinear interpolation.
- ``color`` (``RandomSmoothColor``, utils/color_jitter.py): every channel's values go through
  ``x + sqrt(T) * sum_k c_k sin(pi k x)``, a random smooth curve, then are clipped to [0, 1].
- ``filter`` (``RandomFilter``, utils/rand_filter.py, the "spectral" family): a random
  ``kernel_size``² convolution ``sigma * N(0, 1) + delta`` per image (the same on all its channels),
  then clipping to [0, 1].

Every primitive is a pure function of the images and its already drawn values (``diffeo``,
``smooth_color``, ``random_filter``), so it can be checked pixel by pixel; the ``draw_*`` functions
make those values from a ``torch.Generator`` with the reference's distributions (its
``stochastic=True`` path, which ``train.py:141-162`` uses). Where the reference draws once per call
(per batch), the draws here are per image unless ``shared`` is set; see ``draw_*``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .tensor_random import sample_log_gamma

Tensor = torch.Tensor

#: Elements one chunk of an intermediate tensor may hold (keeps memory bounded on large batches).
CHUNK_ELEMENTS = 1 << 25

#: Frequency slots whose sines ``smooth_color`` computes in one call (fewer calls on small images).
COLOR_SLOTS_PER_CALL = 16

#: At most this many sine values per such call (about 1 MiB: a block stays in cache for the sums).
COLOR_BLOCK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class DiffeoParameters:
    """``Diffeo``'s constructor arguments (utils/diffeomorphism.py:42), with its names in brackets.

    ``cut`` ~ a Beta with ``cut_s`` [scut] = a + b and ``cut_r`` [rcut] = a / b, stretched over
    cut_min..cut_max' where cut_max' ~ U{cut_min + 1, ..., cut_max} [cutmin, cutmax]; the
    temperature ~ a Beta with ``temperature_s`` [sT], ``temperature_r`` [rT], stretched over the
    allowed range [T1, max(T1, alpha T2)] for that cut and image size.
    """

    temperature_s: float
    temperature_r: float
    cut_s: float
    cut_r: float
    cut_min: int
    cut_max: int
    alpha: float

    def __post_init__(self) -> None:
        for name in ("temperature_s", "temperature_r", "cut_s", "cut_r"):
            if not getattr(self, name) > 0:
                raise ValueError(f"DiffeoParameters.{name} must be > 0, got {getattr(self, name)}")
        if not (isinstance(self.cut_min, int) and self.cut_min >= 1):
            raise ValueError(f"DiffeoParameters.cut_min must be an integer >= 1, got {self.cut_min!r}")
        if not (isinstance(self.cut_max, int) and self.cut_max > self.cut_min):
            raise ValueError(
                f"DiffeoParameters.cut_max must be an integer > cut_min ({self.cut_min}), got {self.cut_max!r}"
            )
        if not self.alpha > 0:
            raise ValueError(f"DiffeoParameters.alpha must be > 0, got {self.alpha}")

    @property
    def temperature_beta(self) -> tuple[float, float]:
        """The temperature's Beta(a, b) (utils/diffeomorphism.py:58)."""
        return beta_shape(self.temperature_s, self.temperature_r)

    @property
    def cut_beta(self) -> tuple[float, float]:
        """The cut's Beta(a, b) (utils/diffeomorphism.py:59)."""
        return beta_shape(self.cut_s, self.cut_r)


@dataclass(frozen=True)
class ColorParameters:
    """``RandomSmoothColor``'s arguments (utils/color_jitter.py:9): the largest ``cut``, the largest
    temperature ``temperature`` [T] and ``freq_bandwidth`` (None: all frequencies 1..cut)."""

    cut: int
    temperature: float
    freq_bandwidth: int | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.cut, int) and self.cut >= 1):
            raise ValueError(f"ColorParameters.cut must be an integer >= 1, got {self.cut!r}")
        if not self.temperature >= 0:
            raise ValueError(f"ColorParameters.temperature must be >= 0, got {self.temperature}")
        if self.freq_bandwidth is not None and not (
            isinstance(self.freq_bandwidth, int) and self.freq_bandwidth >= 1
        ):
            raise ValueError(
                f"ColorParameters.freq_bandwidth must be None or an integer >= 1, got {self.freq_bandwidth!r}"
            )


@dataclass(frozen=True)
class FilterParameters:
    """``RandomFilter``'s arguments (utils/rand_filter.py:7): ``kernel_size`` and the largest ``sigma``."""

    kernel_size: int
    sigma: float

    def __post_init__(self) -> None:
        if not (isinstance(self.kernel_size, int) and self.kernel_size >= 2):
            raise ValueError(
                f"FilterParameters.kernel_size must be an integer >= 2 (the reference puts its delta "
                f"at index ceil(k / 2)), got {self.kernel_size!r}"
            )
        if not self.sigma >= 0:
            raise ValueError(f"FilterParameters.sigma must be >= 0, got {self.sigma}")


def beta_shape(s: float, r: float) -> tuple[float, float]:
    """Beta(a, b) with a + b = ``s`` and a / b = ``r``, as utils/diffeomorphism.py:58-59 writes it."""
    return s - s / (r + 1), s / (r + 1)


def sample_beta_ab(count: int, a: float, b: float, generator: torch.Generator) -> Tensor:
    """``count`` Beta(``a``, ``b``) draws (float64) on ``generator``'s device."""
    log_a = sample_log_gamma((count,), a, generator)
    log_b = sample_log_gamma((count,), b, generator)
    return torch.sigmoid(log_a - log_b)


def sample_uniform_int(low: int, high: Tensor, generator: torch.Generator) -> Tensor:
    """One uniform integer in ``low..high[i]`` (both included) for every entry of ``high``."""
    uniform = torch.rand(high.shape, dtype=torch.float64, device=high.device, generator=generator)
    span = (high - low + 1).to(torch.float64)
    return (low + torch.floor(uniform * span).to(torch.int64)).minimum(high)


# ----------------------------------------------------------------------------------------------
# diffeo


@dataclass(frozen=True)
class DiffeoDraw:
    """Diffeo draws for ``n`` images: ``cut`` (n,) int64, ``temperature`` (n,) float32 and the
    Gaussian mode coefficients of the two fields (n, M, M) float32, M >= every cut (entries past
    an image's cut are unused)."""

    cut: Tensor
    temperature: Tensor
    coefficients_u: Tensor
    coefficients_v: Tensor


def temperature_range(size: int, cut: Tensor) -> tuple[Tensor, Tensor]:
    """The allowed temperatures (T1, T2) for ``cut`` (float64) on ``size``-pixel images.

    utils/diffeomorphism.py:183-197: with c = cut + 1e-6, T1 = 1 / (pi n² ln c) (a half-pixel
    typical displacement) and T2 = 4 / (pi³ c² ln c) (the largest without overhangs).
    """
    c = cut.to(torch.float64) + 1e-6
    log = torch.log(c)
    return 1.0 / (math.pi * size**2 * log), 4.0 / (math.pi**3 * c**2 * log)


def draw_diffeo(
    count: int, size: int, parameters: DiffeoParameters, generator: torch.Generator, shared: bool = False
) -> DiffeoDraw:
    """Diffeo draws for ``count`` images of ``size`` x ``size`` pixels.

    As ``Diffeo.forward`` with ``stochastic=True`` (utils/diffeomorphism.py:73-84, 87, 109-116):
    cut_max' ~ U{cut_min + 1..cut_max}; cut = int(beta_cut * (cut_max' + 1 - cut_min) + cut_min)
    in float32; T = beta_T * (T2' - T1) + T1 with T2' = max(T1, alpha T2); then a (cut, cut)
    standard normal coefficient matrix for each of the two fields. The reference draws all of it
    once per call (one field for the whole batch); here every image draws its own, unless
    ``shared`` (one draw repeated ``count`` times, the reference's behaviour).
    """
    device = generator.device
    if count == 0:
        empty = torch.empty(0, device=device)
        return DiffeoDraw(empty.long(), empty, empty.view(0, 1, 1), empty.view(0, 1, 1))
    draws = 1 if shared else count
    lowest = parameters.cut_min
    cut_max = sample_uniform_int(
        lowest + 1, torch.full((draws,), parameters.cut_max, device=device), generator
    )
    beta_cut = sample_beta_ab(draws, *parameters.cut_beta, generator).to(torch.float32)
    cut = (beta_cut * (cut_max + 1 - lowest).to(torch.float32) + lowest).to(torch.int64)
    low, high = temperature_range(size, cut)
    high = torch.maximum(low, parameters.alpha * high)
    beta_t = sample_beta_ab(draws, *parameters.temperature_beta, generator).to(torch.float32)
    temperature = (beta_t.to(torch.float64) * (high - low) + low).to(torch.float32)
    modes = int(cut.max())
    coefficients_u = torch.randn((draws, modes, modes), device=device, generator=generator)
    coefficients_v = torch.randn((draws, modes, modes), device=device, generator=generator)
    draw = DiffeoDraw(cut, temperature, coefficients_u, coefficients_v)
    return expand_draw(draw, count) if shared else draw


def diffeo_fields(coefficients: Tensor, cut: Tensor, size: int) -> Tensor:
    """Random scalar fields (n, size, size) from mode coefficients (n, M, M) and cuts (n,).

    utils/diffeomorphism.py:95-116: with k = 1..M, r_ij = sqrt(i² + j²), energy
    e_ij = [r_ij < cut + 0.5] / r_ij and s_k(t) = sin(pi k t) on t = linspace(0, 1, size),
    field[y, x] = sum_ij c_ij e_ij s_i(t_x) s_j(t_y). Modes past an image's cut have e = 0.
    """
    modes = coefficients.shape[-1]
    device = coefficients.device
    k = torch.arange(1, modes + 1, dtype=torch.float32, device=device)
    radius = (k[:, None] ** 2 + k[None, :] ** 2).sqrt()
    inside = radius < cut.to(torch.float32)[:, None, None] + 0.5
    weighted = coefficients * (inside / radius)
    t = torch.linspace(0, 1, size, dtype=torch.float32, device=device)
    sines = torch.sin(math.pi * t[:, None] * k[None, :])  # (size, M): sines[x, i]
    # field[y, x] = sum_ij sines[y, j] c[i, j] sines[x, i] = (S C^T S^T)[y, x]
    return sines @ weighted.transpose(1, 2) @ sines.T


def remap(images: Tensor, dx: Tensor, dy: Tensor) -> Tensor:
    """Move every pixel by (dx, dy): out[y, x] = images at (y - dy, x - dx), bilinear.

    utils/diffeomorphism.py:144-168: source coordinates are clamped to the image, then the four
    neighbours floor/ceil are blended. ``images`` (n, C, H, W); ``dx``, ``dy`` (n, H, W).
    """
    count, channels, height, width = images.shape
    device = images.device
    y = torch.arange(height, dtype=dx.dtype, device=device)[:, None]
    x = torch.arange(width, dtype=dx.dtype, device=device)[None, :]
    xn = (x - dx).clamp(0, width - 1)
    yn = (y - dy).clamp(0, height - 1)
    xf, xc = xn.floor(), xn.ceil()
    yf, yc = yn.floor(), yn.ceil()
    xv = (xn - xf)[:, None]
    yv = (yn - yf)[:, None]
    flat = images.reshape(count, channels, height * width)

    def pick(rows: Tensor, cols: Tensor) -> Tensor:
        index = (rows.long() * width + cols.long()).view(count, 1, -1).expand(-1, channels, -1)
        return flat.gather(2, index).view(count, channels, height, width)

    return (
        (1 - yv) * (1 - xv) * pick(yf, xf)
        + (1 - yv) * xv * pick(yf, xc)
        + yv * (1 - xv) * pick(yc, xf)
        + yv * xv * pick(yc, xc)
    )


def diffeo(images: Tensor, draw: DiffeoDraw) -> Tensor:
    """The diffeomorphism of every image (n, C, S, S) with its drawn cut, temperature and fields.

    utils/diffeomorphism.py:119-141: dx = sqrt(T) * u * S, dy = sqrt(T) * v * S, then ``remap``.
    Works in chunks of images so that the mode matrices stay within ``CHUNK_ELEMENTS``.
    """
    count, _, size, width = images.shape
    if size != width:
        raise ValueError(f"diffeo needs square images (as the reference), got {size}x{width}")
    modes = draw.coefficients_u.shape[-1]
    chunk = max(1, CHUNK_ELEMENTS // (modes * modes + size * max(modes, size)))
    outputs = []
    for start in range(0, count, chunk):
        part = slice(start, start + chunk)
        cut = draw.cut[part]
        scale = draw.temperature[part].sqrt()[:, None, None]
        dx = scale * diffeo_fields(draw.coefficients_u[part], cut, size) * size
        dy = scale * diffeo_fields(draw.coefficients_v[part], cut, size) * size
        outputs.append(remap(images[part], dx, dy))
    return torch.cat(outputs) if outputs else images.clone()


# ----------------------------------------------------------------------------------------------
# color


@dataclass(frozen=True)
class ColorDraw:
    """Colour draws for ``n`` images: ``temperature`` (n,) float32, ``frequencies`` (n, K) int64
    (0 marks an unused slot: sin(0) = 0) and ``coefficients`` (n, C, K) standard normal."""

    temperature: Tensor
    frequencies: Tensor
    coefficients: Tensor


def draw_color(
    count: int, channels: int, parameters: ColorParameters, generator: torch.Generator, shared: bool = False
) -> ColorDraw:
    """Colour draws for ``count`` images of ``channels`` channels.

    As ``RandomSmoothColor`` with ``stochastic=True`` (utils/color_jitter.py:32-57): cut ~
    U{1..cut}, T ~ U(0, T); frequencies 1..cut, or with a bandwidth b, min_k ~ U{1..cut} and
    min_k..min(min_k + b - 1, cut); then one N(0, 1) coefficient per image, channel and frequency.
    The reference draws cut, T and min_k once per call; here per image unless ``shared``.
    """
    device = generator.device
    draws = 1 if shared else count
    cut = sample_uniform_int(1, torch.full((draws,), parameters.cut, device=device), generator)
    temperature = torch.rand(draws, device=device, generator=generator) * parameters.temperature
    if parameters.freq_bandwidth is None:
        slots = torch.arange(1, parameters.cut + 1, device=device)
        frequencies = slots.expand(draws, -1)
    else:
        min_k = sample_uniform_int(1, cut, generator)
        slots = torch.arange(parameters.freq_bandwidth, device=device)
        frequencies = min_k[:, None] + slots
    frequencies = torch.where(frequencies <= cut[:, None], frequencies, 0)
    if shared:
        temperature = temperature.expand(count)
        frequencies = frequencies.expand(count, -1)
    used = int((frequencies > 0).sum(dim=1).max()) if count else 0
    frequencies = frequencies[:, :used].contiguous()
    coefficients = torch.randn((count, channels, used), device=device, generator=generator)
    return ColorDraw(temperature.contiguous(), frequencies, coefficients)


def smooth_color(images: Tensor, draw: ColorDraw) -> Tensor:
    """x -> clip(x + sqrt(T) sum_f c_f sin(pi k_f x), 0, 1) per image and channel.

    utils/color_jitter.py:36-66 (the same curve on every pixel of a channel). The terms are added
    one frequency slot at a time, in slot order, as ``x + w_f a_f`` (``addcmul_``); a slot whose
    frequency is 0 adds sin(0) a_f = 0, so each image stops after its last used slot: the images
    are sorted by that count, so that every slot runs on a leading slice of them, and the sines
    of up to ``COLOR_SLOTS_PER_CALL`` slots are computed in one call. Every value is computed with the
    same float32 operations as one slot at a time over the whole batch.
    """
    count, channels, height, width = images.shape
    pixels = channels * height * width
    colors = images.reshape(count, channels, height * width)
    amplitude = draw.coefficients * draw.temperature.sqrt()[:, None, None]
    frequencies = draw.frequencies.to(images.dtype)
    slots = torch.arange(1, frequencies.shape[1] + 1, device=images.device)
    if frequencies.numel() == 0:
        return colors.clamp(0, 1).view(count, channels, height, width)
    lengths = torch.where(draw.frequencies != 0, slots, 0).amax(dim=1)
    lengths, order = torch.sort(lengths, descending=True, stable=True)
    lengths = lengths.tolist()
    colors, amplitude, frequencies = colors[order], amplitude[order], frequencies[order]
    out = colors.clone()
    block = max(1, min(COLOR_SLOTS_PER_CALL, COLOR_BLOCK_ELEMENTS // max(1, count * pixels)))
    for first in range(0, lengths[0], block):
        last = min(first + block, lengths[0])
        active = sum(length > first for length in lengths)
        angles = colors[:active, None] * frequencies[:active, first:last, None, None]
        waves = angles.mul_(math.pi).sin_()
        for f in range(first, last):
            rows = sum(length > f for length in lengths)
            out[:rows].addcmul_(waves[:rows, f - first], amplitude[:rows, :, f, None])
    unsorted = torch.empty_like(out)
    unsorted[order] = out
    return unsorted.clamp_(0, 1).view(count, channels, height, width)


# ----------------------------------------------------------------------------------------------
# filter


@dataclass(frozen=True)
class FilterDraw:
    """Filter draws for ``n`` images: ``sigma`` (n,) float32 and ``noise`` (n, k, k) N(0, 1)."""

    sigma: Tensor
    noise: Tensor


def draw_filter(
    count: int, parameters: FilterParameters, generator: torch.Generator, shared: bool = False
) -> FilterDraw:
    """Filter draws for ``count`` images.

    As ``RandomFilter`` with ``stochastic=True`` (utils/rand_filter.py:14, 53-55, 35): the kernel
    size is always ``kernel_size`` (its only candidate), sigma ~ U(0, sigma), and every image
    gets its own (k, k) N(0, 1) noise. The reference draws sigma once per call; here per image
    unless ``shared``.
    """
    device = generator.device
    draws = 1 if shared else count
    sigma = torch.rand(draws, device=device, generator=generator) * parameters.sigma
    if shared:
        sigma = sigma.expand(count).contiguous()
    size = parameters.kernel_size
    noise = torch.randn((count, size, size), device=device, generator=generator)
    return FilterDraw(sigma, noise)


def filter_kernels(draw: FilterDraw) -> Tensor:
    """The kernels sigma * noise + delta (n, k, k); the reference's delta sits at
    (ceil(k / 2), ceil(k / 2)) (utils/rand_filter.py:30-32): for k = 3 the corner (2, 2)."""
    size = draw.noise.shape[-1]
    centre = math.ceil(size / 2)
    delta = torch.zeros((size, size), dtype=draw.noise.dtype, device=draw.noise.device)
    delta[centre, centre] = 1.0
    return draw.sigma[:, None, None] * draw.noise + delta


def random_filter(images: Tensor, draw: FilterDraw) -> Tensor:
    """Each image convolved (cross-correlation, zero 'same' padding) with its kernel on every
    channel, NaNs set to 1, clipped to [0, 1] (utils/rand_filter.py:34-49)."""
    count = images.shape[0]
    kernels = filter_kernels(draw).to(images.dtype)[:, None]
    filtered = torch.nn.functional.conv2d(
        images.transpose(0, 1), kernels, padding="same", groups=count
    ).transpose(0, 1)
    filtered = torch.where(filtered.isnan(), torch.ones_like(filtered), filtered)
    return filtered.clamp(0, 1).contiguous()


def expand_draw(draw: DiffeoDraw, count: int) -> DiffeoDraw:
    """A one-image diffeo draw repeated for ``count`` images (views, no copies)."""
    return DiffeoDraw(
        draw.cut.expand(count),
        draw.temperature.expand(count),
        draw.coefficients_u.expand(count, -1, -1),
        draw.coefficients_v.expand(count, -1, -1),
    )
