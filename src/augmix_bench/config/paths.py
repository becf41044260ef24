"""Locating the Hydra config tree and checking config-group choices before Hydra composes them.

The configs ship inside the wheel (``augmix_bench/configs``); in a source checkout (editable
install) they are the repository's top-level ``configs/`` folder.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ..errors import UserError


def config_dir() -> Path:
    """The folder holding ``train.yaml`` and the config groups."""
    here = Path(__file__).resolve().parents[1]  # the augmix_bench package
    for candidate in (here / "configs", here.parents[1] / "configs"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise RuntimeError(f"augmix-bench configs not found next to {here}; reinstall the package")


#: The environment variable naming the data root (``dataset.root``'s default).
DATA_VARIABLE = "AUGMIX_DATA"


def ignore_empty_data_variable(environ: MutableMapping[str, str] = os.environ) -> None:
    """Treat ``AUGMIX_DATA`` set to nothing (``AUGMIX_DATA=``) as unset, so that ``dataset.root``
    falls back to ``./data`` instead of an empty root (``${oc.env:AUGMIX_DATA,./data}/demo`` would
    be ``/demo``). Removed from ``environ`` itself: ranks started later see the same."""
    if DATA_VARIABLE in environ and not environ[DATA_VARIABLE].strip():
        del environ[DATA_VARIABLE]


def user_config_dirs(arguments: Sequence[str]) -> list[Path]:
    """The folders given with ``--config-dir DIR`` / ``-cd DIR`` / ``--config-dir=DIR``."""
    found = []
    for index, argument in enumerate(arguments):
        if argument in ("--config-dir", "-cd") and index + 1 < len(arguments):
            found.append(Path(arguments[index + 1]).expanduser())
        elif argument.startswith("--config-dir="):
            found.append(Path(argument.split("=", 1)[1]).expanduser())
    return found


def group_options(group: str, extra_dirs: Sequence[Path] = ()) -> list[str]:
    """The options of config group ``group`` (file names without ``.yaml``) on the search path:
    the package's config tree and ``extra_dirs`` (a user's ``--config-dir``)."""
    return sorted({p.stem for root in (config_dir(), *extra_dirs) for p in (root / group).glob("*.yaml")})


def dataset_config(name: str) -> dict[str, Any]:
    """The options of the package's dataset ``name`` (``configs/dataset/<name>.yaml``) as a plain
    dict, read without Hydra; a ``UserError`` naming the accepted datasets for an unknown one."""
    options = group_options("dataset")
    if name not in options:
        raise UserError(f"unknown dataset {name!r}; choose from: {', '.join(options)}")
    options_file = config_dir() / "dataset" / f"{name}.yaml"
    return OmegaConf.to_container(OmegaConf.load(options_file), resolve=True)  # type: ignore[return-value]


def _groups(roots: Sequence[Path]) -> set[str]:
    """Config groups (sub-folders) under ``roots``, without Hydra's own and the recipe tables."""
    return {
        str(p.relative_to(root))
        for root in roots
        for p in root.rglob("*")
        if p.is_dir() and p.relative_to(root).parts[0] not in ("hydra", "recipe")
    }


def config_groups(extra_dirs: Sequence[Path] = ()) -> set[str]:
    """The config groups (``model``, ``dataset``, ...) of the package's tree and ``extra_dirs``."""
    return _groups([config_dir(), *extra_dirs])


def check_group_choices(config_name: str, overrides: Sequence[str]) -> None:
    """Refuse ``group=option`` overrides naming an option that does not exist, in one line.

    Hydra's own message for that case spans many lines; this names the bad value and the
    accepted ones, found on the whole search path (the package's configs and any ``--config-dir``).
    Sweep lists (``model=a,b``) are checked element by element; Hydra's sweep functions
    (``choice(...)``, ``glob(...)``) are left to Hydra.
    """
    extra = user_config_dirs(overrides)
    for folder in extra:
        if not folder.is_dir():
            raise UserError(f"--config-dir {folder} is not a folder")
    groups = _groups([config_dir(), *extra])
    for override in overrides:
        if override.startswith("-") or "=" not in override:
            continue
        key, value = override.split("=", 1)
        key = key.lstrip("+~")
        if key not in groups or "(" in value or "@" in key:
            continue
        options = group_options(key, extra)
        for choice in (v.strip().strip("'\"") for v in value.split(",")):
            if choice in ("null", "") and key == "experiment":
                continue
            if choice not in options:
                raise UserError(f"unknown {key} {choice!r}; choose from: {', '.join(options)}")
