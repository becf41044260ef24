"""Dotted ``_target_`` paths: importing what they name, their short name, and checking a component's
options against the signature of its target (the target's module is imported only when called)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import UserError
from ..options import accepted_arguments, check_options

#: Keys of a component config that describe it rather than being constructor arguments.
DESCRIPTIVE_KEYS: tuple[str, ...] = ("_target_", "name")
#: Keys of a dataset config that the tool reads itself (never passed to the constructor).
DATASET_TOOL_KEYS: tuple[str, ...] = ("download",)


def target_name(target: str) -> str:
    """The last component of a dotted ``_target_`` (``torchvision.models.resnet18`` -> ``resnet18``)."""
    return str(target).rsplit(".", 1)[-1]


def import_target(path: str) -> Any:
    """The object a dotted path names (``package.module.Class``), imported without Hydra's logging.

    A module missing inside an importable package (a dependency of the target's own module) is
    raised as it is, not mistaken for a wrong path. A path naming both a submodule and an attribute
    of its package (``augmix_bench.models.densenet``, the function the package imports from its
    module ``densenet``) names the attribute, as ``from package import name`` does.
    """
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            found = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        if cut == len(parts) and cut > 1:
            found = getattr(importlib.import_module(".".join(parts[:-1])), parts[-1], found)
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(f"No module named {parts[0]!r}", name=parts[0])


def locate(kind: str, target: Any) -> Callable[..., Any]:
    """The callable a ``_target_`` names; a ``UserError`` naming it when it cannot be imported."""
    if not isinstance(target, str) or not target:
        raise UserError(f"{kind}._target_={target!r} is invalid; accepted: a dotted path such as mypkg.MyNet")
    try:
        found = import_target(target)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's path or package
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"{kind}._target_={target!r} cannot be imported ({reason}); "
            "check the spelling and that its package is installed or on PYTHONPATH"
        ) from None
    if not callable(found):
        raise UserError(f"{kind}._target_={target!r} is not a class or function")
    return found


def _takes_any_keyword(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def check_component(kind: str, options: Mapping[str, Any]) -> tuple[Callable[..., Any], dict[str, Any], list[str] | None]:
    """Import a component's ``_target_`` and check its options against the target's signature
    (unless it takes ``**kwargs``), without building it: a wrong path or a typo is one line.

    Returns the target, its constructor arguments and the keyword names it accepts (None: any).
    """
    target = options.get("_target_")
    fn = locate(kind, target)
    arguments = {k: v for k, v in options.items() if k not in DESCRIPTIVE_KEYS}
    if _takes_any_keyword(fn):
        return fn, arguments, None
    accepted = accepted_arguments(fn)
    check_options(f"{kind} {target_name(target)!r} ({target})", arguments, accepted)
    return fn, arguments, accepted
