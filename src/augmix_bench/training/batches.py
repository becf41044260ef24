"""Where training batches come from: ``trainer.data_pipeline``, the one setting that says where
the training views are made (resolved once, by ``resolve_data_pipeline``).

- ``cpu`` (the reference's way): a ``DataLoader`` whose workers run the training plan's
  per-sample dataset (PIL ops); each process reads its shard through a ``DistributedSampler``.
- ``hybrid``: the workers only decode, flip and crop; the views are made a batch at a time on
  the training device (``TensorViews``). Any dataset, augmentations with a tensor twin.
- ``gpu``: the whole pipeline on the device for in-memory datasets (``DeviceArrayBatches``).
- ``auto``: ``gpu`` when training on CUDA with an in-memory dataset whose spatial augmentation
  has a tensor twin (CIFAR) and an augmentation with a tensor twin; on CUDA with another dataset,
  ``hybrid`` for an augmentation meant for the device (PRIME, ``TrainingPlan.on_device``); else ``cpu``.

Every source yields ``(inputs, targets)`` in the structure the objective expects, has a length
(batches per epoch) and ``set_epoch``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..data.spatial import RandomCropFlip
from ..augment.tensor_views import Inputs, PixelSamples, TensorCropFlip, TensorViews
from ..augment.views import PerSampleRandomDataset
from ..data.benchmark import Benchmark
from ..data.worker_errors import unwrapped_worker_errors
from ..errors import UserError
from ..runtime import Runtime
from ..schema import DATA_PIPELINES
from .device_batches import DeviceArrayBatches, epoch_generator
from ..augment.plans import TrainingPlan

#: Accepted values of ``trainer.data_pipeline``.


class BatchSource(Protocol):
    """An epoch's training batches."""

    def set_epoch(self, epoch: int) -> None: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor]]: ...


@runtime_checkable
class InMemoryTrainSet(Protocol):
    """A benchmark whose training split is a pair of in-memory arrays (CIFAR)."""

    def train_arrays(self) -> tuple[np.ndarray, np.ndarray]: ...


class LoaderBatches:
    """The ``cpu`` pipeline: a ``DataLoader`` over ``dataset`` with a ``DistributedSampler``.

    When ``device_views`` is given, ``dataset`` yields uint8 pixels and every batch is moved to
    ``runtime.device`` and turned into views there (the ``hybrid`` pipeline).
    """

    def __init__(
        self,
        dataset: PerSampleRandomDataset,
        batch_size: int,
        seed: int,
        runtime: Runtime,
        device_views: TensorViews | None = None,
    ) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.runtime = runtime
        self.device_views = device_views
        self.sampler = DistributedSampler(
            dataset, num_replicas=runtime.world_size, rank=runtime.rank, shuffle=True, seed=self.seed
        )
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=runtime.num_workers,
            multiprocessing_context=runtime.worker_context,
            pin_memory=runtime.device.type == "cuda",
            drop_last=False,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and per-sample draws the next iteration uses."""
        self.epoch = int(epoch)
        self.sampler.set_epoch(self.epoch)
        self.dataset.set_epoch(self.epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor]]:
        if self.device_views is None:
            yield from unwrapped_worker_errors(self.loader)
            return
        device = self.runtime.device
        generator = epoch_generator(self.seed, self.epoch, self.runtime.rank, device)
        for images, targets in unwrapped_worker_errors(self.loader):
            yield self.device_views(images.to(device, non_blocking=True), generator), targets


def resolve_data_pipeline(choice: str, device: torch.device, benchmark: Benchmark, plan: TrainingPlan) -> str:
    """``cpu``, ``hybrid`` or ``gpu`` for ``trainer.data_pipeline=choice`` on ``device``.

    ``auto`` picks ``gpu`` only on CUDA, for an in-memory dataset and an augmentation with a tensor
    implementation (AugMix, PRIME, standard, Mixup, CutMix, FMix, adversarial); on CUDA with
    another dataset, ``hybrid`` for an augmentation meant for the device (PRIME); else ``cpu``. An explicit choice
    the dataset or augmentation cannot run is refused in one line.
    """
    if choice not in DATA_PIPELINES:
        accepted = ", ".join(DATA_PIPELINES)
        raise UserError(f"trainer.data_pipeline={choice!r} is invalid; choose from: {accepted}")
    if choice == "auto":
        if device.type != "cuda" or plan.tensor_views is None:
            return "cpu"
        if has_device_pipeline(benchmark):
            return "gpu"
        return "hybrid" if plan.on_device else "cpu"
    if choice != "cpu" and plan.tensor_views is None:
        raise UserError(
            f"trainer.data_pipeline={choice} needs an augmentation with a tensor implementation "
            "(augmix, prime, prime_jsd, standard, mixup, cutmix, fmix, adversarial); use trainer.data_pipeline=cpu"
        )
    if choice == "gpu" and not has_device_pipeline(benchmark):
        raise UserError(
            f"trainer.data_pipeline=gpu needs an in-memory dataset with flip/crop augmentation "
            f"(cifar10, cifar100), not {benchmark.name!r}; use trainer.data_pipeline=hybrid or cpu"
        )
    return choice


def has_device_pipeline(benchmark: Benchmark) -> bool:
    """Whether ``benchmark``'s training set fits the ``gpu`` pipeline (in memory, flip/crop)."""
    return isinstance(benchmark, InMemoryTrainSet) and isinstance(benchmark.train_spatial(), RandomCropFlip)


def build_training_batches(
    plan: TrainingPlan,
    benchmark: Benchmark,
    runtime: Runtime,
    pipeline: str,
    batch_size: int,
    seed: int,
) -> BatchSource:
    """The training batches of ``plan`` for a resolved pipeline (``resolve_data_pipeline``)."""
    batch_size, seed = int(batch_size), int(seed)
    if pipeline == "cpu":
        return LoaderBatches(plan.dataset, batch_size, seed, runtime)
    assert plan.tensor_views is not None, "resolve_data_pipeline refuses device pipelines without tensor views"
    if pipeline == "hybrid":
        pixels = PixelSamples(benchmark.train_set(), benchmark.train_spatial(), seed)
        return LoaderBatches(pixels, batch_size, seed, runtime, plan.tensor_views)
    images, labels = benchmark.train_arrays()  # type: ignore[attr-defined]
    spatial = benchmark.train_spatial()
    return DeviceArrayBatches(
        images,
        labels,
        plan.tensor_views,
        TensorCropFlip(spatial.size, spatial.padding),
        batch_size,
        seed,
        runtime.device,
        runtime.rank,
        runtime.world_size,
    )
