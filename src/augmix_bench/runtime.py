"""Where and how tensors are computed: device, numeric precision, memory format, process rank, and
the random generators (seeding, per-rank seeds, states saved in checkpoints)."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import UserError
from .schema import ACCELERATORS, PRECISIONS

#: The autocast dtype of each ``trainer.precision`` (None: full precision).
PRECISION_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Runtime:
    """Execution settings shared by training and evaluation.

    ``rank``/``world_size`` describe the distributed job (0/1 in a single process), ``local_rank``
    the rank on this machine; only rank 0 writes files and shows progress bars.
    """

    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False
    num_workers: int = 0
    progress: bool = True
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def worker_context(self) -> multiprocessing.context.BaseContext | None:
        """How data-loader workers start: forked where the platform can fork (also in ranks that the
        launcher spawned, whose default would be to spawn each epoch's workers: a fresh interpreter
        that imports everything again, and that a Ctrl-C can catch half-started); None without workers."""
        if self.num_workers == 0 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        return multiprocessing.get_context("fork")

    @property
    def is_main(self) -> bool:
        """Whether this process writes logs, checkpoints and results."""
        return self.rank == 0

    @property
    def show_progress(self) -> bool:
        """Whether this process shows progress (bars on a terminal, periodic lines otherwise:
        ``console.progress_bar``): only rank 0, and only with ``trainer.progress=true``."""
        return self.progress and self.is_main

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast context for the configured precision (a no-op for fp32)."""
        dtype = PRECISION_DTYPES[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def to_input(self, batch: torch.Tensor) -> torch.Tensor:
        """Move a float image batch to the device, in channels-last layout if configured."""
        batch = batch.to(self.device, non_blocking=True)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


def resolve_device(accelerator: str, local_rank: int = 0, local_world_size: int = 1) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` fails clearly without a GPU.

    On CUDA, rank ``local_rank`` of the ``local_world_size`` ranks on this machine gets a GPU of its
    own (``cuda_device_index``); more ranks than visible GPUs are refused.
    """
    if accelerator not in ACCELERATORS:
        raise UserError(f"trainer.accelerator={accelerator!r} is invalid; choose from: {', '.join(ACCELERATORS)}")
    if accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError("trainer.accelerator=cuda but no CUDA device is visible; use trainer.accelerator=cpu")
    visible = torch.cuda.device_count()
    bound = one_visible_gpu_named(os.environ.get("CUDA_VISIBLE_DEVICES"))
    return torch.device("cuda", cuda_device_index(local_rank, local_world_size, visible, bound))


def device_from(device: str | torch.device | None) -> torch.device:
    """The device a library caller names: None -> CUDA when available, else CPU (as
    ``trainer.accelerator=auto``); else ``"cpu"``, ``"cuda"``, ``"cuda:<index>"`` or a ``torch.device``.

    A ``UserError`` refuses what is not a device, and a CUDA device that is not visible.
    """
    if device is None:
        return resolve_device("auto")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(
            f"device={device!r} is invalid; accepted: None (CUDA if available, else CPU), 'cpu', 'cuda', "
            "'cuda:<index>' or a torch.device"
        ) from None
    if parsed.type == "cuda":
        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if visible == 0:
            raise UserError(f"device={device!r} but no CUDA device is visible; accepted here: 'cpu' or None")
        if parsed.index is not None and parsed.index >= visible:
            raise UserError(
                f"device={device!r} but {visible} CUDA device(s) are visible; accepted: cuda:0 to cuda:{visible - 1}"
            )
    return parsed


def one_visible_gpu_named(cuda_visible_devices: str | None) -> bool:
    """Whether ``CUDA_VISIBLE_DEVICES`` names exactly one GPU (a launcher bound this task to it)."""
    return cuda_visible_devices is not None and len([d for d in cuda_visible_devices.split(",") if d.strip()]) == 1


def cuda_device_index(local_rank: int, local_world_size: int, visible: int, bound_per_task: bool = False) -> int:
    """The CUDA device of rank ``local_rank`` of ``local_world_size`` ranks on one machine.

    Each rank needs a GPU of its own (NCCL refuses two ranks on one GPU): rank ``i`` takes GPU ``i``
    of the ``visible`` ones. A task that its launcher bound to one GPU of its own
    (``bound_per_task``, e.g. ``srun --gpus-per-task=1``) sees only that GPU and takes it.
    """
    if local_world_size <= visible:
        return local_rank
    if visible == 1 and bound_per_task:
        return 0
    raise UserError(
        f"{local_world_size} ranks on this machine but only {visible} visible GPU(s); every rank needs "
        f"its own GPU: accepted trainer.devices (or ranks per node) <= {visible}"
    )


def configure_cuda_math(device: torch.device, tf32: bool) -> None:
    """Process-wide CUDA math settings: TensorFloat-32 as configured, cuDNN autotuning on.

    ``tf32=False`` (``trainer.tf32``, the fidelity default) keeps fp32 convolutions and matrix
    products in full single precision; PyTorch's own default lets cuDNN use TF32 silently.
    cuDNN's benchmark mode picks the fastest convolution algorithm per input shape (the shapes of
    a training run are fixed). Nothing changes on a CPU device.
    """
    if device.type != "cuda":
        return
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    torch.backends.cudnn.benchmark = True


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


def rng_state(device: torch.device | None = None) -> dict[str, Any]:
    """States of Python's, NumPy's global and torch's CPU generators, and of ``device``'s if it is a GPU.

    In a DDP job every rank captures its own (its GPU's generator included); the checkpoint keeps
    one per rank.
    """
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Restore the generator states captured by ``rng_state`` (the GPU one onto ``device``).

    Checkpoints of earlier versions hold every GPU's state (a list); those are restored when the
    same number of GPUs is visible.
    """
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if isinstance(cuda, torch.Tensor) and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(cuda, device)
    elif isinstance(cuda, list) and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's global and torch's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rank_seed(seed: int, rank: int, epoch: int = 0) -> int:
    """A seed of its own for every (seed, rank, epoch): DDP ranks draw different dropout masks and
    adversarial starts, reproducibly."""
    return int(np.random.SeedSequence([int(seed), int(rank), int(epoch)]).generate_state(1)[0])
