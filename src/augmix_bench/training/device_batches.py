"""The GPU data pipeline for in-memory datasets (``trainer.data_pipeline=gpu``).

The uint8 training set is copied once to the device as one tensor (N, 3, H, W). Every epoch
the samples are visited in the order of a ``DistributedSampler`` seeded with the run's seed
(the same order and the same per-rank shard as the ``cpu`` pipeline's data loader); every batch
is indexed out of the device tensor, randomly cropped and flipped per image, and turned into the
training views (``TensorViews``), all on the device. The random stream of an epoch is seeded
from (seed, epoch, rank), so a resumed run continues exactly and ranks draw independently.

Nothing here needs a GPU: on a CPU device the same code runs on CPU tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from ..augment.tensor_views import Inputs, TensorCropFlip, TensorViews

#: Training batches whose views are made in one call on the device (amortizes kernel launches).
BATCHES_PER_CALL = 16


def epoch_generator(seed: int, epoch: int, rank: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded from (seed, epoch, rank) alone."""
    state = np.random.SeedSequence([int(seed), int(epoch), int(rank)]).generate_state(1, np.uint64)
    generator = torch.Generator(device=device)
    generator.manual_seed(int(state[0]))
    return generator


def select_inputs(inputs: Inputs, start: int, stop: int) -> Inputs:
    """Rows ``start`` to ``stop`` of a batch's inputs (a tensor or a tuple of views)."""
    if isinstance(inputs, tuple):
        return tuple(view[start:stop] for view in inputs)
    return inputs[start:stop]


class DeviceArrayBatches:
    """Training batches ``(inputs, targets)`` made on ``device`` from in-memory uint8 arrays.

    Args:
        images: (N, H, W, 3) uint8 training images; labels: (N,) integer labels.
        views: turns a uint8 batch into the model inputs.
        crop_flip: the per-image spatial augmentation.
        batch_size: samples per batch and process; the last batch may be smaller.
        seed: the run's seed (sample order and augmentation draws).
        device: where the data lives and the views are made.
        rank, world_size: this process's shard of every epoch (DDP).
        batches_per_call: batches whose crops and views are made in one call (the draws, though
            not their distribution, depend on it).
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        views: TensorViews,
        crop_flip: TensorCropFlip,
        batch_size: int,
        seed: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
        batches_per_call: int = BATCHES_PER_CALL,
    ) -> None:
        pixels = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.images = pixels.permute(0, 3, 1, 2).contiguous()
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64).to(device)
        self.views = views
        self.crop_flip = crop_flip
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.device = device
        self.rank = int(rank)
        self.batches_per_call = int(batches_per_call)
        self.sampler = DistributedSampler(
            range(len(self.labels)), num_replicas=world_size, rank=rank, shuffle=True, seed=self.seed
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and random draws the next iteration uses."""
        self.epoch = int(epoch)
        self.sampler.set_epoch(self.epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor]]:
        generator = epoch_generator(self.seed, self.epoch, self.rank, self.device)
        order = torch.tensor(list(self.sampler), dtype=torch.int64, device=self.device)
        for chunk in order.split(self.batch_size * self.batches_per_call):
            images = self.crop_flip(self.images.index_select(0, chunk), generator)
            inputs = self.views(images, generator)
            targets = self.labels.index_select(0, chunk)
            for start in range(0, len(chunk), self.batch_size):
                stop = start + self.batch_size
                yield select_inputs(inputs, start, stop), targets[start:stop]
