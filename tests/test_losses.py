"""The Jensen-Shannon consistency loss against hand-computed values, and the AugMix objective."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augmix_bench.augment.objectives import jensen_shannon
from augmix_bench.augment.objectives import CrossEntropy, JensenShannonConsistency


def approx(value: float):
    """Float32 computations against float64 references."""
    return pytest.approx(value, rel=1e-5, abs=1e-7)


def numpy_jensen_shannon(clean: np.ndarray, aug1: np.ndarray, aug2: np.ndarray) -> float:
    """REFERENCE.md section 2 in float64 NumPy: softmax, clamped mixture, mean over the batch."""

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    ps = [softmax(np.asarray(z, dtype=np.float64)) for z in (clean, aug1, aug2)]
    mixture = np.clip(sum(ps) / 3, 1e-7, 1)
    kls = [np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(mixture)), 0).sum(axis=1) for p in ps]
    return float(np.mean(sum(kls) / 3))


def test_hand_computed_value() -> None:
    """Row 1: p = (.5, .5), (.9, .1), (.1, .9): M = (.5, .5), JS = 2/3 (0.9 ln 1.8 + 0.1 ln 0.2).
    Row 2: all three p = (.2, .8): JS = 0. The batch mean halves row 1."""
    clean = torch.log(torch.tensor([[0.5, 0.5], [0.2, 0.8]]))
    aug1 = torch.log(torch.tensor([[0.9, 0.1], [0.2, 0.8]]))
    aug2 = torch.log(torch.tensor([[0.1, 0.9], [0.2, 0.8]]))
    row1 = 2 / 3 * (0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert jensen_shannon(clean, aug1, aug2).item() == approx(row1 / 2)
    assert jensen_shannon(clean[:1], aug1[:1], aug2[:1]).item() == approx(row1)
    assert jensen_shannon(clean[1:], aug1[1:], aug2[1:]).item() == approx(0.0)


def test_equals_an_independent_numpy_computation() -> None:
    rng = np.random.default_rng(0)
    for scale in (0.5, 3.0, 10.0):
        logits = [rng.normal(0, scale, size=(6, 7)).astype(np.float32) for _ in range(3)]
        ours = jensen_shannon(*(torch.from_numpy(z) for z in logits)).item()
        assert ours == approx(numpy_jensen_shannon(*logits))


def test_clamp_keeps_vanished_probabilities_finite() -> None:
    """A class whose probability underflows to 0 in all three views: the clamp of M avoids NaN."""
    logits = torch.tensor([[200.0, 0.0, -200.0]])
    value = jensen_shannon(logits, logits + torch.tensor([[0.0, 1.0, 0.0]]), logits)
    assert torch.isfinite(value)
    assert value.item() == approx(
        numpy_jensen_shannon(logits.numpy(), logits.numpy() + [[0, 1, 0]], logits.numpy())
    )


def test_gradients_flow_to_all_three_inputs_and_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    values = [rng.normal(0, 1, size=(3, 4)) for _ in range(3)]
    tensors = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in values]
    jensen_shannon(*tensors).backward()
    step = 1e-5
    for which in range(3):
        grad = tensors[which].grad.numpy()
        assert np.abs(grad).min() > 0
        numeric = np.zeros_like(values[which])
        for index in np.ndindex(values[which].shape):
            up = [v.copy() for v in values]
            down = [v.copy() for v in values]
            up[which][index] += step
            down[which][index] -= step
            numeric[index] = (numpy_jensen_shannon(*up) - numpy_jensen_shannon(*down)) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)


class _CountingLinear(torch.nn.Module):
    """A linear classifier that records the batch sizes it is called with."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(12, 5)
        self.batch_sizes: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(x.shape[0])
        return self.linear(x.flatten(1))


def test_augmix_objective_is_clean_cross_entropy_plus_lambda_js_in_one_forward() -> None:
    model = _CountingLinear()
    generator = torch.Generator().manual_seed(2)
    views = tuple(torch.randn(4, 3, 2, 2, generator=generator) for _ in range(3))
    targets = torch.tensor([0, 3, 1, 4])
    step = JensenShannonConsistency(jsd_lambda=12.0)(model, views, targets)
    assert model.batch_sizes == [12]
    with torch.no_grad():
        logits = [model.linear(v.flatten(1)) for v in views]
    expected = F.cross_entropy(logits[0], targets).item() + 12.0 * numpy_jensen_shannon(
        *(z.numpy() for z in logits)
    )
    assert step.loss.item() == approx(expected)
    assert torch.allclose(step.logits, logits[0]) and torch.equal(step.targets, targets)


def test_cross_entropy_objective() -> None:
    model = _CountingLinear()
    inputs = torch.randn(5, 12, generator=torch.Generator().manual_seed(3))
    targets = torch.tensor([0, 1, 2, 3, 4])
    step = CrossEntropy()(model, inputs, targets)
    with torch.no_grad():
        expected = F.cross_entropy(model.linear(inputs), targets)
    assert step.loss.item() == approx(expected.item())
