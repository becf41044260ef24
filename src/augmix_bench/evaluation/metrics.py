"""Robustness and calibration metrics (REFERENCE.md section 5). Inputs and outputs are fractions
unless a docstring says percent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import alexnet
from ..data.names import CORRUPTIONS, SEVERITIES
from ..errors import UserError


def error_rate(correct: np.ndarray) -> float:
    """Top-1 error: the fraction of ``correct`` that is false (0.0 for an empty array)."""
    correct = np.asarray(correct, dtype=bool)
    return float(1.0 - correct.mean()) if correct.size else 0.0


def rms_calibration_error(
    confidence: np.ndarray,
    correct: np.ndarray,
    bin_size: int = 100,
    reference_quirk: bool = False,
) -> float:
    """RMS calibration error (a fraction) with adaptive, equal-mass bins (Hendrycks' reference).

    Samples are sorted by confidence; bins hold ``bin_size`` consecutive samples, the last bin
    extended to the end. ``RMS = sqrt(sum_b (n_b / N) * (mean_conf_b - acc_b)^2)``.

    ``reference_quirk=True`` reproduces the reference code, whose loop skips the last
    (highest-confidence) bin. With fewer than ``bin_size`` samples there is one bin (and the
    quirk, skipping it, gives 0).
    """
    bins = _equal_mass_bins(confidence, correct, bin_size)
    if reference_quirk:
        bins = bins[:-1]
    total = len(np.asarray(confidence))
    squared = sum(count / total * (mean_confidence - accuracy) ** 2 for mean_confidence, accuracy, count in bins)
    return float(np.sqrt(squared))


def calibration_bins(confidence: np.ndarray, correct: np.ndarray, bin_size: int = 100) -> dict[str, list]:
    """The equal-mass bins of ``rms_calibration_error`` (same sorting and bin edges), for a reliability diagram.

    Returns lists ``confidence`` (mean confidence per bin), ``accuracy`` (fraction correct per bin)
    and ``count`` (samples per bin), from the least to the most confident bin; empty for no samples.
    """
    bins = _equal_mass_bins(confidence, correct, bin_size)
    return {
        "confidence": [float(b[0]) for b in bins],
        "accuracy": [float(b[1]) for b in bins],
        "count": [int(b[2]) for b in bins],
    }


def _equal_mass_bins(confidence: np.ndarray, correct: np.ndarray, bin_size: int) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of each equal-mass bin, least confident first.

    Samples are sorted by confidence; bins hold ``bin_size`` consecutive samples, the last bin
    extended to the end (one bin with fewer than ``bin_size`` samples, none with no samples).
    """
    if bin_size < 1:
        raise ValueError(f"bin_size={bin_size} is invalid; accepted: an integer >= 1")
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    total = len(confidence)
    if total == 0:
        return []
    order = np.argsort(confidence)
    confidence, correct = confidence[order], correct[order]
    starts = list(range(0, max(total // bin_size, 1) * bin_size, bin_size))
    ends = starts[1:] + [total]
    return [
        (float(confidence[start:end].mean()), float(correct[start:end].mean()), end - start)
        for start, end in zip(starts, ends)
    ]


def mean_corruption_error(errors: Mapping[str, Sequence[float]]) -> float:
    """Unnormalized mean corruption error (CIFAR): mean over corruptions of the mean over severities."""
    return float(np.mean([np.mean(per_severity) for per_severity in errors.values()]))


def _severity_errors(errors: Mapping[str, Sequence[float]], corruptions: Sequence[str]) -> np.ndarray:
    """(corruption, severity) errors of ``corruptions`` from ``errors``; a ``UserError`` if any is absent."""
    rows = []
    for corruption in corruptions:
        if corruption not in errors:
            raise UserError(
                f"no errors for corruption {corruption!r}; expected all of: {', '.join(corruptions)}"
            )
        row = np.asarray(errors[corruption], dtype=np.float64)
        if row.shape != (len(SEVERITIES),):
            raise UserError(
                f"{corruption}: expected {len(SEVERITIES)} severity errors, found shape {row.shape}"
            )
        rows.append(row)
    return np.stack(rows)


def corruption_errors(
    errors: Mapping[str, Sequence[float]],
    baseline: Mapping[str, float] = alexnet.CORRUPTION_ERRORS,
) -> dict[str, float]:
    """AlexNet-normalized corruption error CE_c (percent) of every corruption in ``baseline``.

    ``CE_c = sum_s E_cs / sum_s E^AlexNet_cs``; ``baseline`` holds AlexNet's mean over severities, so
    the denominator is five times it. ``errors`` maps corruptions to their five severity errors.
    """
    names = list(baseline)
    table = _severity_errors(errors, names)
    return {
        name: 100.0 * float(row.sum() / (len(SEVERITIES) * baseline[name])) for name, row in zip(names, table)
    }


def mce(errors: Mapping[str, Sequence[float]]) -> float:
    """ImageNet-C mCE (percent): the mean of the 15 benchmark corruptions' AlexNet-normalized CE.

    ``errors`` maps each of ``CORRUPTIONS`` to its five severity errors (fractions); other entries
    (the held-out corruptions) are ignored.
    """
    ce = corruption_errors(errors, {c: alexnet.CORRUPTION_ERRORS[c] for c in CORRUPTIONS})
    return float(np.mean(list(ce.values())))


def relative_corruption_errors(
    errors: Mapping[str, Sequence[float]],
    clean_error: float,
    baseline: Mapping[str, float] = alexnet.CORRUPTION_ERRORS,
    baseline_clean_error: float = alexnet.CLEAN_ERROR,
) -> dict[str, float]:
    """Relative CE_c (percent): ``sum_s (E_cs - E_clean) / sum_s (E^AlexNet_cs - E^AlexNet_clean)``.

    It measures how much accuracy a corruption costs relative to the clean error, normalized by what
    it costs AlexNet. ``clean_error`` is the model's clean error (fraction).
    """
    names = list(baseline)
    table = _severity_errors(errors, names)
    count = len(SEVERITIES)
    degradation = table.sum(axis=1) - count * clean_error
    baseline_degradation = count * (np.array([baseline[n] for n in names]) - baseline_clean_error)
    return {name: 100.0 * float(d / b) for name, d, b in zip(names, degradation, baseline_degradation)}


def relative_mce(errors: Mapping[str, Sequence[float]], clean_error: float) -> float:
    """Relative mCE (percent): the mean relative CE of the 15 benchmark corruptions.

    AlexNet's clean error (``alexnet.CLEAN_ERROR``) is approximate, so relative mCE is too (in its
    last digits).
    """
    baseline = {c: alexnet.CORRUPTION_ERRORS[c] for c in CORRUPTIONS}
    return float(np.mean(list(relative_corruption_errors(errors, clean_error, baseline).values())))


def _frame_pairs(values: np.ndarray, noise: bool) -> tuple[np.ndarray, np.ndarray]:
    """(earlier, later) frames compared in each sequence: consecutive ones, or the first with every
    later one for noise perturbations."""
    if values.ndim < 2 or values.shape[1] < 2:
        raise UserError(
            f"expected (sequences, frames, ...) with at least 2 frames, found shape {values.shape}"
        )
    earlier = np.broadcast_to(values[:, :1], values[:, 1:].shape) if noise else values[:, :-1]
    return earlier, values[:, 1:]


def flip_probability(predictions: np.ndarray, noise: bool = False) -> float:
    """Flip probability (fraction) of top-1 ``predictions`` of shape (sequences, frames).

    The fraction of compared frame pairs whose prediction differs, averaged per sequence and then
    over sequences (every sequence has as many pairs, so this is the mean over all pairs). Pairs are
    consecutive frames, or with ``noise=True`` the first frame and each later one (REFERENCE.md
    section 5; the reference evaluation at difficulty 1).
    """
    earlier, later = _frame_pairs(np.asarray(predictions), noise)
    return float(np.mean(earlier != later))


def top5_distance(top5: np.ndarray, noise: bool = False) -> float:
    """Top-5 distance (T5D) of per-frame top-5 class indices of shape (sequences, frames, 5), best first.

    Hendrycks & Dietterich (2019) compare the rankings of two frames through
    ``sigma = tau(x)^-1 tau(x')``: ``sigma(i)`` is the rank in the later frame of the class ranked
    ``i`` in the earlier one. The distance is
    ``d = sum_{i=1..5} sum_{j=min(i, sigma(i))+1..max(i, sigma(i))} 1(1 <= j - 1 <= 5)``,
    which equals ``sum_{i=1..5} |i - min(sigma(i), 6)|``: only whether and where the earlier top-5
    classes appear in the later top-5 matters, so the top-5 indices determine it. It is 0 for an
    unchanged top-5 and 15 for disjoint ones. Frames are paired as in ``flip_probability`` and the
    distance is averaged like it.
    """
    top5 = np.asarray(top5)
    if top5.ndim != 3 or top5.shape[2] != 5:
        raise UserError(f"expected top-5 indices of shape (sequences, frames, 5), found {top5.shape}")
    earlier, later = _frame_pairs(top5, noise)
    matches = earlier[..., :, None] == later[..., None, :]
    later_rank = np.where(matches.any(axis=-1), matches.argmax(axis=-1) + 1, 6)
    distances = np.abs(np.arange(1, 6) - later_rank).sum(axis=-1)
    return float(distances.mean())


def normalized_mean(values: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """Mean over ``baseline``'s keys of ``values[k] / baseline[k]``, in percent (mFR, mT5D).

    ImageNet-P's mFR divides each perturbation's flip probability by AlexNet's and averages; mT5D
    does the same with top-5 distances.
    """
    missing = [k for k in baseline if k not in values]
    if missing:
        raise UserError(f"no value for {missing[0]!r}; expected all of: {', '.join(baseline)}")
    return 100.0 * float(np.mean([values[k] / baseline[k] for k in baseline]))
