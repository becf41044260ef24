"""Training objectives: how a batch of training inputs becomes a loss (and the JSD loss of AugMix).

An objective is called with the model, the batch's inputs (a tensor, or the tuple of AugMix views)
and targets, all on the device, and returns the loss plus the logits and labels that the
training error is computed on. The batch-level baselines (Mixup, CutMix, FMix, adversarial training)
are objectives: they transform the device batch before the forward pass. Their random draws come
from the global torch generator (seeded by ``seed``, saved in checkpoints), so resuming is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from ..schema import check
from .adversarial import pgd_linf
from .batch_mixing import (
    cutmix,
    draw_cutmix,
    draw_mixup,
    mixup,
    step_generator,
)
from .fmix import DEFAULT_ALPHA, DEFAULT_DECAY_POWER, check_fmix_options, draw_fmix, fmix

Inputs = torch.Tensor | tuple[torch.Tensor, ...]


def jensen_shannon(
    logits_clean: torch.Tensor, logits_aug1: torch.Tensor, logits_aug2: torch.Tensor
) -> torch.Tensor:
    """JS divergence among the three views' predictive distributions (the reference's form).

    ``M = clamp((p_c + p_1 + p_2) / 3, 1e-7, 1)`` and
    ``JS = (KL(p_c || M) + KL(p_1 || M) + KL(p_2 || M)) / 3``, each KL summed over classes and
    averaged over the batch. No gradient is stopped. The caller multiplies by ``jsd_lambda``.
    """
    p_clean = F.softmax(logits_clean.float(), dim=1)
    p_aug1 = F.softmax(logits_aug1.float(), dim=1)
    p_aug2 = F.softmax(logits_aug2.float(), dim=1)
    log_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3.0, 1e-7, 1.0).log()
    return (
        F.kl_div(log_mixture, p_clean, reduction="batchmean")
        + F.kl_div(log_mixture, p_aug1, reduction="batchmean")
        + F.kl_div(log_mixture, p_aug2, reduction="batchmean")
    ) / 3.0


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


def mixed_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, partner_targets: torch.Tensor, lam: float
) -> torch.Tensor:
    """``lam * CE(logits, targets) + (1 - lam) * CE(logits, partner_targets)``."""
    logits = logits.float()
    return lam * F.cross_entropy(logits, targets) + (1.0 - lam) * F.cross_entropy(logits, partner_targets)


def _one_view(inputs: Inputs) -> torch.Tensor:
    """The input batch of a single-view objective (the batch-level baselines take no view tuples)."""
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"this objective needs a single batch tensor, got {type(inputs).__name__}")
    return inputs


def _check_alpha(alpha: float) -> float:
    return float(check("augmentation.alpha", alpha))


class Mixup:
    """Mixup (Zhang et al., 2018): train on ``lam * x + (1 - lam) * x[perm]`` with the labels mixed
    the same way, ``lam ~ Beta(alpha, alpha)`` drawn once per batch, as the authors' code.

    The training error is measured against each mixed image's own (first) label.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _check_alpha(alpha)

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Mix the batch with a permutation of itself and take the mixed cross-entropy."""
        draw = draw_mixup(targets.shape[0], self.alpha, step_generator())
        logits = model(mixup(_one_view(inputs), draw))
        partners = targets[draw.permutation.to(targets.device)]
        return StepResult(mixed_cross_entropy(logits, targets, partners, draw.lam), logits, targets)


class CutMix:
    """CutMix (Yun et al., 2019): with probability ``probability`` per batch, paste a random box of
    a permuted batch into every image and mix the labels by the pasted area (the authors' code).

    The training error is measured against each image's own label.
    """

    def __init__(self, alpha: float = 1.0, probability: float = 0.5) -> None:
        self.alpha = _check_alpha(alpha)
        check("augmentation.probability", probability)
        self.probability = float(probability)

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Paste the drawn box (if any) and take the area-weighted cross-entropy."""
        batch = _one_view(inputs)
        height, width = batch.shape[-2:]
        draw = draw_cutmix(targets.shape[0], height, width, self.alpha, self.probability, step_generator())
        logits = model(cutmix(batch, draw))
        partners = targets[draw.permutation.to(targets.device)]
        return StepResult(mixed_cross_entropy(logits, targets, partners, draw.lam), logits, targets)


class FMix:
    """FMix (Harris et al., 2020): every step, mix the batch with a permutation of itself through one
    binary Fourier-space mask (``fmix.draw_fmix``: ``lam ~ Beta(alpha, alpha)``, low-pass noise of
    decay power ``decay_power``, its top ``lam`` share set to 1), and weight the labels by ``lam``,
    as the authors' ``sample_and_apply`` and loss do. ``max_soft``, ``reformulate`` and
    ``reference_spectrum`` are the reference's options (``fmix`` module docstring).

    The training error is measured against each image's own label.
    """

    def __init__(
        self,
        alpha: float = DEFAULT_ALPHA,
        decay_power: float = DEFAULT_DECAY_POWER,
        max_soft: float = 0.0,
        reformulate: bool = False,
        reference_spectrum: bool = True,
    ) -> None:
        check("augmentation.alpha", alpha)
        check("augmentation.decay_power", decay_power)
        check("augmentation.max_soft", max_soft)
        check_fmix_options(alpha, decay_power, max_soft)
        self.alpha = float(alpha)
        self.decay_power = float(decay_power)
        self.max_soft = float(max_soft)
        self.reformulate = bool(reformulate)
        self.reference_spectrum = bool(reference_spectrum)

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Mix through the drawn mask and take the ``lam``-weighted cross-entropy."""
        batch = _one_view(inputs)
        height, width = batch.shape[-2:]
        draw = draw_fmix(
            targets.shape[0], height, width, self.alpha, self.decay_power, step_generator(),
            max_soft=self.max_soft, reformulate=self.reformulate, reference_spectrum=self.reference_spectrum,
        )
        logits = model(fmix(batch, draw))
        partners = targets[draw.permutation.to(targets.device)]
        return StepResult(mixed_cross_entropy(logits, targets, partners, draw.lam), logits, targets)


class AdversarialTraining:
    """PGD adversarial training (Madry et al., 2018): cross-entropy on L-inf PGD examples only.

    ``epsilon`` and ``step_size`` are in pixel units of the [0, 1] range (8/255 is 0.0314); ``mean``
    and ``std`` are the dataset normalization the inputs carry (see ``pgd_linf``).
    """

    def __init__(
        self,
        epsilon: float,
        step_size: float,
        steps: int,
        random_start: bool,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        check("augmentation.epsilon", epsilon)
        check("augmentation.step_size", step_size)
        check("augmentation.steps", steps)
        self.epsilon = float(epsilon)
        self.step_size = float(step_size)
        self.steps = int(steps)
        self.random_start = bool(random_start)
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, model: torch.nn.Module, inputs: Inputs, targets: torch.Tensor) -> StepResult:
        """Attack the batch, then forward the adversarial examples."""
        adversarial = pgd_linf(
            model,
            _one_view(inputs),
            targets,
            self.epsilon,
            self.step_size,
            self.steps,
            self.random_start,
            self.mean,
            self.std,
        )
        logits = model(adversarial)
        return StepResult(F.cross_entropy(logits.float(), targets), logits, targets)
