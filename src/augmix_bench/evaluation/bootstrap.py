"""Percentile bootstrap intervals over test images for a single run's error rates.

One run's error on a test set is a mean over its images; resampling the images with replacement
(``RESAMPLES`` times, generator ``numpy.random.default_rng(BOOTSTRAP_SEED)``, one row of
``n`` indices ``rng.integers(0, n, n)`` per resample) and taking the 2.5th and 97.5th percentiles
(numpy's default linear interpolation) of the resampled means gives the 95% interval.
docs/benchmarks.md describes where ``results.json`` stores it.
"""

from __future__ import annotations

import numpy as np

#: Bootstrap resamples per interval.
RESAMPLES = 1000
#: Seed of the resampling generator (every interval of every run uses it).
BOOTSTRAP_SEED = 0
#: Coverage of the interval.
LEVEL = 0.95
#: Resamples drawn per block (bounds the index array to ``CHUNK x n`` at a time).
CHUNK = 50


def error_interval(
    wrong: np.ndarray, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = LEVEL
) -> list[float] | None:
    """The percentile bootstrap interval ``[low, high]`` (percent) of the mean of ``wrong``.

    ``wrong`` holds one value per test image: 1.0 / 0.0 for a misclassified / correct image, or
    (for a headline averaged over several sets of the same images) the fraction of those sets in
    which the image is misclassified. None for an empty set.
    """
    values = np.asarray(wrong, dtype=np.float64)
    n = len(values)
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        rows = min(CHUNK, resamples - start)
        means[start:start + rows] = values[rng.integers(0, n, size=(rows, n))].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return [100.0 * float(low), 100.0 * float(high)]


def paired_wrong(
    correct: list[np.ndarray], labels: list[np.ndarray], weights: list[float] | None = None
) -> np.ndarray | None:
    """Per image, the fraction of the sets in which it is misclassified (with ``weights``: the
    weighted sum over the sets of 1 / 0 for misclassified / correct), for sets of the same images
    in the same order (each -C corruption x severity block); None when the sets differ in size or
    labels (they cannot be paired image by image) or there are none."""
    if not correct or any(len(c) != len(correct[0]) for c in correct):
        return None
    if any(not np.array_equal(lab, labels[0]) for lab in labels[1:]):
        return None
    right = np.stack([c.astype(np.float64) for c in correct])
    if weights is None:
        return 1.0 - right.mean(axis=0)
    return np.asarray(weights, dtype=np.float64) @ (1.0 - right)
