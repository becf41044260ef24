"""Training plans: from an augmentation's options to the training dataset and objective.

Every ``configs/augmentation/*.yaml`` names one of the plan builders below with ``_target_``; the
tool calls it with the benchmark and the run's seed plus the config's options. A plan builder of
the user's own (any function with the same arguments returning a ``TrainingPlan``) plugs in the
same way. ``per_image_transform`` turns any per-image transform into a plan, with or without
AugMix's Jensen-Shannon consistency loss. The successors of AugMix (PRIME, PixMix, FMix,
TrivialAugment, RandAugment) are built here too; ``preflight`` checks what their options name
outside the config (the mixing-set folder) and how their options fit together, before any work.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image
from torchvision.transforms import RandAugment, TrivialAugmentWide

from .augmix import AugMix, Normalize
from .baselines import Cutout, RestrictedAutoAugment
from .batched import BatchedAugMix
from .pixmix import PIXMIX_SETTINGS, MixingSet, PixMix, check_mixing_set
from .prime import PRIMITIVES, PRIME
from .prime_views import BatchedPrime, PrimeSamples
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
from ..schema import check
from .objectives import (
    AdversarialTraining,
    CrossEntropy,
    CutMix,
    FMix,
    JensenShannonConsistency,
    Mixup,
    Objective,
)


@dataclass
class TrainingPlan:
    """What a training run iterates over and what it minimizes.

    ``dataset`` makes the inputs in data-loader workers (PIL); ``tensor_views`` makes the same
    inputs from uint8 batches on the training device (the ``gpu`` and ``hybrid`` data pipelines),
    None where an augmentation has no tensor implementation. ``on_device``: the augmentation is
    meant to run on the training device (PRIME, as its reference does): on CUDA,
    ``trainer.data_pipeline=auto`` picks ``hybrid`` where ``gpu`` does not fit the dataset.
    """

    dataset: PerSampleRandomDataset
    objective: Objective
    tensor_views: TensorViews | None = None
    on_device: bool = False


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


def fmix(benchmark: Benchmark, seed: int, **options: Any) -> TrainingPlan:
    """FMix of each batch with a permutation of itself through a Fourier-space mask
    (options: ``FMix``'s)."""
    _check_options_of("fmix", options, FMix.__init__)
    return TrainingPlan(_single_view(benchmark, seed), FMix(**options), _clean_tensor_views(benchmark))


def prime(
    benchmark: Benchmark,
    seed: int,
    preset: str = "cifar",
    mixture_width: int = 3,
    mixture_depth: int = -1,
    max_depth: int = 3,
    primitives: Sequence[str] = PRIMITIVES,
    shared_draws: bool = False,
    jsd: bool = False,
    jsd_lambda: float = 12.0,
) -> TrainingPlan:
    """PRIME views after the flip/crop, on tensor batches: the reference's parameter set ``preset``
    (``cifar`` or ``imagenet``), ``mixture_width`` chains of ``U{1..max_depth}`` primitives (or
    ``mixture_depth``), with the Jensen-Shannon loss when ``jsd``. The plan runs PRIME on the
    training device in the ``gpu``/``hybrid`` pipelines and per sample (a batch of one, seeded
    from the sample's generator) in the ``cpu`` pipeline's workers."""
    check("augmentation.preset", preset)
    _check_prime_depths(mixture_depth, max_depth)
    augmenter = PRIME(
        preset, int(mixture_width), int(mixture_depth), int(max_depth), jsd=False,
        primitives=tuple(primitives), shared_draws=bool(shared_draws),
    )
    batched = BatchedPrime(augmenter, benchmark.mean, benchmark.std)
    dataset = PrimeSamples(benchmark.train_set(), batched, bool(jsd), benchmark.train_spatial(), seed)
    objective: Objective = JensenShannonConsistency(float(jsd_lambda)) if jsd else CrossEntropy()
    views = TensorViews(benchmark.mean, benchmark.std, batched, bool(jsd))
    return TrainingPlan(dataset, objective, views, on_device=True)


def _check_prime_depths(mixture_depth: int, max_depth: int) -> None:
    """A fixed ``mixture_depth`` must not exceed ``max_depth`` (the chains have that many steps)."""
    if mixture_depth != -1 and mixture_depth > max_depth:
        raise UserError(
            f"augmentation.mixture_depth={mixture_depth} is invalid; accepted: -1 or an integer in "
            f"1..augmentation.max_depth ({max_depth})"
        )


def reference_mixing_resize(image_size: int) -> int:
    """The shorter side mixing pictures are resized to before the crop: the reference's (36 for
    32-pixel images, 256 for 224), else the ImageNet ratio 256/224, rounded up."""
    known = {settings.image_size: settings.mixing_resize for settings in PIXMIX_SETTINGS.values()}
    return known.get(int(image_size), math.ceil(int(image_size) * 256 / 224))


def pixmix(
    benchmark: Benchmark,
    seed: int,
    mixing_set: str,
    k: int = 4,
    beta: float = 3,
    severity: float = 3,
    all_ops: bool = True,
    fill: int = 0,
    mixing_resize: int | None = None,
) -> TrainingPlan:
    """PixMix after the flip/crop, mixing with pictures of the folder ``mixing_set`` (one PixMix
    view, cross-entropy, as the reference). ``mixing_resize``: the pictures' shorter side before
    the random crop (None: ``reference_mixing_resize(image_size)``)."""
    size = int(benchmark.image_size)
    resize = reference_mixing_resize(size) if mixing_resize is None else int(mixing_resize)
    pictures = MixingSet(mixing_set, size, resize)
    view = PixMix(pictures, int(k), float(beta), float(severity), bool(all_ops), benchmark.mean, benchmark.std, int(fill))
    dataset, objective = _views(benchmark, seed, view, False, 12.0)
    return TrainingPlan(dataset, objective)


def trivialaugment(
    benchmark: Benchmark, seed: int, num_magnitude_bins: int = 31, jsd: bool = False, jsd_lambda: float = 12.0
) -> TrainingPlan:
    """torchvision's ``TrivialAugmentWide`` after the flip/crop (one view, cross-entropy; with
    ``jsd`` the clean view, two transformed views and the Jensen-Shannon loss)."""
    transform = TrivialAugmentWide(num_magnitude_bins=int(num_magnitude_bins))
    return per_image_transform(benchmark, seed, transform, bool(jsd), float(jsd_lambda))


def randaugment(
    benchmark: Benchmark,
    seed: int,
    num_ops: int = 2,
    magnitude: int = 9,
    num_magnitude_bins: int = 31,
    jsd: bool = False,
    jsd_lambda: float = 12.0,
) -> TrainingPlan:
    """torchvision's ``RandAugment`` (``num_ops`` ops at ``magnitude`` of ``num_magnitude_bins``)
    after the flip/crop, with the Jensen-Shannon loss when ``jsd`` (as ``trivialaugment``)."""
    _check_magnitude(magnitude, num_magnitude_bins)
    transform = RandAugment(int(num_ops), int(magnitude), int(num_magnitude_bins))
    return per_image_transform(benchmark, seed, transform, bool(jsd), float(jsd_lambda))


def _check_magnitude(magnitude: int, num_magnitude_bins: int) -> None:
    """RandAugment indexes its magnitude bins with ``magnitude``: it must be below their number."""
    if not magnitude < num_magnitude_bins:
        raise UserError(
            f"augmentation.magnitude={magnitude} is invalid; accepted: an integer in "
            f"0..augmentation.num_magnitude_bins - 1 ({num_magnitude_bins - 1})"
        )


def preflight(builder: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """What ``builder`` would refuse beyond each option's own range, checked without building
    anything: PixMix's mixing-set folder (listed, its first picture opened), PRIME's depths,
    RandAugment's magnitude. A one-line ``UserError`` naming the key; other builders pass."""
    def option(name: str) -> int:
        """The option as the builder would receive it: given, else the builder's default."""
        return int(options.get(name, inspect.signature(builder).parameters[name].default))

    if builder is pixmix and "mixing_set" in options:
        check_mixing_set(str(options["mixing_set"]))
    elif builder is prime:
        _check_prime_depths(option("mixture_depth"), option("max_depth"))
    elif builder is randaugment:
        _check_magnitude(option("magnitude"), option("num_magnitude_bins"))
