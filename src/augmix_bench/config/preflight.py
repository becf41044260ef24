"""Checking a command line against the composed config before Hydra runs (and makes a run directory).

The config is composed with Hydra's compose API from the same overrides, and every value is
checked against the schema (``config/validate.py``): first the torch-free static checks, and only
when they pass the ``_target_`` imports; the run folder's name (which may derive a model's name
from its builder) is resolved last. When Hydra refuses the overrides (an unknown
key) or they form a sweep (``-m``), the config is composed from the config-group choices alone and
overridden keys that it lacks are refused with the closest existing key. A sweep's jobs are then
listed as Hydra's basic sweeper will run them (``config/sweep.py``), and each is composed and
checked as a single run is, all before the first job starts. Before all that,
``check_command_line`` refuses what Hydra itself would answer with a traceback: two mode flags, an
override its grammar cannot read, a launcher without its extra.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from ..errors import UserError, require_modules
from ..files import check_folder
from .overrides import named_folder, parsed_value
from .paths import config_dir, config_groups, user_config_dirs
from .sweep import BASIC_SWEEPER, SweepJob, sweep_jobs
from .validate import check_override_keys, validate_static, validate_targets

#: Hydra flags followed by a value.
VALUE_FLAGS: frozenset[str] = frozenset(
    {"--config-dir", "-cd", "--config-name", "-cn", "--config-path", "-cp", "--cfg", "-c", "--package", "-p",
     "--experimental-rerun"}
)
#: The optional value of ``--info`` / ``-i``.
INFO_TOPICS: frozenset[str] = frozenset({"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"})
#: Hydra flags that show something instead of running (values are not checked then).
SHOW_FLAGS: frozenset[str] = frozenset(
    {"--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i", "--shell-completion", "-sc", "--resolve"}
)
#: The keys naming the folder Hydra makes for a run or a sweep.
FOLDER_KEYS: tuple[str, ...] = ("hydra.run.dir", "hydra.sweep.dir")
#: Config nodes whose keys are not known before a checkpoint is read (``augmix-eval``).
OPEN_NODES: dict[str, tuple[str, ...]] = {"eval": ("dataset", "model")}
#: Hydra's flags that pick what the command does, by the name that says it (Hydra takes one at most).
MODE_FLAGS: dict[str, str] = {
    "--run": "--run", "-r": "--run", "--multirun": "-m", "-m": "-m", "--cfg": "--cfg", "-c": "--cfg",
    "--info": "--info", "-i": "--info", "--shell-completion": "--shell-completion", "-sc": "--shell-completion",
}
#: Launchers of the config tree (``hydra/launcher=<option>``) that need an optional extra: the
#: modules that must import, the extra that installs them, and the programs they run.
LAUNCHER_EXTRAS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "slurm": (("hydra_plugins.hydra_submitit_launcher", "submitit"), "slurm", ("srun",)),
}
#: Hydra's description of its override grammar.
GRAMMAR_URL = "https://hydra.cc/docs/1.3/advanced/override_grammar/basic/"


def split_arguments(arguments: Sequence[str]) -> tuple[list[str], set[str]]:
    """The overrides (``key=value``, ``~key``, ``group=option``) and the flags of a command line."""
    overrides, flags = [], set()
    skip = False
    previous = ""
    for argument in arguments:
        if skip or (previous in ("--info", "-i") and argument in INFO_TOPICS):
            skip, previous = False, ""
            continue
        previous = argument
        if argument.startswith("-") and not argument.startswith("--") and "=" in argument:
            overrides.append(argument)
        elif argument.startswith("-"):
            name = argument.split("=", 1)[0]
            flags.add(name)
            skip = name in VALUE_FLAGS and "=" not in argument
        else:
            overrides.append(argument)
    return overrides, flags


def check_command_line(arguments: Sequence[str]) -> None:
    """Refuse, in one ``UserError``, what Hydra itself would refuse with a traceback or a page of
    text: two mode flags (``-m`` with ``--cfg``), an override its grammar cannot read, a launcher
    whose optional extra is not installed."""
    overrides, flags = split_arguments(arguments)
    modes = sorted({MODE_FLAGS[f] for f in flags if f in MODE_FLAGS})
    if len(modes) > 1:
        hint = (" (to see the config of a sweep's job, pass that job's values with --cfg job and without -m)"
                if {"--cfg", "-m"} <= set(modes) else "")
        raise UserError(
            f"{' and '.join(modes)} cannot be combined; accepted: at most one of -m/--multirun, --cfg, "
            f"--info, --shell-completion, --run{hint}"
        )
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except OverrideParseException as exc:
            raise UserError(grammar_refusal(override, exc.message)) from None
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "hydra/launcher" and value in LAUNCHER_EXTRAS:
            _check_launcher(value, *LAUNCHER_EXTRAS[value])


def _check_launcher(option: str, modules: Sequence[str], extra: str, programs: Sequence[str]) -> None:
    """Refuse ``hydra/launcher=<option>`` when its extra's ``modules`` do not import or its
    ``programs`` are not on ``PATH``."""
    require_modules(f"hydra/launcher={option}", extra, modules)
    absent = [program for program in programs if shutil.which(program) is None]
    if absent:
        raise UserError(
            f"hydra/launcher={option} submits the jobs with {', '.join(absent)}, which is not on PATH; "
            f"run the command where {', '.join(absent)} is (e.g. a SLURM login node), or drop hydra/launcher={option}"
        )


def grammar_refusal(override: str, message: str) -> str:
    """The one line refusing ``override``, which Hydra's override grammar cannot read (``message``:
    Hydra's reason, several lines; for a character the lexer stops at, a caret under it)."""
    if "=" not in override and Path(override).exists():
        return (
            f"cannot read the override {override!r}: a path, not key=value; accepted: the path as the "
            f"value of its key, e.g. checkpoint={override} (augmix-eval) or hydra.run.dir={override}"
        )
    lines = message.splitlines()
    prefix = "LexerNoViableAltException: "
    if len(lines) > 1 and lines[0].startswith(prefix) and lines[1].strip() == "^":
        column = len(lines[1]) - 1 - len(prefix)
        where = repr(override[column]) if 0 <= column < len(override) else "a character"
        key, equals, value = override.partition("=")
        plain = equals and not {"'", '"'} & set(value)
        hint = f"quote the value: \"{key}='{value}'\"" if plain else f"accepted: Hydra's override grammar ({GRAMMAR_URL})"
        return f"cannot read the override {override!r}: Hydra's override grammar does not accept {where} there; {hint}"
    reasons = [line for line in lines if not line.startswith(("See ", "Error parsing override"))]
    reason = "; ".join(reasons) or "not an override"
    return f"cannot read the override {override!r}: {reason}; accepted: Hydra's override grammar ({GRAMMAR_URL})"


def _search_overrides(extra_dirs: list[Path]) -> list[str]:
    """The ``hydra.searchpath`` override that adds a user's ``--config-dir`` folders."""
    return [f"hydra.searchpath=[{','.join(f'file://{d.resolve()}' for d in extra_dirs)}]"] if extra_dirs else []


@contextlib.contextmanager
def _hydra_context(config_name: str) -> Iterator[None]:
    """Hydra's global state initialised on the package's config tree (for ``compose``)."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3", job_name=config_name):
        yield


def _compose_here(config_name: str, overrides: list[str], extra_dirs: list[Path]) -> tuple[DictConfig, DictConfig]:
    """The composed config without Hydra's node, and with it; inside ``_hydra_context``."""
    full = compose(config_name=config_name, overrides=[*overrides, *_search_overrides(extra_dirs)],
                   return_hydra_config=True)
    cfg = copy.deepcopy(full)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, full


def _compose(config_name: str, overrides: list[str], extra_dirs: list[Path]) -> tuple[DictConfig, DictConfig] | None:
    """The composed config without Hydra's node, and with it (to name the run folder later); None
    if Hydra itself refuses the overrides."""
    try:
        with _hydra_context(config_name):
            return _compose_here(config_name, overrides, extra_dirs)
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


def preflight(config_name: str, arguments: Sequence[str]) -> list[SweepJob]:
    """Refuse unknown keys and invalid values of a command line in one ``UserError``; for a sweep,
    of every job, before the first starts. Returns the sweep's jobs (none for a single run, or
    for a sweeper other than Hydra's basic one)."""
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
    choices, values = _split_choices(overrides, groups)
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
        return []
    base = _compose(config_name, choices, extra)  # Hydra refused the overrides (or a sweep): find the key
    if base is not None:
        check_override_keys(base[0], values, open_nodes)
        if sweep and not flags & SHOW_FLAGS:
            _check_default_folder(_folder(base[1], sweep=True), "hydra.sweep.dir", explicit_folder)
            return _check_jobs(config_name, overrides, base[1], extra, groups)
    return []


def _split_choices(overrides: Sequence[str], groups: set[str]) -> tuple[list[str], list[str]]:
    """The config-group choices (a sweep's first option) and the other task overrides, ``hydra.*`` left out."""
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
    return choices, values


def _check_jobs(
    config_name: str, overrides: list[str], full: DictConfig, extra: list[Path], groups: set[str]
) -> list[SweepJob]:
    """Compose and validate every job of a sweep before the first starts (the static checks of all
    jobs, then their targets); refuse the first bad job in one line naming its swept overrides
    (``job 1 (trainer.batch_size=0): ...``).

    Only the basic sweeper's jobs can be listed in advance; another sweeper's jobs (which it
    chooses as it goes) are checked as each starts. Returns the jobs (none for another sweeper).
    """
    sweeper = full.hydra.sweeper
    if OmegaConf.select(sweeper, "_target_") != BASIC_SWEEPER:
        return []
    params = OmegaConf.to_container(sweeper.params, resolve=True) if sweeper.get("params") else None
    composed = []
    with _hydra_context(config_name):
        jobs = sweep_jobs(overrides, params, GlobalHydra.instance().config_loader())  # type: ignore[arg-type]
        for job in jobs:  # every job's static checks first: torch-free, so a bad value is refused at once
            try:
                cfg, _ = _compose_here(config_name, list(job.overrides), extra)
                validate_static(config_name, cfg)
            except UserError as exc:
                raise UserError(f"{job.label}: {exc}") from None
            except (HydraException, OmegaConfBaseException, ValueError) as exc:
                raise UserError(f"{job.label}: {_refusal_of_job(config_name, job, extra, groups, exc)}") from None
            composed.append(cfg)
    for job, cfg in zip(jobs, composed):
        try:
            validate_targets(config_name, cfg)
        except UserError as exc:
            raise UserError(f"{job.label}: {exc}") from None
    return jobs


def _refusal_of_job(config_name: str, job: SweepJob, extra: list[Path], groups: set[str], exc: Exception) -> str:
    """Why Hydra refused to compose ``job``: an unknown key for the job's own group choices (e.g.
    ``model.depth`` with ``model=allconv``) with the closest existing key, else Hydra's first line."""
    choices, values = _split_choices(job.overrides, groups)
    try:
        cfg, _ = _compose_here(config_name, choices, extra)
        check_override_keys(cfg, values, OPEN_NODES.get(config_name, ()))
    except UserError as unknown:
        return str(unknown)
    except (HydraException, OmegaConfBaseException, ValueError):
        pass
    return str(exc).strip().splitlines()[0]


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
