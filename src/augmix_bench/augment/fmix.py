"""FMix (Harris et al., 2020): mix each image of a batch with a partner through a binary mask made
by thresholding a random low-frequency image, as the authors' code does it.

Reference: github.com/ecs-vlc/FMix at e5991dca018882734c8ea63599f10dfbe67fa0ae, ``fmix.py``
(``fftfreqnd``, ``get_spectrum``, ``make_low_freq_image``, ``sample_lam``, ``binarise_mask``,
``sample_mask``, ``sample_and_apply``) and ``implementations/torchbearer_implementation.py`` (the loss
``lam * CE(y) + (1 - lam) * CE(y[permutation])``, plain CE with ``reformulate``).

One draw per training step (the whole batch shares one mask), in the reference's order:

1. ``lam ~ Beta(alpha, alpha)`` (``Beta(alpha + 1, alpha)`` with ``reformulate``);
2. Gaussian noise of shape ``(height, width_f, 2)`` (``width_f = width // 2 + 1``, one more for odd
   widths, as the reference's frequency grid), scaled by ``1 / max(f, 1 / max(height, width))^decay``
   where ``f`` is each bin's frequency magnitude; the grey image is the inverse real FFT of the
   complex spectrum, shifted and scaled to [0, 1];
3. the mask: 1 on the ``num`` brightest pixels, 0 elsewhere, where ``num`` is ``ceil(lam * N)`` or
   ``floor(lam * N)`` with probability 1/2 each (``N = height * width``); ``max_soft > 0`` ramps
   linearly from 1 to 0 over ``2 * int(N * soft)`` pixels around that rank;
4. a uniform permutation of the batch.

**The reference's spectrum indexing.** The reference combines the noise into a complex spectrum as
``noise[:, 0] + 1j * noise[:, 1]`` on an array shaped ``(1, height, width_f, 2)``: this picks the
first two *rows* (frequencies ``fy = 0`` and ``fy = 1 / height``), not the real and imaginary planes,
and ``irfftn`` then reads that ``(width_f, 2)`` array as (row frequency, column frequency). Its masks
therefore have at most one period across the width, and their row frequencies carry the weights of
the first row's column frequencies. ``reference_spectrum=True`` (the default) reproduces this
exactly; ``reference_spectrum=False`` uses the paper's description (real and imaginary parts from
the last axis, the full 2-D half spectrum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError

#: The reference's defaults (``FMixBase.__init__``; trainer.py's ``--alpha 1``, ``--f-decay 3``).
DEFAULT_ALPHA = 1.0
DEFAULT_DECAY_POWER = 3.0


def half_spectrum_width(width: int) -> int:
    """Columns of the reference's frequency grid: ``width // 2 + 1``, or ``+ 2`` for odd widths
    (``fftfreq(width)[: width // 2 + 2]``, at most ``width`` entries)."""
    return width // 2 + 1 if width % 2 == 0 else min(width, width // 2 + 2)


def frequency_magnitudes(height: int, width: int) -> np.ndarray:
    """The reference's ``fftfreqnd(height, width)``: ``sqrt(fy^2 + fx^2)``, shape (height, width_f)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[: half_spectrum_width(width)]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(height: int, width: int, decay_power: float) -> np.ndarray:
    """``1 / max(f, 1 / max(height, width))^decay_power`` per frequency bin, shape (height, width_f)."""
    floor = 1.0 / max(width, height)
    return 1.0 / np.maximum(frequency_magnitudes(height, width), floor) ** decay_power


def grey_image(
    noise: np.ndarray, height: int, width: int, decay_power: float, reference_spectrum: bool = True
) -> np.ndarray:
    """The low-frequency image of ``noise`` (shape (height, width_f, 2)) before normalization:
    float64 (height, width)."""
    spectrum = spectrum_scale(height, width, decay_power)[..., None] * noise
    if reference_spectrum:
        coefficients = spectrum[0] + 1j * spectrum[1]  # rows 0 and 1, as the reference indexes it
    else:
        coefficients = spectrum[..., 0] + 1j * spectrum[..., 1]
    return np.real(np.fft.irfftn(coefficients, (height, width), axes=(-2, -1)))


def normalized_grey_image(grey: np.ndarray) -> np.ndarray:
    """``grey`` shifted to start at 0 and divided by its maximum, as ``make_low_freq_image`` does."""
    shifted = grey - grey.min()
    return shifted / shifted.max()


def binarise(grey: np.ndarray, lam: float, round_up: bool, max_soft: float = 0.0) -> np.ndarray:
    """The reference's ``binarise_mask``: 1 on the ``num`` highest pixels of ``grey``, 0 elsewhere,
    ``num = ceil(lam * N)`` if ``round_up`` else ``floor(lam * N)``; soft edges with ``max_soft``."""
    flat = grey.reshape(-1)
    order = flat.argsort()[::-1]
    size = flat.size
    num = math.ceil(lam * size) if round_up else math.floor(lam * size)
    soft = max_soft if max_soft <= lam and max_soft <= 1 - lam else min(lam, 1 - lam)
    spread = int(size * soft)
    low, high = num - spread, num + spread
    mask = np.zeros(size, dtype=np.float64)
    mask[order[:high]] = 1
    mask[order[low:]] = 0
    mask[order[low:high]] = np.linspace(1, 0, high - low)
    return mask.reshape(grey.shape)


@dataclass(frozen=True)
class FMixDraw:
    """One FMix step.

    ``mask`` is float32 (height, width) on the CPU, 1 where an image keeps its own pixel; ``lam`` is
    the weight of each image's own label in the loss (the drawn ``lam``, as the reference's loss
    uses it; 1.0 with ``reformulate``); ``mask_lam`` is the ``lam`` the mask was cut at.
    """

    mask: torch.Tensor
    lam: float
    mask_lam: float
    permutation: torch.Tensor  # int64, on the CPU


def check_fmix_options(alpha: float, decay_power: float, max_soft: float) -> None:
    """Refuse settings outside their ranges (a ``UserError`` naming the accepted ones)."""
    if not alpha > 0:
        raise UserError(f"augmentation.alpha={alpha} is invalid; accepted: a number > 0")
    if not (math.isfinite(decay_power) and decay_power >= 0):
        raise UserError(f"augmentation.decay_power={decay_power} is invalid; accepted: a number >= 0")
    if not 0 <= max_soft <= 0.5:
        raise UserError(f"augmentation.max_soft={max_soft} is invalid; accepted: 0 to 0.5")


def draw_fmix(
    batch_size: int,
    height: int,
    width: int,
    alpha: float,
    decay_power: float,
    rng: np.random.Generator,
    *,
    max_soft: float = 0.0,
    reformulate: bool = False,
    reference_spectrum: bool = True,
) -> FMixDraw:
    """Draw one FMix step as the authors' ``sample_mask`` and ``sample_and_apply`` do (see the
    module docstring): ``lam``, the spectrum noise, the rounding of ``lam * N``, the permutation."""
    check_fmix_options(alpha, decay_power, max_soft)
    if batch_size < 1 or height < 2 or width < 2:
        raise ValueError(
            f"FMix needs a non-empty batch of images at least 2x2, got {batch_size} of {height}x{width}"
        )
    mask_lam = float(rng.beta(alpha + 1, alpha) if reformulate else rng.beta(alpha, alpha))
    noise = rng.standard_normal((height, half_spectrum_width(width), 2))
    grey = normalized_grey_image(grey_image(noise, height, width, decay_power, reference_spectrum))
    mask = binarise(grey, mask_lam, bool(rng.random() > 0.5), max_soft)
    permutation = torch.from_numpy(rng.permutation(batch_size))
    lam = 1.0 if reformulate else mask_lam
    return FMixDraw(torch.from_numpy(mask.astype(np.float32)), lam, mask_lam, permutation)


def fmix(inputs: torch.Tensor, draw: FMixDraw) -> torch.Tensor:
    """``mask * x + (1 - mask) * x[permutation]`` over a (B, C, H, W) batch (any device)."""
    if tuple(inputs.shape[-2:]) != tuple(draw.mask.shape):
        raise ValueError(f"FMix mask is {tuple(draw.mask.shape)} but the images are {tuple(inputs.shape[-2:])}")
    mask = draw.mask.to(device=inputs.device, dtype=inputs.dtype, non_blocking=True)
    partners = inputs.index_select(0, draw.permutation.to(inputs.device, non_blocking=True))
    return mask * inputs + (1 - mask) * partners
