"""Checking config options against the arguments a constructor accepts."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import UserError


def accepted_arguments(fn: Callable[..., Any], exclude: Iterable[str] = ()) -> list[str]:
    """Names of the keyword arguments ``fn`` takes (without ``self`` and ``exclude``)."""
    skip = {"self", *exclude}
    return [
        name
        for name, p in inspect.signature(fn).parameters.items()
        if name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def check_options(what: str, options: Mapping[str, Any], accepted: Iterable[str]) -> None:
    """Raise a ``UserError`` naming the first key of ``options`` that is not in ``accepted``."""
    accepted = list(accepted)
    for key in options:
        if key not in accepted:
            raise UserError(f"{what} has no option {key!r}; accepted: {', '.join(accepted) or 'none'}")
