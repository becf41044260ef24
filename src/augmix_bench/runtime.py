"""Where and how tensors are computed: device, numeric precision, memory format, process rank."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .errors import UserError

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
ACCELERATORS: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Runtime:
    """Execution settings shared by training and evaluation.

    ``rank``/``world_size`` describe the distributed job (0/1 in a single process); only rank 0
    writes files and shows progress bars.
    """

    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False
    num_workers: int = 0
    progress: bool = True
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes logs, checkpoints and results."""
        return self.rank == 0

    @property
    def show_progress(self) -> bool:
        """Whether this process draws progress bars: only on a terminal (a redirected stderr gets
        the plain per-epoch and per-corruption log lines instead)."""
        return self.progress and self.is_main and sys.stderr.isatty()

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast context for the configured precision (a no-op for fp32)."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def to_input(self, batch: torch.Tensor) -> torch.Tensor:
        """Move a float image batch to the device, in channels-last layout if configured."""
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


def resolve_device(accelerator: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` fails clearly without a GPU."""
    if accelerator not in ACCELERATORS:
        raise UserError(f"trainer.accelerator={accelerator!r} is invalid; choose from: {', '.join(ACCELERATORS)}")
    if accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError("trainer.accelerator=cuda but no CUDA device is visible; use trainer.accelerator=cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def check_precision(precision: str) -> str:
    """Validate ``trainer.precision``."""
    if precision not in PRECISIONS:
        raise UserError(f"trainer.precision={precision!r} is invalid; choose from: {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode without gradients, restoring its training flag afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
