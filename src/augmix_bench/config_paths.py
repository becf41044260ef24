"""Locating the Hydra config tree and checking config-group choices before Hydra composes them.

The configs ship inside the wheel (``augmix_bench/configs``); in a source checkout (editable
install) they are the repository's top-level ``configs/`` folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import UserError


def config_dir() -> Path:
    """The folder holding ``train.yaml`` and the config groups."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parents[1] / "configs"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise RuntimeError(f"augmix-bench configs not found next to {here}; reinstall the package")


def group_options(group: str) -> list[str]:
    """The options of config group ``group`` (file names without ``.yaml``)."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


def _user_groups() -> list[str]:
    root = config_dir()
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_dir() and not p.relative_to(root).parts[0] in ("hydra", "recipe")
    )


def check_group_choices(config_name: str, overrides: Sequence[str]) -> None:
    """Refuse ``group=option`` overrides naming an option that does not exist, in one line.

    Hydra's own message for that case spans many lines; this names the bad value and the
    accepted ones. Sweep lists (``model=a,b``) are checked element by element; Hydra's sweep
    functions (``choice(...)``, ``glob(...)``) are left to Hydra.
    """
    groups = _user_groups()
    for override in overrides:
        if override.startswith("-") or "=" not in override:
            continue
        key, value = override.split("=", 1)
        key = key.lstrip("+~")
        if key not in groups or "(" in value or "@" in key:
            continue
        options = group_options(key)
        for choice in (v.strip().strip("'\"") for v in value.split(",")):
            if choice in ("null", "") and key == "experiment":
                continue
            if choice not in options:
                raise UserError(f"unknown {key} {choice!r}; choose from: {', '.join(options)}")
