"""From an ``augmentation`` config to the training dataset and objective.

Each entry of ``AUGMENTATIONS`` takes the augmentation's options (the config without ``name``),
the benchmark and the run's seed, and returns a ``TrainingPlan``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .augment.augmix import AugMix, Normalize
from .augment.batched import BatchedAugMix
from .augment.tensor_views import PixelSamples, TensorViews
from .augment.views import AugMixViews, PerSampleRandomDataset, StandardViews
from .data.benchmark import Benchmark
from .errors import UserError
from .options import accepted_arguments, check_options
from .objectives import CrossEntropy, JensenShannonConsistency, Objective


#: Accepted values of ``augmentation.device``: where the AugMix views are made.
AUGMENTATION_DEVICES: tuple[str, ...] = ("cpu", "gpu")


@dataclass
class TrainingPlan:
    """What a training run iterates over and what it minimizes.

    ``tensor_views`` makes the same inputs as ``dataset`` from uint8 batches on the device (the
    GPU pipelines); ``views_on_device`` (``augmentation.device=gpu``) means ``dataset`` yields
    the uint8 pixels and ``tensor_views`` makes the views.
    """

    dataset: PerSampleRandomDataset
    objective: Objective
    tensor_views: TensorViews | None = None
    views_on_device: bool = False


def _standard(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    check_options("augmentation 'standard'", options, [])
    dataset = StandardViews(
        benchmark.train_set(), Normalize(benchmark.mean, benchmark.std), benchmark.train_spatial(), seed
    )
    return TrainingPlan(dataset, CrossEntropy(), TensorViews(benchmark.mean, benchmark.std))


def _augmix(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    augmix_args = accepted_arguments(AugMix.__init__, exclude=["mean", "std", "seed"])
    check_options("augmentation 'augmix'", options, ["jsd", "jsd_lambda", "device", *augmix_args])
    jsd = bool(options.pop("jsd", True))
    jsd_lambda = float(options.pop("jsd_lambda", 12.0))
    device = options.pop("device", "cpu")
    if device not in AUGMENTATION_DEVICES:
        accepted = ", ".join(AUGMENTATION_DEVICES)
        raise UserError(f"augmentation.device={device!r} is invalid; choose from: {accepted}")
    augmix = AugMix(mean=benchmark.mean, std=benchmark.std, **options)
    tensor_views = TensorViews(
        benchmark.mean, benchmark.std, BatchedAugMix(mean=benchmark.mean, std=benchmark.std, **options), jsd
    )
    if device == "gpu":
        dataset: PerSampleRandomDataset = PixelSamples(benchmark.train_set(), benchmark.train_spatial(), seed)
    else:
        dataset = AugMixViews(
            benchmark.train_set(),
            Normalize(benchmark.mean, benchmark.std),
            augmix,
            jsd=jsd,
            spatial=benchmark.train_spatial(),
            seed=seed,
        )
    objective: Objective = JensenShannonConsistency(jsd_lambda) if jsd else CrossEntropy()
    return TrainingPlan(dataset, objective, tensor_views, views_on_device=device == "gpu")


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
