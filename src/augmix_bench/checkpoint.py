"""Checkpoints: atomic saving, loading with clear errors, and every random number generator's state."""

from __future__ import annotations

import io
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import UserError
from .files import atomic_write_bytes

#: Layout version of native checkpoints (bumped on incompatible changes).
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Serialize ``state`` with ``torch.save`` and write it atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint onto the CPU; a ``UserError`` if it is missing or unreadable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise UserError(f"checkpoint {path} is not a readable PyTorch file ({str(exc).splitlines()[0]})") from None


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
