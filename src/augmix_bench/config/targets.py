"""Dotted ``_target_`` paths: importing what they name, and their short name."""

from __future__ import annotations

import importlib
from typing import Any


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
