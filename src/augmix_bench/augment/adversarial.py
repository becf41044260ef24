"""Projected gradient descent (PGD) adversarial examples for adversarial training (Madry et al., 2018).

Inputs are normalized batches, ``(x - mean) / std`` per channel. The L-inf budget, the step size
and the valid range [0, 1] are stated in pixel space and converted through the normalization:
per channel, ``epsilon / std`` and ``step_size / std``, and bounds ``(0 - mean) / std`` to
``(1 - mean) / std``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _per_channel(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    return _per_channel_on(tuple(float(v) for v in values), like.dtype, like.device)


@functools.lru_cache(maxsize=32)
def _per_channel_on(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``values`` as a (1, C, 1, 1) tensor, made once per dtype and device."""
    return torch.tensor(values, dtype=dtype, device=device).view(1, -1, 1, 1)


def pgd_linf(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    epsilon: float,
    step_size: float,
    steps: int,
    random_start: bool,
    mean: Sequence[float],
    std: Sequence[float],
) -> torch.Tensor:
    """Adversarial versions of the normalized ``inputs`` that increase the cross-entropy.

    Starts from a uniform point of the L-inf ball (``random_start``) or from ``inputs``, then
    takes ``steps`` signed-gradient steps, projecting after each onto the ball and the valid pixel
    range. The model runs in whatever mode it is in (training mode during training); only the
    perturbation gets gradients, the model's parameters accumulate none. The random start draws
    from the global torch generator of the inputs' device (saved in checkpoints).
    """
    x = inputs.detach()
    std_t = _per_channel(std, x)
    mean_t = _per_channel(mean, x)
    radius = epsilon / std_t
    step = step_size / std_t
    low = (0.0 - mean_t) / std_t
    high = (1.0 - mean_t) / std_t
    delta = (torch.rand_like(x) * 2.0 - 1.0) * radius if random_start else torch.zeros_like(x)
    delta = torch.clamp(x + delta, low, high) - x
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta).float(), targets, reduction="sum")
        (gradient,) = torch.autograd.grad(loss, delta)
        delta = torch.clamp(delta.detach() + step * gradient.sign(), -radius, radius)
        delta = torch.clamp(x + delta, low, high) - x
    return (x + delta).detach()
