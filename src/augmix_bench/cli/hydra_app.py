"""Wire Hydra to the commands' tasks: check the command line before anything is written, compose
the config, run the task, and turn a refusal or an interrupt into one line and exit status 2.

A sweep (``-m``) is checked whole before its first job starts. A job that fails while it runs
(e.g. a data error) prints its line, records it in the sweep's ``runs.jsonl`` and the sweep goes
on with its next job; the sweep then ends with one line naming the failed jobs and exit status 2.
An interrupt stops the whole sweep.
"""

from __future__ import annotations

import contextlib
import functools
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from ..commands.tasks import TASKS
from ..config.overrides import named_folder, override
from ..config.paths import check_group_choices, config_dir, ignore_empty_data_variable
from ..config.preflight import SHOW_FLAGS, check_command_line, open_run_keys, preflight, split_arguments
from ..config.sweep import SweepJob
from ..config.validate import validate_config
from ..distributed.environment import is_secondary_launched_rank, secondary_rank_overrides
from ..errors import Diverged, Interrupted, UserError
from ..files import os_error_line
from ..folder_lock import FolderBusy, folder_locked
from .allocator import keep_freed_memory
from ..sweep_index import INDEX_NAME, append_entry, index_size, read_entries
from .run_records import LOG_NAME, RunRecord, append_log_line, refuse_in, remove_failed_sweep


def run_hydra(program: str, config_name: str) -> None:
    """Run ``program`` (the Hydra command of ``config_name``) on ``sys.argv``: check the command
    line, compose the config and run the task. A refusal ends in one line and ``SystemExit(2)``; a
    ``KeyboardInterrupt`` before the training task started undoes what Hydra wrote, then propagates."""
    keep_freed_memory()
    ignore_empty_data_variable()
    try:
        check_command_line(sys.argv[1:])
        if config_name == "eval":
            sys.argv[1:] = open_run_keys(sys.argv[1:])
        check_group_choices(config_name, sys.argv[1:])
        jobs = preflight(config_name, sys.argv[1:])
    except UserError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    record = None
    lock: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if config_name == "train" and is_secondary_launched_rank():
        sys.argv.extend(secondary_rank_overrides())
    elif config_name == "train":
        folder = named_folder(split_arguments(sys.argv[1:])[0], "hydra.run.dir")
        record = RunRecord.capture(folder) if folder is not None else None
        lock = _named_folder_lock(sys.argv[1:])
    task = _reporting_errors(program, config_name, TASKS[config_name], record)
    RunFolderCallback.setting_up = RunFolderCallback.sweep = None
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(lock)  # before Hydra writes .hydra/* into a folder another run uses
        except FolderBusy as exc:
            print(f"{program}: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        try:
            hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)(task)()
        except KeyboardInterrupt:
            folder = RunFolderCallback.setting_up
            if config_name == "train" and folder is not None and not is_secondary_launched_rank():
                _undo_run_setup(f"{program}: error: interrupted", record, folder)
            raise
    if RunFolderCallback.sweep is not None:
        _end_sweep(program, *RunFolderCallback.sweep, jobs)


def _named_folder_lock(arguments: list[str]) -> contextlib.AbstractContextManager[None]:
    """The lock on the run folder (or, for ``-m``, the sweep folder) a training command line names,
    taken before Hydra writes there; none where it names none (the task then locks the run folder
    Hydra made) or only shows something (``--cfg``, ``--help``)."""
    overrides, flags = split_arguments(arguments)
    if flags & SHOW_FLAGS:
        return contextlib.nullcontext()
    key = "hydra.sweep.dir" if flags & {"-m", "--multirun"} else "hydra.run.dir"
    folder = named_folder(overrides, key)
    return contextlib.nullcontext() if folder is None else folder_locked(folder, key)


def _end_sweep(program: str, sweep_dir: Path, index_start: int, jobs: Sequence[SweepJob]) -> None:
    """After a sweep whose jobs all ran: if some failed, one line naming them and ``SystemExit(2)``.

    Each failed job printed its own line and recorded it in the sweep's ``runs.jsonl``; a sweep
    none of whose jobs left a folder (e.g. all refused at start-up) is removed with its records.
    """
    entries = read_entries(sweep_dir, index_start)
    failed = [e for e in entries if "error" in e]
    if not failed:
        return
    by_index = {job.index: job for job in jobs}
    labels = ", ".join(by_index[e["job"]].label if e.get("job") in by_index else f"job {e.get('job')}" for e in failed)
    total = len(jobs) or len(entries)
    kept = remove_failed_sweep(sweep_dir)
    where = f"their lines are in {sweep_dir / INDEX_NAME}" if kept else "no job left a folder, so the sweep folder is removed"
    print(f"{program}: error: {len(failed)} of {total} jobs failed: {labels}; {where}", file=sys.stderr)
    raise SystemExit(2)


class RunFolderCallback(Callback):
    """Hydra callback (``hydra.callbacks`` in train.yaml): notes the run folder while Hydra sets it
    up, so that an interrupt before the task starts can undo what Hydra wrote there, and a sweep's
    folder, so that its failed jobs can be told when it ends."""

    #: The run folder (absolute) from the moment Hydra has composed the config until the task starts.
    setting_up: Path | None = None
    #: The sweep folder (absolute) and the length of its ``runs.jsonl`` when the sweep started.
    sweep: tuple[Path, int] | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note ``hydra.sweep.dir`` (the sweeper makes it next) and where this sweep's index lines begin."""
        folder = Path(str(config.hydra.sweep.dir)).absolute()
        RunFolderCallback.sweep = (folder, index_size(folder))

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note ``hydra.run.dir`` (Hydra resolves it to the same value when it makes the folder)."""
        RunFolderCallback.setting_up = Path(str(config.hydra.run.dir)).absolute()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Hydra has written ``.hydra/*`` and opened ``train.log``; the task starts now."""
        RunFolderCallback.setting_up = None


def _undo_run_setup(line: str, record: RunRecord | None, run_dir: Path, sweep_dir: Path | None = None) -> None:
    """Put ``run_dir``, which Hydra set up for a refused or interrupted run, back as it was
    (``record``: the folder named on the command line, as it was before; None: the folder is new)
    and log ``line`` there if it stays; a ``sweep_dir`` that no job left anything in goes too."""
    same = record is not None and record.path.resolve() == run_dir.resolve()
    refuse_in(run_dir, record if same else None, line)
    if sweep_dir is not None:
        remove_failed_sweep(sweep_dir)


def _reporting_errors(
    program: str,
    config_name: str,
    task: Callable[[DictConfig], Any],
    record: RunRecord | None,
) -> Callable[[DictConfig], Any]:
    """Wrap ``task`` so that a ``UserError``, ``OSError`` or interrupt ends in one line on stderr
    and exit status 2.

    A refused training command leaves its run directory as it found it (``run_records``); an
    interrupted one ends with the command that continues it (or starts it again, if nothing was saved).
    """

    def report(exc: Exception) -> None:
        """Print the line and put the run folder right; exit 2, except in a sweep, which goes on
        with its next job after recording the failed one (an interrupt stops the whole sweep)."""
        text = _error_text(program, exc)
        line = f"{program}: error: {text}"
        hydra_cfg = HydraConfig.get() if config_name == "train" else None
        sweep_dir = Path(hydra_cfg.sweep.dir) if hydra_cfg is not None and hydra_cfg.mode == RunMode.MULTIRUN else None
        goes_on = sweep_dir is not None and not isinstance(exc, Interrupted)
        if not is_secondary_launched_rank():
            print(line, file=sys.stderr)
            if hydra_cfg is None or isinstance(exc, FolderBusy):
                pass  # not a training run, or the folder is another run's: nothing of it is touched
            elif isinstance(exc, Interrupted) and exc.resumable or isinstance(exc, Diverged) and exc.saved:
                append_log_line(Path(hydra_cfg.runtime.output_dir) / LOG_NAME, line)  # the run stands
            else:
                _undo_run_setup(line, record, Path(hydra_cfg.runtime.output_dir), None if goes_on else sweep_dir)
            if goes_on and hydra_cfg is not None and sweep_dir is not None:
                entry = {"job": hydra_cfg.job.num, "overrides": list(hydra_cfg.overrides.task),
                         "run_dir": str(hydra_cfg.runtime.output_dir), "error": text}
                append_entry(sweep_dir, entry)
        if not goes_on:
            raise SystemExit(2) from None

    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            if config_name == "train" and HydraConfig.get().mode == RunMode.MULTIRUN:
                validate_config(config_name, cfg)  # another sweeper's jobs were not listed in advance
            return task(cfg)
        except (UserError, Interrupted, OSError) as exc:
            report(exc)
            return None
        except KeyboardInterrupt:  # outside the training loop (starting up, or another command)
            if config_name != "train":
                raise  # one line from the entry point, as before the task started
            from ..training.loop import interrupted_from_checkpoint

            report(interrupted_from_checkpoint(Path(HydraConfig.get().runtime.output_dir)))

    return wrapped


def _error_text(program: str, exc: Exception) -> str:
    """The text after ``<program>: error:`` for a refused or stopped command."""
    if isinstance(exc, Interrupted):
        return _continue_line(program, exc)
    if isinstance(exc, OSError):
        return f"cannot write {os_error_line(exc)}"
    return str(exc)


def _continue_line(program: str, interrupted: Interrupted) -> str:
    """``interrupted after epoch N; continue with: <the command that resumes the run>``, or, before
    any checkpoint was written, the command that starts the run again in the same folder."""
    kept = [a for a in sys.argv[1:] if not a.startswith(("resume=", "hydra.run.dir=", "-m", "--multirun"))]
    folder = override("hydra.run.dir", interrupted.run_dir)  # read back by Hydra as this very path
    if not interrupted.resumable:
        command = " ".join(shlex.quote(a) for a in [program, *kept, folder])
        return f"interrupted before the first epoch ended (nothing saved); start again with: {command}"
    command = " ".join(shlex.quote(a) for a in [program, *kept, "resume=true", folder])
    return f"{interrupted}; continue with: {command}"


