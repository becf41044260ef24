"""Model registry: architecture name -> builder, open to outside code, and ``build_model``.

Builders are functions (or classes) taking ``num_classes`` and their own keyword options. The
package's architectures register themselves with ``@register_model``; library users add theirs
the same way (as timm does), and ``build_model(name, ...)`` finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from ..errors import UserError
from ..options import accepted_arguments, check_options

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(builder: Builder | None = None, *, name: str | None = None) -> Any:
    """Register ``builder`` under ``name`` (default: its ``__name__``); usable as ``@register_model``.

    A second builder under a taken name raises a ``ValueError``.
    """

    def register(fn: Builder) -> Builder:
        key = name or fn.__name__
        if key in MODELS and MODELS[key] is not fn:
            raise ValueError(f"model name {key!r} is already registered (by {MODELS[key].__module__})")
        MODELS[key] = fn
        return fn

    return register if builder is None else register(builder)


def build_model(name: str, num_classes: int, **overrides: Any) -> nn.Module:
    """Build architecture ``name`` for ``num_classes`` classes; ``overrides`` go to its constructor.

    Unknown names or constructor arguments raise a ``UserError`` that lists the accepted ones.
    """
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}; choose from: {', '.join(sorted(MODELS))}")
    builder = MODELS[name]
    check_options(f"model {name!r}", overrides, accepted_arguments(builder, exclude=["num_classes"]))
    return builder(num_classes=num_classes, **overrides)
