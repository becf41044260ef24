"""Reading and writing single Hydra overrides: the value of ``key=value`` as Hydra parses it, and
a ``key=value`` that Hydra's lexer reads back as the very string given (spaces, non-ASCII letters,
quotes and ``${`` included)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

#: Values Hydra reads unquoted as themselves (ASCII letters, digits and ``_ / . -``).
PLAIN_VALUE = re.compile(r"[A-Za-z0-9_/.\-]+")


def quote_value(value: str) -> str:
    """``value`` as an override value: as it is where it is plain, else single-quoted with
    OmegaConf's escapes (``\\${`` for a literal ``${``, backslashes before it doubled) and then
    Hydra's (a backslash before each quote, backslashes doubled before a quote or the end)."""
    if PLAIN_VALUE.fullmatch(value):
        return value
    escaped = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", value)
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", escaped)
    escaped = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped)
    return f"'{escaped}'"


def override(key: str, value: str | Path) -> str:
    """``key=value`` that Hydra reads back with ``value`` as the string given."""
    return f"{key}={quote_value(str(value))}"


def parsed_value(argument: str) -> object:
    """The value of the override ``argument`` as Hydra parses it (a sweep, list or dict as Hydra's
    objects); None if Hydra cannot parse it (Hydra itself then refuses it)."""
    try:
        return OverridesParser.create().parse_overrides([argument])[0].value()
    except HydraException:
        return None


def named_folder(overrides: Sequence[str], key: str) -> Path | None:
    """The folder the last ``key=...`` of ``overrides`` names, as Hydra will make it (relative to
    the current folder, ``~`` unexpanded, as Hydra leaves it); None where there is none or its name
    is known only when the config resolves (``${...}``)."""
    given = [a for a in overrides if a.lstrip("+").split("=", 1)[0] == key and "=" in a]
    if not given:
        return None
    value = parsed_value(given[-1])
    if not isinstance(value, str) or not value or "${" in value:
        return None
    return Path(value)
