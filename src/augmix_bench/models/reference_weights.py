"""Loading checkpoints saved by the AugMix reference implementation into this package's models.

The reference training script saves ``{"epoch", "dataset", "model", "state_dict", "best_acc",
"optimizer"}`` with the model wrapped in ``DataParallel``, so every state-dict key starts with
``module.``. The CIFAR models here use the reference's module names, so once that prefix is gone
the keys map one to one (the tests check this against the reference's key and shape listings).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoint_io import load_checkpoint
from ..errors import UserError
from .state_dict import load_fitting_state_dict

#: Key prefix that ``torch.nn.DataParallel`` adds to every entry of the wrapped model's state dict.
DATA_PARALLEL_PREFIX = "module."


def reference_state_dict(checkpoint: object) -> dict[str, torch.Tensor]:
    """The model weights of a reference checkpoint: its ``state_dict`` entry, or the dict itself.

    A ``UserError`` if neither is a state dict (a mapping of names to tensors).
    """
    if not isinstance(checkpoint, Mapping):
        raise UserError(f"checkpoint holds a {type(checkpoint).__name__}, not a dict")
    state = checkpoint.get("state_dict", checkpoint)
    is_state_dict = isinstance(state, Mapping) and all(isinstance(v, torch.Tensor) for v in state.values())
    if not is_state_dict or not state:
        keys = ", ".join(map(str, list(checkpoint)[:8]))
        raise UserError(
            f"checkpoint holds neither a 'state_dict' entry nor a bare state dict (top-level keys: {keys}); "
            "checkpoints written by augmix-train need checkpoint_format=native"
        )
    return dict(state)


def strip_data_parallel_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state_dict`` without ``DataParallel``'s ``module.`` prefix (unchanged if not every key has it)."""
    if not all(key.startswith(DATA_PARALLEL_PREFIX) for key in state_dict):
        return dict(state_dict)
    return {key[len(DATA_PARALLEL_PREFIX):]: value for key, value in state_dict.items()}


def load_reference_weights(
    model: nn.Module, state_dict_or_path: Mapping[str, Any] | str | Path, model_name: str | None = None
) -> None:
    """Load a checkpoint of the reference implementation into ``model`` (in place).

    ``state_dict_or_path`` is a checkpoint file, the dict such a file holds (``{"state_dict": ...}``),
    or a bare state dict, with or without ``DataParallel``'s ``module.`` prefix. Refuses with a
    one-line ``UserError`` naming the first missing, unexpected or differently shaped key;
    ``model_name`` (default: the model's class name) is what that message calls the model.
    """
    if isinstance(state_dict_or_path, (str, Path)):
        checkpoint = load_checkpoint(state_dict_or_path)
    else:
        checkpoint = state_dict_or_path
    state_dict = strip_data_parallel_prefix(reference_state_dict(checkpoint))
    load_fitting_state_dict(model, state_dict, model_name or type(model).__name__)
