"""trainer.tf32 and cuDNN autotuning: explicit process-wide CUDA math settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

from augmix_bench.runtime import configure_cuda_math

TRAINER_DEFAULTS = Path(__file__).resolve().parents[1] / "configs" / "trainer" / "default.yaml"


@pytest.fixture()
def restored_flags() -> Iterator[None]:
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark = saved


def flags() -> tuple[bool, bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark


def test_tf32_is_off_by_default_and_follows_the_setting_on_cuda(restored_flags: None) -> None:
    assert yaml.safe_load(TRAINER_DEFAULTS.read_text())["tf32"] is False
    torch.backends.cudnn.allow_tf32 = True  # PyTorch's own default
    configure_cuda_math(torch.device("cuda", 0), tf32=False)
    assert flags() == (False, False, True)
    configure_cuda_math(torch.device("cuda", 0), tf32=True)
    assert flags() == (True, True, True)


def test_a_cpu_device_leaves_the_flags_alone(restored_flags: None) -> None:
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = True, True
    torch.backends.cudnn.benchmark = False
    configure_cuda_math(torch.device("cpu"), tf32=False)
    assert flags() == (True, True, False)
