"""Batch-level mixing baselines: Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019).

Both mix each image of a (normalized, on-device) batch with the image at a random permutation
of the batch. The random choices of one training step come from ``step_generator()``: a NumPy
generator seeded by one draw of the global torch generator, whose state is seeded by the run's
``seed`` and saved in every checkpoint, so a resumed run continues the same draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def step_generator() -> np.random.Generator:
    """A fresh NumPy generator for one training step, seeded from the global torch generator."""
    return np.random.default_rng(int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64)))


@dataclass(frozen=True)
class MixupDraw:
    """One Mixup step: the weight ``lam`` of the original images and the partner permutation."""

    lam: float
    permutation: torch.Tensor  # int64, on the CPU


def draw_mixup(batch_size: int, alpha: float, rng: np.random.Generator) -> MixupDraw:
    """``lam ~ Beta(alpha, alpha)`` and a uniform permutation of the batch."""
    lam = float(rng.beta(alpha, alpha))
    return MixupDraw(lam, torch.from_numpy(rng.permutation(batch_size)))


def mixup(inputs: torch.Tensor, draw: MixupDraw) -> torch.Tensor:
    """``lam * x + (1 - lam) * x[permutation]``."""
    partners = inputs.index_select(0, draw.permutation.to(inputs.device, non_blocking=True))
    return draw.lam * inputs + (1.0 - draw.lam) * partners


@dataclass(frozen=True)
class CutMixDraw:
    """One CutMix step.

    ``box`` is (top, bottom, left, right), or None when the step does not mix; ``lam`` is the
    weight of each image's own label: the fraction of its pixels that the box left in place.
    """

    box: tuple[int, int, int, int] | None
    lam: float
    permutation: torch.Tensor  # int64, on the CPU


def draw_cutmix(
    batch_size: int, height: int, width: int, alpha: float, probability: float, rng: np.random.Generator
) -> CutMixDraw:
    """Draw as the authors' code: apply with ``probability``; ``lam ~ Beta(alpha, alpha)``; a box
    of sides ``int(side * sqrt(1 - lam))`` centred on a uniform pixel, clipped to the image; then
    ``lam`` recomputed from the clipped box's area."""
    if not rng.uniform() < probability:
        return CutMixDraw(None, 1.0, torch.arange(batch_size))
    lam = float(rng.beta(alpha, alpha))
    permutation = torch.from_numpy(rng.permutation(batch_size))
    cut = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    centre_y, centre_x = int(rng.integers(height)), int(rng.integers(width))
    top, bottom = max(centre_y - cut_h // 2, 0), min(centre_y + cut_h // 2, height)
    left, right = max(centre_x - cut_w // 2, 0), min(centre_x + cut_w // 2, width)
    kept = 1.0 - (bottom - top) * (right - left) / (height * width)
    return CutMixDraw((top, bottom, left, right), kept, permutation)


def cutmix(inputs: torch.Tensor, draw: CutMixDraw) -> torch.Tensor:
    """``inputs`` with the box of every image replaced by the same box of its partner."""
    if draw.box is None:
        return inputs
    top, bottom, left, right = draw.box
    mixed = inputs.clone()
    partners = inputs.index_select(0, draw.permutation.to(inputs.device, non_blocking=True))
    mixed[..., top:bottom, left:right] = partners[..., top:bottom, left:right]
    return mixed
