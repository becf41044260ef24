"""Gamma, Dirichlet and Beta draws from an explicit ``torch.Generator``, on the generator's device.

``torch.distributions`` samples these from the global generator only; AugMix on tensor batches
needs them seedable and reproducible. On the CPU they are drawn with Marsaglia and Tsang's method
(ACM TOMS 26(3), 2000) from the generator's uniform and normal streams; on other devices that
method's rejection loop would wait for the device at every round, so there the draws come from
``torch._standard_gamma`` (which takes a generator) and never wait: the same distribution, a
different stream.
"""

from __future__ import annotations

import torch


def sample_log_gamma(
    shape: tuple[int, ...], concentration: float, generator: torch.Generator
) -> torch.Tensor:
    """Logarithms of Gamma(``concentration``, 1) draws (float64) of ``shape`` on ``generator``'s device.

    Logarithms, so that tiny concentrations (whose draws underflow to 0) still normalize.
    """
    if concentration <= 0:
        raise ValueError(f"gamma concentration must be > 0, got {concentration}")
    if generator.device.type != "cpu":
        return sample_log_gamma_on_device(shape, concentration, generator)
    device = generator.device
    boost = concentration < 1
    d = (concentration + 1 if boost else concentration) - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    result = torch.empty(shape, dtype=torch.float64, device=device).flatten()
    pending = torch.arange(result.numel(), device=device)
    while pending.numel():
        normal = torch.randn(pending.numel(), dtype=torch.float64, device=device, generator=generator)
        uniform = torch.rand(pending.numel(), dtype=torch.float64, device=device, generator=generator)
        v = (1.0 + c * normal) ** 3
        log_v = torch.log(v.clamp(min=1e-300))
        accept = (v > 0) & (torch.log(uniform) < 0.5 * normal**2 + d - d * v + d * log_v)
        result[pending[accept]] = d * v[accept]
        pending = pending[~accept]
    log_result = torch.log(result)
    if boost:
        uniform = torch.rand(result.numel(), dtype=torch.float64, device=device, generator=generator)
        log_result = log_result + torch.log(uniform) / concentration
    return log_result.view(shape)


def sample_log_gamma_on_device(
    shape: tuple[int, ...], concentration: float, generator: torch.Generator
) -> torch.Tensor:
    """``sample_log_gamma`` without a host synchronization (any device, CPU included).

    Draws Gamma(``concentration`` + 1) with torch's sampler and multiplies by U^(1 / concentration)
    (Marsaglia and Tsang's boost, which gives Gamma(``concentration``)), in logarithms.
    """
    device = generator.device
    boosted = torch.full(shape, concentration + 1.0, dtype=torch.float64, device=device)
    log_gamma = torch.log(torch._standard_gamma(boosted, generator=generator))
    uniform = torch.rand(shape, dtype=torch.float64, device=device, generator=generator)
    return log_gamma.add_(torch.log(uniform).div_(concentration))


def sample_dirichlet(
    batch: int, size: int, concentration: float, generator: torch.Generator
) -> torch.Tensor:
    """``batch`` draws (float64, rows sum to 1) of a symmetric Dirichlet over ``size`` weights."""
    return torch.softmax(sample_log_gamma((batch, size), concentration, generator), dim=1)


def sample_beta(batch: int, concentration: float, generator: torch.Generator) -> torch.Tensor:
    """``batch`` draws (float64) of Beta(``concentration``, ``concentration``)."""
    log_gamma = sample_log_gamma((batch, 2), concentration, generator)
    return torch.sigmoid(log_gamma[:, 0] - log_gamma[:, 1])
