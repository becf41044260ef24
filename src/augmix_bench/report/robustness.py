"""Effective robustness (Taori et al. 2020): a run's accuracy on a natural-shift set above what the
runs of the standard method predict from its clean accuracy.

The baseline is a least-squares line through the runs of the standard method (augmentation
``standard``, every model and seed of the dataset) on logit-scaled axes, as Taori et al. fit it:
``logit(shift accuracy) = slope * logit(clean accuracy) + intercept``, accuracies as fractions
clipped to ``[CLIP, 1 - CLIP]``. A run's effective robustness is its shift accuracy minus the
line's prediction at its clean accuracy, in percentage points. No line is fitted through fewer
than ``MIN_FIT_RUNS`` standard runs, or through runs that all share one clean accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .aggregate import Group, run_metrics
from .collect import Run

#: The augmentation whose runs make the baseline.
BASELINE_METHOD = "standard"
#: The fewest baseline runs a line is fitted through.
MIN_FIT_RUNS = 2
#: Accuracies are clipped to [CLIP, 1 - CLIP] before the logit (0% and 100% have none).
CLIP = 1e-4


def logit(accuracy_percent: float) -> float:
    """``log(p / (1 - p))`` of an accuracy given in percent, clipped to [CLIP, 1 - CLIP]."""
    p = min(max(accuracy_percent / 100.0, CLIP), 1.0 - CLIP)
    return math.log(p / (1.0 - p))


def expit(value: float) -> float:
    """The inverse of ``logit``, in percent."""
    return 100.0 / (1.0 + math.exp(-value))


@dataclass(frozen=True)
class Fit:
    """The baseline line on logit axes through ``runs`` standard runs of one dataset and shift set."""

    slope: float
    intercept: float
    runs: int

    def predict(self, clean_accuracy: float) -> float:
        """The shift accuracy (percent) the line predicts at ``clean_accuracy`` (percent)."""
        return expit(self.slope * logit(clean_accuracy) + self.intercept)

    def describe(self) -> str:
        """E.g. ``logit(shift acc) = 0.912 · logit(clean acc) - 0.431, through 3 standard runs``."""
        sign = "-" if self.intercept < 0 else "+"
        return (f"logit(shift acc) = {self.slope:.3f} · logit(clean acc) {sign} {abs(self.intercept):.3f}, "
                f"through {self.runs} {BASELINE_METHOD} runs")


def accuracies(run: Run, shift: str) -> tuple[float, float] | None:
    """(clean accuracy, shift accuracy) of ``run`` in percent; None where it lacks either error."""
    metrics = run_metrics(run.results)
    clean, shifted = metrics.get("clean_error"), metrics.get(f"shift_error/{shift}")
    return None if clean is None or shifted is None else (100.0 - clean, 100.0 - shifted)


def fit_points(points: Sequence[tuple[float, float]]) -> Fit | None:
    """The least-squares line through (clean, shift) accuracies on logit axes; None for fewer than
    ``MIN_FIT_RUNS`` points or points that share one clean accuracy."""
    if len(points) < MIN_FIT_RUNS:
        return None
    xs = [logit(x) for x, _ in points]
    ys = [logit(y) for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0.0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread
    return Fit(slope, mean_y - slope * mean_x, len(points))


def baseline_points(groups: Sequence[Group], shift: str) -> list[tuple[float, float]]:
    """(clean, shift) accuracies of every standard run of ``groups`` that has both."""
    found = (accuracies(run, shift) for g in groups if g.augmentation == BASELINE_METHOD for run in g.runs)
    return [point for point in found if point is not None]


def baseline_fit(groups: Sequence[Group], shift: str) -> Fit | None:
    """The baseline line of one dataset's ``groups`` for ``shift`` (None: too few standard runs)."""
    return fit_points(baseline_points(groups, shift))


def effective_robustness(run: Run, shift: str, fit: Fit | None) -> float | None:
    """``run``'s shift accuracy minus ``fit``'s prediction (percentage points); None without a fit
    or without the run's clean or shift error."""
    point = accuracies(run, shift)
    if fit is None or point is None:
        return None
    return point[1] - fit.predict(point[0])


def no_fit_reason(groups: Sequence[Group], shift: str) -> str:
    """Why ``baseline_fit`` gives no line, e.g. ``1 standard run with a clean error and an error on cifar10_1
    (a fit needs 2 with different clean errors)``."""
    count = len(baseline_points(groups, shift))
    return (f"{count} {BASELINE_METHOD} run{'s' if count != 1 else ''} with a clean error and an error on {shift} "
            f"(a fit needs {MIN_FIT_RUNS} with different clean errors)")
