"""PRIME training views: on uint8 batches on the training device, or per sample on the CPU.

The reference applies PRIME to whole tensor batches inside the training step (its ``AugModel``
wraps the network). ``BatchedPrime`` does that on a uint8 batch on any device and normalizes the
result; ``TensorViews(mean, std, BatchedPrime(...), jsd)`` then gives the views of the ``gpu`` and
``hybrid`` pipelines. ``PrimeSamples`` makes the same views one sample at a time in data-loader
workers (the ``cpu`` pipeline): each sample runs PRIME as a batch of one, drawing from a
``torch.Generator`` seeded by the sample's own generator, so a fixed seed gives the same views
whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..data.spatial import SpatialTransform
from .augmix import normalize_pixels
from .prime import PRIME
from .views import PerSampleRandomDataset


def normalize_unit_batch(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x - mean) / std`` per channel of a float (B, C, H, W) batch in [0, 1], on its device."""
    mean_t = torch.as_tensor(tuple(mean), dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(tuple(std), dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - mean_t) / std_t


class BatchedPrime:
    """One PRIME view of a uint8 batch (B, C, S, S), normalized with ``mean``/``std``.

    ``prime`` must be built with ``jsd=False``: the JSD views are two calls (``TensorViews`` makes
    them from one call on the batch stacked twice, so every image draws two independent views).
    """

    def __init__(self, prime: PRIME, mean: Sequence[float], std: Sequence[float]) -> None:
        if prime.jsd:
            raise ValueError("BatchedPrime makes one view per call: build PRIME with jsd=False")
        self.prime = prime
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The normalized PRIME view of every image, drawn from ``generator`` (on the images' device)."""
        unit = images.to(torch.float32).div_(255.0)
        return normalize_unit_batch(self.prime.augment(unit, generator), self.mean, self.std)

    def __repr__(self) -> str:
        return f"BatchedPrime({self.prime!r})"


class PrimeSamples(PerSampleRandomDataset):
    """PRIME training samples made in data-loader workers: ``((clean, aug1, aug2), label)`` with
    ``jsd``, else ``(aug, label)``, each view normalized (float32, (C, S, S)).

    The flip/crop (``spatial``) runs first, once per sample, as the reference's dataset transform.
    """

    def __init__(
        self,
        dataset: Dataset,
        batched: BatchedPrime,
        jsd: bool,
        spatial: SpatialTransform | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, spatial, seed)
        self.batched = batched
        self.jsd = bool(jsd)

    def make(self, img: Image.Image, rng: np.random.Generator) -> Any:
        """The sample's views, PRIME drawing from a torch generator seeded by ``rng``."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        pixels = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).unsqueeze(0)
        generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
        if not self.jsd:
            return self.batched(pixels, generator)[0]
        views = self.batched(torch.cat((pixels, pixels)), generator)
        clean = normalize_pixels(pixels, self.batched.mean, self.batched.std)
        return clean[0], views[0], views[1]
