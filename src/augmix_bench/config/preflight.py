"""Checking a command line against the composed config before Hydra runs (and makes a run directory).

The config is composed with Hydra's compose API from the same overrides, and every value is
checked against the schema (``config/validate.py``): first the torch-free static checks, and only
when they pass the ``_target_`` imports; the run folder's name (which may derive a model's name
from its builder) is resolved last. When Hydra refuses the overrides (an unknown
key) or they form a sweep (``-m``), the config is composed from the config-group choices alone and
overridden keys that it lacks are refused with the closest existing key. A sweep's values are
checked job by job when each job starts.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from ..errors import UserError
from ..files import check_folder
from .overrides import named_folder, parsed_value
from .paths import config_dir, config_groups, user_config_dirs
from .validate import check_override_keys, validate_static, validate_targets

#: Hydra flags followed by a value.
VALUE_FLAGS: frozenset[str] = frozenset(
    {"--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp", "--cfg", "-c", "--package", "-p",
     "--experimental-rerun"}
)
#: Hydra flags that show something instead of running (values are not checked then).
SHOW_FLAGS: frozenset[str] = frozenset(
    {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc", "--resolve"}
)
#: The keys naming the folder Hydra makes for a run or a sweep.
FOLDER_KEYS: tuple[str, ...] = ("hydra.run.dir", "hydra.sweep.dir")
#: Config nodes whose keys are not known before a checkpoint is read (``augmix-eval``).
OPEN_NODES: dict[str, tuple[str, ...]] = {"eval": ("dataset", "model")}


def split_arguments(arguments: Sequence[str]) -> tuple[list[str], set[str]]:
    """The overrides (``key=value``, ``~key``, ``group=option``) and the flags of a command line."""
    overrides, flags = [], set()
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument.startswith("-") and not argument.startswith("--") and "=" in argument:
            overrides.append(argument)
        elif argument.startswith("-"):
            name = argument.split("=", 1)[0]
            flags.add(name)
            skip = name in VALUE_FLAGS and "=" not in argument
        else:
            overrides.append(argument)
    return overrides, flags


def _compose(config_name: str, overrides: list[str], extra_dirs: list[Path]) -> tuple[DictConfig, DictConfig] | None:
    """The composed config without Hydra's node, and with it (to name the run folder later); None
    if Hydra itself refuses the overrides."""
    search = [f"hydra.searchpath=[{','.join(f'file://{d.resolve()}' for d in extra_dirs)}]"] if extra_dirs else []
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3", job_name=config_name):
            full = compose(config_name=config_name, overrides=[*overrides, *search], return_hydra_config=True)
        cfg = copy.deepcopy(full)
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg, full
    except (HydraException, OmegaConfBaseException, ValueError):
        return None


def _folder(full: DictConfig, sweep: bool) -> str | None:
    """The folder Hydra will make for the run or the sweep (None where it makes none, or where its
    name does not resolve: validation has said why)."""
    if full.hydra.output_subdir is None:
        return None
    with contextlib.suppress(OmegaConfBaseException, ValueError):
        return str(full.hydra.sweep.dir if sweep else full.hydra.run.dir)
    return None


def preflight(config_name: str, arguments: Sequence[str]) -> None:
    """Refuse unknown keys and invalid values of a command line in one ``UserError``."""
    overrides, flags = split_arguments(arguments)
    explicit_folder = False
    for key in FOLDER_KEYS:
        given = [o for o in overrides if o.lstrip("+").split("=", 1)[0] == key and "=" in o]
        if given and parsed_value(given[-1]) == "":
            raise UserError(f"{key}= is empty; accepted: a folder path (e.g. {key}=results/runs/my_run)")
        folder = named_folder(overrides, key)
        if folder is not None:
            check_folder(folder, key)
        explicit_folder = explicit_folder or bool(given)
    extra = user_config_dirs(arguments)
    groups = config_groups(extra)
    choices, values = [], []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key.startswith("hydra"):
            continue
        if key in groups and "=" in override:
            value = override.split("=", 1)[1]
            if "(" not in value:
                choices.append(f"{override.split('=', 1)[0]}={value.split(',')[0]}")
            continue
        values.append(override)
    open_nodes = OPEN_NODES.get(config_name, ())
    sweep = bool(flags & {"-m", "--multirun"})
    composed = None if sweep else _compose(config_name, [*choices, *values], extra)
    adding = [v for v in values if v.startswith("+")]
    if composed is not None:
        cfg, full = composed
        if adding:  # new keys: checked against the config they are added to
            base = _compose(config_name, choices, extra)
            if base is not None:
                check_override_keys(base[0], values, open_nodes)
        check_override_keys(cfg, [v for v in values if v not in adding], open_nodes)
        if not flags & SHOW_FLAGS:
            validate_static(config_name, cfg)
            validate_targets(config_name, cfg)
            _check_default_folder(_folder(full, sweep=False), "hydra.run.dir", explicit_folder)
        return
    base = _compose(config_name, choices, extra)  # Hydra refused the overrides (or a sweep): find the key
    if base is not None:
        check_override_keys(base[0], values, open_nodes)
        if sweep and not flags & SHOW_FLAGS:
            _check_default_folder(_folder(base[1], sweep=True), "hydra.sweep.dir", explicit_folder)


def _check_default_folder(folder: str | None, key: str, explicit: bool) -> None:
    """Refuse a default run or sweep folder (``results/...`` under the current folder) that cannot be
    made; a folder given on the command line was checked already."""
    if folder is not None and not explicit:
        check_folder(Path.cwd() / folder, key)


#: Config nodes whose keys a native checkpoint defines; the eval config cannot list them in advance.
RUN_NODES: tuple[str, ...] = ("dataset.", "model.")


def open_run_keys(arguments: Sequence[str]) -> list[str]:
    """Command-line arguments with ``dataset.*`` / ``model.*`` overrides turned into ``++`` ones.

    The eval config knows only ``dataset.root`` and ``dataset.download`` until a checkpoint is
    read, so ``dataset.image_size=...`` or ``dataset.corruptions_url=...`` would be refused as
    unknown keys; ``++`` adds or overrides them, and the checkpoint's config decides what they mean.
    """
    return [f"++{a}" if a.startswith(RUN_NODES) and "=" in a else a for a in arguments]
