"""Model registry: architecture name -> constructor, and ``build_model``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import UserError
from ..options import accepted_arguments, check_options
from .allconv import allconv
from .densenet import densenet, densenet_bc
from .resnet import resnet50
from .resnext import resnext29
from .wrn import wrn40_2

MODELS: dict[str, Callable[..., nn.Module]] = {
    "wrn40_2": wrn40_2,
    "allconv": allconv,
    "densenet": densenet,
    "densenet_bc": densenet_bc,
    "resnext29": resnext29,
    "resnet50": resnet50,
}


def build_model(name: str, num_classes: int, **overrides: Any) -> nn.Module:
    """Build architecture ``name`` for ``num_classes`` classes; ``overrides`` go to its constructor.

    Unknown names or constructor arguments raise a ``UserError`` that lists the accepted ones.
    """
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; choose from: {', '.join(sorted(MODELS))}")
    constructor = MODELS[name]
    check_options(f"model {name!r}", overrides, accepted_arguments(constructor, exclude=["num_classes"]))
    return constructor(num_classes=num_classes, **overrides)
