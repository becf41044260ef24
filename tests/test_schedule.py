"""Learning-rate schedules against the reference formulas."""

import math

import pytest
import torch

from augmix_bench.errors import UserError
from augmix_bench.training.schedule import LearningRateFactor, scaled_lr


def reference_cosine(step: int, total: int, lr: float = 0.1, floor: float = 1e-6) -> float:
    """The reference CIFAR script's lr: LambdaLR(cosine_annealing(step, total, 1, 1e-6 / lr)) * lr."""
    lr_min, lr_max = floor / lr, 1.0
    return lr * (lr_min + (lr_max - lr_min) * 0.5 * (1 + math.cos(step / total * math.pi)))


@pytest.mark.parametrize("step", [0, 1, 390, 391, 19550, 39099, 39100])
def test_cosine_matches_reference_per_iteration(step: int) -> None:
    factor = LearningRateFactor("cosine", 0.1, epochs=100, iters_per_epoch=391)
    assert 0.1 * factor(step) == pytest.approx(reference_cosine(step, 100 * 391), rel=1e-12)


def test_cosine_endpoints() -> None:
    factor = LearningRateFactor("cosine", 0.1, epochs=2, iters_per_epoch=5)
    assert 0.1 * factor(0) == pytest.approx(0.1)
    assert 0.1 * factor(5) == pytest.approx(1e-6 + (0.1 - 1e-6) * 0.5)
    assert 0.1 * factor(10) == pytest.approx(1e-6)


def test_step_schedule_divides_at_milestones() -> None:
    factor = LearningRateFactor("step", 0.1, epochs=90, iters_per_epoch=10, milestones=[30, 60], gamma=0.1)
    assert [factor(t) for t in (0, 299, 300, 599, 600, 899)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])


def test_warmup_ramps_linearly() -> None:
    factor = LearningRateFactor("step", 0.1, epochs=10, iters_per_epoch=4, warmup_epochs=1)
    assert [factor(t) for t in range(5)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])


def test_lambda_lr_steps_through_the_schedule() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LearningRateFactor("cosine", 0.1, 1, 4))
    seen = []
    for _ in range(4):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx([reference_cosine(t, 4) for t in range(4)])


def test_linear_scaling_rule() -> None:
    assert scaled_lr(0.1, 1024, 256) == pytest.approx(0.4)
    assert scaled_lr(0.1, 1024, None) == 0.1


def test_unknown_schedule_is_one_line_error() -> None:
    with pytest.raises(UserError, match="optim.schedule='linear' is invalid; choose from: cosine, step"):
        LearningRateFactor("linear", 0.1, 1, 1)
