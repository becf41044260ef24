"""From an ``augmentation`` config to the training dataset and objective.

Each entry of ``AUGMENTATIONS`` takes the augmentation's options (the config without ``name``),
the benchmark and the run's seed, and returns a ``TrainingPlan``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .augment.augmix import AugMix, Normalize
from .augment.views import AugMixViews, PerSampleRandomDataset, StandardViews
from .data.benchmark import Benchmark
from .errors import UserError
from .options import accepted_arguments, check_options
from .objectives import CrossEntropy, JensenShannonConsistency, Objective


@dataclass
class TrainingPlan:
    """What a training run iterates over and what it minimizes."""

    dataset: PerSampleRandomDataset
    objective: Objective


def _standard(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    check_options("augmentation 'standard'", options, [])
    dataset = StandardViews(
        benchmark.train_set(), Normalize(benchmark.mean, benchmark.std), benchmark.train_spatial(), seed
    )
    return TrainingPlan(dataset, CrossEntropy())


def _augmix(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    augmix_args = accepted_arguments(AugMix.__init__, exclude=["mean", "std", "seed"])
    check_options("augmentation 'augmix'", options, ["jsd", "jsd_lambda", *augmix_args])
    jsd = bool(options.pop("jsd", True))
    jsd_lambda = float(options.pop("jsd_lambda", 12.0))
    augmix = AugMix(mean=benchmark.mean, std=benchmark.std, **options)
    dataset = AugMixViews(
        benchmark.train_set(),
        Normalize(benchmark.mean, benchmark.std),
        augmix,
        jsd=jsd,
        spatial=benchmark.train_spatial(),
        seed=seed,
    )
    objective: Objective = JensenShannonConsistency(jsd_lambda) if jsd else CrossEntropy()
    return TrainingPlan(dataset, objective)


AUGMENTATIONS: dict[str, Callable[[dict[str, Any], Benchmark, int], TrainingPlan]] = {
    "standard": _standard,
    "augmix": _augmix,
}


def build_training_plan(augmentation: Mapping[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    """The training dataset and objective of ``augmentation`` (a config with a ``name``)."""
    options = dict(augmentation)
    name = options.pop("name", None)
    if name not in AUGMENTATIONS:
        raise UserError(f"unknown augmentation {name!r}; choose from: {', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name](options, benchmark, seed)
