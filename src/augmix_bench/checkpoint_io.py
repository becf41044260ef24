"""Checkpoint files: atomic saving, and loading with clear errors."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import UserError
from .files import atomic_write_bytes

#: Layout version of native checkpoints (bumped on incompatible changes).
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Serialize ``state`` with ``torch.save`` and write it atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint onto the CPU; a ``UserError`` if it is missing, unreadable or written in a
    newer ``format_version`` than this version reads. ``mmap``: tensors are read only when used
    (cheap when only a few plain entries are wanted)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise UserError(f"checkpoint {path} is not a readable PyTorch file ({str(exc).splitlines()[0]})") from None
    version = state.get("format_version") if isinstance(state, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise UserError(
            f"checkpoint {path} has format_version {version}, written by a newer augmix-bench; "
            f"this one ({__version__}) reads format_version {FORMAT_VERSION}: upgrade augmix-bench to use it"
        )
    return state
