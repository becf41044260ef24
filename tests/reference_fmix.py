"""An independent transcription of the reference FMix for the tests.

From ecs-vlc/FMix@e5991dca018882734c8ea63599f10dfbe67fa0ae (fmix.py and the torchbearer loss), written
without the package's code and without NumPy's FFT: the frequencies are spelled out per bin, the
inverse real FFT is an explicit sum of complex exponentials (DFT matrices) (with ``irfftn``'s zero padding and
truncation of the input to ``(height, width // 2 + 1)`` done by hand), and the binarisation ranks
pixels with Python's ``sorted``.
"""

from __future__ import annotations

import math
import random

import numpy as np


def reference_fftfreq(n: int) -> list[float]:
    """``numpy.fft.fftfreq(n)`` by its definition: 0, 1, ..., then the negative frequencies, over n."""
    positive = (n - 1) // 2 + 1
    return [i / n if i < positive else (i - n) / n for i in range(n)]


def reference_columns(width: int) -> int:
    """The reference keeps ``fftfreq(width)[: width // 2 + 1]`` (even) or ``[: width // 2 + 2]`` (odd)."""
    keep = width // 2 + 1 if width % 2 == 0 else width // 2 + 2
    return len(reference_fftfreq(width)[:keep])


def reference_frequencies(height: int, width: int) -> np.ndarray:
    """fftfreqnd(height, width): the magnitude sqrt(fx^2 + fy^2) per (row, column) bin."""
    fys = reference_fftfreq(height)
    fxs = reference_fftfreq(width)[: reference_columns(width)]
    return np.array([[math.sqrt(fx * fx + fy * fy) for fx in fxs] for fy in fys])


def reference_scale(height: int, width: int, decay_power: float) -> np.ndarray:
    """get_spectrum's scale: 1 / max(freq, 1 / max(w, h)) ** decay_power."""
    freqs = reference_frequencies(height, width)
    lowest = 1.0 / max(width, height)
    return np.array([[1.0 / max(f, lowest) ** decay_power for f in row] for row in freqs])


def _inverse_real_dft(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """irfftn(coefficients, (height, width)) for a 2-D complex array, as an explicit sum.

    The input is zero padded or truncated to (height, width // 2 + 1); column ``kx`` then counts once
    for kx = 0 (and for the Nyquist column of an even width), twice otherwise, and only the real part
    of each term survives.
    """
    columns = width // 2 + 1
    padded = np.zeros((height, columns), dtype=complex)
    rows_in = min(height, coefficients.shape[0])
    cols_in = min(columns, coefficients.shape[1])
    padded[:rows_in, :cols_in] = coefficients[:rows_in, :cols_in]
    weights = np.array([1.0 if kx == 0 or (width % 2 == 0 and kx == width // 2) else 2.0 for kx in range(columns)])
    rows = np.exp(2j * np.pi * np.outer(np.arange(height), np.arange(height)) / height)  # [y, ky]
    cols = np.exp(2j * np.pi * np.outer(np.arange(columns), np.arange(width)) / width)  # [kx, x]
    image = np.real(rows @ (padded * weights[None, :]) @ cols)
    return image / (height * width)


def reference_grey(
    noise: np.ndarray, height: int, width: int, decay_power: float, reference_spectrum: bool = True
) -> np.ndarray:
    """make_low_freq_image for ``noise`` of shape (height, columns, 2), unnormalized.

    ``reference_spectrum``: the reference's ``spectrum[:, 0] + 1j * spectrum[:, 1]`` on the
    (1, height, columns, 2) array, i.e. rows 0 and 1 become real and imaginary parts of a
    (columns, 2) array; otherwise the last axis holds the real and imaginary parts.
    """
    scale = reference_scale(height, width, decay_power)
    spectrum = noise * scale[:, :, None]
    if reference_spectrum:
        coefficients = spectrum[0, :, :] + 1j * spectrum[1, :, :]
    else:
        coefficients = spectrum[:, :, 0] + 1j * spectrum[:, :, 1]
    return _inverse_real_dft(coefficients, height, width)


def reference_normalize(grey: np.ndarray) -> np.ndarray:
    """mask - min, then divided by the new max."""
    low = grey.min()
    shifted = grey - low
    return shifted / shifted.max()


def reference_binarise(grey: np.ndarray, lam: float, round_up: bool, max_soft: float = 0.0) -> np.ndarray:
    """binarise_mask: rank pixels from brightest, 1 for the first ``num``, linear ramp of 2 * soft
    pixels around rank ``num`` when ``max_soft`` > 0."""
    values = grey.reshape(-1).tolist()
    size = len(values)
    ranked = sorted(range(size), key=lambda i: values[i], reverse=True)
    num = math.ceil(lam * size) if round_up else math.floor(lam * size)
    eff_soft = max_soft
    if max_soft > lam or max_soft > 1 - lam:
        eff_soft = min(lam, 1 - lam)
    soft = int(size * eff_soft)
    out = [0.0] * size
    for rank, pixel in enumerate(ranked):
        if rank < num - soft:
            out[pixel] = 1.0
        elif rank < num + soft:
            span = 2 * soft
            out[pixel] = 1.0 - (rank - (num - soft)) / (span - 1) if span > 1 else 1.0
    return np.array(out).reshape(grey.shape)


def reference_sample_mask(
    np_random: np.random.RandomState,
    py_random: random.Random,
    alpha: float,
    decay_power: float,
    height: int,
    width: int,
    max_soft: float = 0.0,
    reformulate: bool = False,
) -> tuple[float, np.ndarray, bool]:
    """sample_mask with the reference's generators: lam and the noise from NumPy's (scipy's
    ``beta.rvs`` draws ``RandomState.beta``), the rounding coin from Python's ``random``.
    Returns (lam, mask, rounded_up)."""
    lam = float(np_random.beta(alpha + 1, alpha) if reformulate else np_random.beta(alpha, alpha))
    noise = np_random.randn(1, height, reference_columns(width), 2)[0]
    grey = reference_normalize(reference_grey(noise, height, width, decay_power))
    round_up = py_random.random() > 0.5
    return lam, reference_binarise(grey, lam, round_up, max_soft), round_up


def reference_mix_batch(x: np.ndarray, mask: np.ndarray, index: np.ndarray) -> np.ndarray:
    """sample_and_apply's mixing, image by image: x * mask + x[index] * (1 - mask)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * mask + x[index[i]] * (1 - mask)
    return out
