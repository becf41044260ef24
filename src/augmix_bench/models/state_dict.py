"""Loading a state dict into a model only when every key and shape fits, with a one-line error otherwise."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import UserError


def first_mismatch(model_state: Mapping[str, torch.Tensor], loaded: Mapping[str, torch.Tensor]) -> str | None:
    """The first difference between two state dicts, in words, or None when they fit.

    The model's keys are checked in order (missing key or different shape), then the loaded
    dict's keys that the model lacks.
    """
    for key, tensor in model_state.items():
        if key not in loaded:
            return f"key {key!r} is missing from the checkpoint"
        if tuple(loaded[key].shape) != tuple(tensor.shape):
            return (
                f"key {key!r} has shape {tuple(loaded[key].shape)} in the checkpoint, "
                f"{tuple(tensor.shape)} in the model"
            )
    for key in loaded:
        if key not in model_state:
            return f"key {key!r} in the checkpoint has no counterpart in the model"
    return None


def load_fitting_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], model_name: str
) -> None:
    """Copy ``state_dict`` into ``model``; a ``UserError`` naming the first mismatch if it does not fit."""
    mismatch = first_mismatch(model.state_dict(), state_dict)
    if mismatch is not None:
        raise UserError(f"checkpoint does not fit model {model_name!r}: {mismatch}")
    model.load_state_dict(state_dict)
