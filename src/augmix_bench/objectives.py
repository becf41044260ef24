"""Training objectives: how a batch of training inputs becomes a loss.

An objective is called with the model, the batch's inputs (a tensor, or the tuple of AugMix views)
and targets, all on the device, and returns the loss plus the logits and labels that the
training error is computed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from .losses import jensen_shannon

Inputs = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass
class StepResult:
    """Loss of one step, and the clean logits and labels for the running training error."""

    loss: torch.Tensor
    logits: torch.Tensor
    targets: torch.Tensor


class Objective(Protocol):
    """Callable computing one training step's loss."""

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult: ...


class CrossEntropy:
    """Plain cross-entropy on a single view (standard training, AugMix without JSD)."""

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Forward the batch and take the cross-entropy against ``targets``."""
        logits = model(inputs)
        return StepResult(F.cross_entropy(logits.float(), targets), logits, targets)


class JensenShannonConsistency:
    """The AugMix step: ``CE(clean) + jsd_lambda * JS(clean, aug1, aug2)``.

    The three views are concatenated into one 3B batch and forwarded once, so BatchNorm sees the
    mixed batch, as in the reference.
    """

    def __init__(self, jsd_lambda: float = 12.0) -> None:
        self.jsd_lambda = float(jsd_lambda)

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Forward the concatenated views and combine the clean CE with the JS term."""
        clean, aug1, aug2 = inputs
        logits = model(torch.cat((clean, aug1, aug2)))
        logits_clean, logits_aug1, logits_aug2 = torch.split(logits, clean.shape[0])
        loss = F.cross_entropy(logits_clean.float(), targets)
        loss = loss + self.jsd_lambda * jensen_shannon(logits_clean, logits_aug1, logits_aug2)
        return StepResult(loss, logits_clean, targets)
