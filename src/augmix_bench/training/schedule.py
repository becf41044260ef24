"""Optimizer and learning-rate schedules of the paper's recipes, stepped every iteration."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import UserError
from ..schema import SCHEDULES



class LearningRateFactor:
    """Multiplier of the base learning rate at iteration ``t`` (a picklable ``LambdaLR`` lambda).

    - ``cosine`` (reference CIFAR): ``lr(t) = min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2``
      with ``T = epochs * iters_per_epoch``, no warm-up.
    - ``step`` (reference ImageNet): ``lr * gamma ** (number of milestones <= epoch)``, the epoch
      being ``t // iters_per_epoch``.
    - ``warmup_epochs > 0`` multiplies by a linear ramp ``(t + 1) / warmup_iters`` (Goyal et al.).
    """

    def __init__(
        self,
        schedule: str,
        base_lr: float,
        epochs: int,
        iters_per_epoch: int,
        min_lr: float = 1e-6,
        milestones: Sequence[int] = (),
        gamma: float = 0.1,
        warmup_epochs: float = 0,
    ) -> None:
        if schedule not in SCHEDULES:
            raise UserError(f"optim.schedule={schedule!r} is invalid; choose from: {', '.join(SCHEDULES)}")
        self.schedule = schedule
        self.base_lr = float(base_lr)
        self.total = max(int(epochs) * int(iters_per_epoch), 1)
        self.iters_per_epoch = max(int(iters_per_epoch), 1)
        self.min_lr = float(min_lr)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = float(gamma)
        self.warmup_iters = int(round(float(warmup_epochs) * self.iters_per_epoch))

    def __call__(self, t: int) -> float:
        if self.schedule == "cosine":
            lr = self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * t / self.total))
            factor = lr / self.base_lr
        else:
            epoch = t // self.iters_per_epoch
            factor = self.gamma ** sum(1 for m in self.milestones if epoch >= m)
        if self.warmup_iters > 0 and t < self.warmup_iters:
            factor *= (t + 1) / self.warmup_iters
        return factor


def scaled_lr(lr: float, global_batch_size: int, reference_batch: int | None) -> float:
    """``lr * global_batch_size / reference_batch`` (linear scaling rule), or ``lr`` if unset."""
    if reference_batch is None:
        return float(lr)
    return float(lr) * global_batch_size / float(reference_batch)


def build_sgd(
    model: torch.nn.Module, lr: float, momentum: float, nesterov: bool, weight_decay: float
) -> torch.optim.SGD:
    """SGD over every parameter with weight decay on all of them, as the reference."""
    return torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )
