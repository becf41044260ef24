"""From an ``augmentation`` config to the training dataset and objective.

Each entry of ``AUGMENTATIONS`` takes the augmentation's options (the config without ``name``),
the benchmark and the run's seed, and returns a ``TrainingPlan``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .augment.augmix import AugMix, Normalize
from .augment.baselines import Cutout, RestrictedAutoAugment
from .augment.batched import BatchedAugMix
from .augment.tensor_views import PixelSamples, TensorViews
from .augment.views import AugMixViews, ImageTransform, PerSampleRandomDataset, StandardViews, TensorTransform
from .data.benchmark import Benchmark
from .errors import UserError
from .objectives import (
    AdversarialTraining,
    CrossEntropy,
    CutMix,
    JensenShannonConsistency,
    Mixup,
    Objective,
)
from .options import accepted_arguments, check_options


#: Accepted values of ``augmentation.device``: where the AugMix views are made.
AUGMENTATION_DEVICES: tuple[str, ...] = ("cpu", "gpu")


@dataclass
class TrainingPlan:
    """What a training run iterates over and what it minimizes.

    ``tensor_views`` makes the same inputs as ``dataset`` from uint8 batches on the device (the
    GPU pipelines; None where an augmentation has no tensor implementation); ``views_on_device``
    (``augmentation.device=gpu``) means ``dataset`` yields the uint8 pixels and ``tensor_views``
    makes the views.
    """

    dataset: PerSampleRandomDataset
    objective: Objective
    tensor_views: TensorViews | None = None
    views_on_device: bool = False


def _single_view(
    benchmark: Benchmark,
    seed: int,
    image_augment: ImageTransform | None = None,
    tensor_augment: TensorTransform | None = None,
) -> StandardViews:
    """Flip/crop, the optional sample-level augmentations, normalization: one view per sample."""
    return StandardViews(
        benchmark.train_set(),
        Normalize(benchmark.mean, benchmark.std),
        benchmark.train_spatial(),
        seed,
        image_augment=image_augment,
        tensor_augment=tensor_augment,
    )


def _check_options_of(
    name: str, options: dict[str, Any], constructor: Callable[..., Any], exclude: Sequence[str] = ()
) -> None:
    """Refuse options that are not arguments of ``constructor`` (besides ``exclude``)."""
    check_options(f"augmentation {name!r}", options, accepted_arguments(constructor, exclude=exclude))


def _clean_tensor_views(benchmark: Benchmark) -> TensorViews:
    """The device twin of a single flip/crop view (batch-level baselines mix or attack it later)."""
    return TensorViews(benchmark.mean, benchmark.std)


def _standard(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    check_options("augmentation 'standard'", options, [])
    return TrainingPlan(_single_view(benchmark, seed), CrossEntropy(), _clean_tensor_views(benchmark))


def _cutout(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    _check_options_of("cutout", options, Cutout.__init__)
    return TrainingPlan(_single_view(benchmark, seed, tensor_augment=Cutout(**options)), CrossEntropy())


def _autoaugment(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    _check_options_of("autoaugment", options, RestrictedAutoAugment.__init__)
    autoaugment = RestrictedAutoAugment(**options)
    return TrainingPlan(_single_view(benchmark, seed, image_augment=autoaugment), CrossEntropy())


def _mixup(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    _check_options_of("mixup", options, Mixup.__init__)
    return TrainingPlan(_single_view(benchmark, seed), Mixup(**options), _clean_tensor_views(benchmark))


def _cutmix(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    _check_options_of("cutmix", options, CutMix.__init__)
    return TrainingPlan(_single_view(benchmark, seed), CutMix(**options), _clean_tensor_views(benchmark))


def _adversarial(options: dict[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    _check_options_of("adversarial", options, AdversarialTraining.__init__, ["mean", "std"])
    objective = AdversarialTraining(mean=benchmark.mean, std=benchmark.std, **options)
    return TrainingPlan(_single_view(benchmark, seed), objective, _clean_tensor_views(benchmark))


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
    "augmix_no_jsd": _augmix,  # the ablation's AugmentAndMix: its config sets jsd: false
    "cutout": _cutout,
    "mixup": _mixup,
    "cutmix": _cutmix,
    "autoaugment": _autoaugment,
    "adversarial": _adversarial,
}


def build_training_plan(augmentation: Mapping[str, Any], benchmark: Benchmark, seed: int) -> TrainingPlan:
    """The training dataset and objective of ``augmentation`` (a config with a ``name``)."""
    options = dict(augmentation)
    name = options.pop("name", None)
    if name not in AUGMENTATIONS:
        raise UserError(f"unknown augmentation {name!r}; choose from: {', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name](options, benchmark, seed)
