"""Robustness and calibration metrics (REFERENCE.md section 5). Inputs and outputs are fractions
unless a docstring says percent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


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
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    total = len(confidence)
    if total == 0:
        return 0.0
    order = np.argsort(confidence)
    confidence, correct = confidence[order], correct[order]
    starts = list(range(0, max(total // bin_size, 1) * bin_size, bin_size))
    ends = starts[1:] + [total]
    if reference_quirk:
        starts, ends = starts[:-1], ends[:-1]
    squared = 0.0
    for start, end in zip(starts, ends):
        gap = confidence[start:end].mean() - correct[start:end].mean()
        squared += (end - start) / total * gap**2
    return float(np.sqrt(squared))


def mean_corruption_error(errors: Mapping[str, Sequence[float]]) -> float:
    """Unnormalized mean corruption error (CIFAR): mean over corruptions of the mean over severities."""
    return float(np.mean([np.mean(per_severity) for per_severity in errors.values()]))
