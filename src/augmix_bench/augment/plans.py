"""Training plans: from an augmentation's options to the training dataset and objective.

Every ``configs/augmentation/*.yaml`` names one of the plan builders below with ``_target_``; the
tool calls it with the benchmark and the run's seed plus the config's options. A plan builder of
the user's own (any function with the same arguments returning a ``TrainingPlan``) plugs in the
same way. ``per_image_transform`` turns any per-image transform into a plan, with or without
AugMix's Jensen-Shannon consistency loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .augmix import AugMix, Normalize
from .baselines import Cutout, RestrictedAutoAugment
from .batched import BatchedAugMix
from .tensor_views import TensorViews
from .transforms import RandomChain, SeededTransform, TransformView, transform_name
from .views import (
    AugMixViews,
    ImageTransform,
    PerSampleRandomDataset,
    StandardViews,
    TensorTransform,
)
from ..data.benchmark import Benchmark
from ..errors import UserError
from ..options import accepted_arguments, check_options
from .objectives import (
    AdversarialTraining,
    CrossEntropy,
    CutMix,
    JensenShannonConsistency,
    Mixup,
    Objective,
)


@dataclass
class TrainingPlan:
    """What a training run iterates over and what it minimizes.

    ``dataset`` makes the inputs in data-loader workers (PIL); ``tensor_views`` makes the same
    inputs from uint8 batches on the training device (the ``gpu`` and ``hybrid`` data pipelines),
    None where an augmentation has no tensor implementation.
    """

    dataset: PerSampleRandomDataset
    objective: Objective
    tensor_views: TensorViews | None = None


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
    name: str,
    options: dict[str, Any],
    constructor: Callable[..., Any],
    exclude: Sequence[str] = (),
    also: Sequence[str] = (),
) -> None:
    """Refuse options that are not arguments of ``constructor`` (besides ``exclude``); the plan's
    own keyword arguments ``also`` are listed among the accepted ones."""
    check_options(f"augmentation {name!r}", options, [*also, *accepted_arguments(constructor, exclude=exclude)])


def _clean_tensor_views(benchmark: Benchmark) -> TensorViews:
    """The device twin of a single flip/crop view (batch-level baselines mix or attack it later)."""
    return TensorViews(benchmark.mean, benchmark.std)


def _views(
    benchmark: Benchmark,
    seed: int,
    view: Callable[[Image.Image, Any], Any],
    jsd: bool,
    jsd_lambda: float,
) -> tuple[PerSampleRandomDataset, Objective]:
    """Samples of ``view`` and their objective: (clean, view, view) with the JSD loss, else one view
    with cross-entropy, exactly as AugMix's training step."""
    dataset = AugMixViews(
        benchmark.train_set(),
        Normalize(benchmark.mean, benchmark.std),
        view,
        jsd=jsd,
        spatial=benchmark.train_spatial(),
        seed=seed,
    )
    objective: Objective = JensenShannonConsistency(jsd_lambda) if jsd else CrossEntropy()
    return dataset, objective


def standard(benchmark: Benchmark, seed: int) -> TrainingPlan:
    """The "Standard" baseline: flip and crop only, cross-entropy."""
    return TrainingPlan(_single_view(benchmark, seed), CrossEntropy(), _clean_tensor_views(benchmark))


def cutout(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """Cutout after the flip/crop (options: ``Cutout``'s)."""
    _check_options_of("cutout", options, Cutout.__init__)
    return TrainingPlan(_single_view(benchmark, seed, tensor_augment=Cutout(**options)), CrossEntropy())


def autoaugment(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """The paper's AutoAugment* after the flip/crop (options: ``RestrictedAutoAugment``'s)."""
    _check_options_of("autoaugment", options, RestrictedAutoAugment.__init__)
    return TrainingPlan(
        _single_view(benchmark, seed, image_augment=RestrictedAutoAugment(**options)), CrossEntropy()
    )


def mixup(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """Mixup of each batch with a permutation of itself (options: ``Mixup``'s)."""
    _check_options_of("mixup", options, Mixup.__init__)
    return TrainingPlan(_single_view(benchmark, seed), Mixup(**options), _clean_tensor_views(benchmark))


def cutmix(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """CutMix of each batch with a permutation of itself (options: ``CutMix``'s)."""
    _check_options_of("cutmix", options, CutMix.__init__)
    return TrainingPlan(_single_view(benchmark, seed), CutMix(**options), _clean_tensor_views(benchmark))


def adversarial(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """PGD adversarial training (options: ``AdversarialTraining``'s, budgets on the [0, 1] scale)."""
    _check_options_of("adversarial", options, AdversarialTraining.__init__, ["mean", "std"])
    objective = AdversarialTraining(mean=benchmark.mean, std=benchmark.std, **options)
    return TrainingPlan(_single_view(benchmark, seed), objective, _clean_tensor_views(benchmark))


def augmix(
    benchmark: Benchmark, seed: int, jsd: bool = True, jsd_lambda: float = 12.0, **options: Any
) -> TrainingPlan:
    """AugMix views (options: ``AugMix``'s), with the Jensen-Shannon loss when ``jsd``."""
    _check_options_of("augmix", options, AugMix.__init__, ["mean", "std", "seed"], ["jsd", "jsd_lambda"])
    view = AugMix(mean=benchmark.mean, std=benchmark.std, **options)
    dataset, objective = _views(benchmark, seed, view, bool(jsd), float(jsd_lambda))
    batched = BatchedAugMix(mean=benchmark.mean, std=benchmark.std, **options)
    return TrainingPlan(dataset, objective, TensorViews(benchmark.mean, benchmark.std, batched, bool(jsd)))


def per_image_transform(
    benchmark: Benchmark,
    seed: int,
    transform: Callable[[Image.Image], Any],
    jsd: bool = False,
    jsd_lambda: float = 12.0,
) -> TrainingPlan:
    """Any per-image transform (PIL -> PIL) after the flip/crop: one transformed view with
    cross-entropy, or with ``jsd`` the clean view and two independently transformed views with
    the Jensen-Shannon consistency loss."""
    view = TransformView(SeededTransform(transform), benchmark.mean, benchmark.std)
    dataset, objective = _views(benchmark, seed, view, bool(jsd), float(jsd_lambda))
    _probe_transform(dataset, transform)
    return TrainingPlan(dataset, objective)


def _probe_transform(dataset: PerSampleRandomDataset, transform: Callable[[Image.Image], Any]) -> None:
    """Make the first training sample now, so that a transform that fails on a training image or
    returns something else than an image is refused in one line before training, not in a worker."""
    try:
        dataset[0]
    except UserError:
        raise
    except Exception as exc:  # the user's transform: whatever it raises, it cannot train
        reason = " ".join(str(exc).split()) or "no message"
        raise UserError(
            f"augmentation.transform {transform_name(transform)} fails on the first training image "
            f"({type(exc).__name__}: {reason}); accepted: a transform of a PIL image"
        ) from None


def random_aa(
    benchmark: Benchmark, seed: int, jsd: bool = False, jsd_lambda: float = 12.0, **options: Any
) -> TrainingPlan:
    """The ablation's "Random AA": one random AugMix op chain per view, no mixing
    (options: ``RandomChain``'s), with the Jensen-Shannon loss when ``jsd``."""
    _check_options_of("random_aa", options, RandomChain.__init__, also=["jsd", "jsd_lambda"])
    view = TransformView(RandomChain(**options), benchmark.mean, benchmark.std)
    dataset, objective = _views(benchmark, seed, view, bool(jsd), float(jsd_lambda))
    return TrainingPlan(dataset, objective)
