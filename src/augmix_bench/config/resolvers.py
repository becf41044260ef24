"""OmegaConf resolvers that the config tree uses (registered when ``augmix_bench.config`` is imported)."""

from __future__ import annotations

import inspect
import string
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .targets import import_target, target_name


class _NameFormatter(string.Formatter):
    """Formats a model name: a bool shows the text after its colon when true and nothing when false,
    a float its shortest form (``1.0`` -> ``1``), anything else as ``str`` does; it never raises on a
    value of an unexpected type (validation refuses that value afterwards, in one line)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, bool):
            return format_spec if value else ""
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)


def _builder_defaults(target: Any) -> dict[str, Any]:
    """The default argument values of what a ``_target_`` names; empty when it does not import."""
    try:
        parameters = inspect.signature(import_target(str(target))).parameters
    except Exception:  # noqa: BLE001 - an unimportable target is reported when the config is validated
        return {}
    return {n: p.default for n, p in parameters.items() if p.default is not inspect.Parameter.empty}


def arch_name(preset: str, form: str, *, _parent_: DictConfig) -> str:
    """A model's name: ``preset`` while its architecture is the builder's default, else ``form`` filled in.

    The fields of ``form`` (``str.format`` style, e.g. ``'densenet{depth}_k{growth_rate}'``) are the
    architecture's keys in the model's config node (``_parent_``); they are compared with the default
    arguments of its ``_target_``, so the defaults are declared once, in the builder. Keys that are not
    fields (e.g. ``dropout``, ``weights``) leave the name as it is.
    """
    defaults = _builder_defaults(_parent_.get("_target_"))
    fields = [field for _, field, _, _ in _NameFormatter().parse(form) if field]
    values = {field: _parent_.get(field, defaults.get(field)) for field in fields}  # a removed key: its default
    if all(field in defaults and values[field] == defaults[field] for field in fields):
        return preset
    return _NameFormatter().format(form, **values)


def register_resolvers() -> None:
    """Register ``${target_name:...}`` (``model=custom``'s default name) and ``${arch_name:...}``
    (the shipped models' names, derived when their architecture is overridden)."""
    for name, resolver in (("target_name", target_name), ("arch_name", arch_name)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
