"""Command-line entry points: wire Hydra to the library functions, and report bad input in one line."""

from __future__ import annotations

import functools
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .allocator import keep_freed_memory
from .config.paths import check_group_choices, config_dir
from .config.preflight import preflight
from .config.validate import validate_config
from .console import stop_on_signals
from .distributed.launch import is_secondary_launched_rank, secondary_rank_overrides
from .errors import Interrupted, UserError
from .files import os_error_line
from .run_records import (
    LOG_NAME,
    RunRecord,
    append_log_line,
    refuse_in,
    remove_unused_sweep,
)

log = logging.getLogger("augmix_bench")


def _reporting_errors(
    program: str, config_name: str, task: Callable[[DictConfig], Any], record: RunRecord | None
) -> Callable[[DictConfig], Any]:
    """Turn a ``UserError`` raised by ``task`` into one line on stderr and exit status 2.

    A refused training command leaves its run directory as it found it (``run_records``); a
    Ctrl-C or SIGTERM ends with the command that continues the run.
    """

    def report(exc: Exception) -> None:
        line = f"{program}: error: {_error_text(program, exc)}"
        if not is_secondary_launched_rank():
            print(line, file=sys.stderr)
            if config_name == "train":
                run_dir = Path(HydraConfig.get().runtime.output_dir)
                same = record is not None and record.path.resolve() == run_dir.resolve()
                if isinstance(exc, Interrupted) and exc.resumable:  # a run that stands: add the line
                    append_log_line(run_dir / LOG_NAME, line)
                else:
                    refuse_in(run_dir, record if same else None, line)
                if HydraConfig.get().mode == RunMode.MULTIRUN:
                    remove_unused_sweep(Path(HydraConfig.get().sweep.dir))
        raise SystemExit(2) from None

    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            if config_name == "train" and HydraConfig.get().mode == RunMode.MULTIRUN:
                validate_config(config_name, cfg)
            return task(cfg)
        except (UserError, Interrupted, OSError) as exc:
            report(exc)
        except KeyboardInterrupt:  # outside the training loop (starting up, or another command)
            if config_name != "train":
                raise  # one line from _run_hydra, as before the task started
            from .training.loop import interrupted_from_checkpoint

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
    folder = f"hydra.run.dir={interrupted.run_dir}"
    if not interrupted.resumable:
        command = " ".join(shlex.quote(a) for a in [program, *kept, folder])
        return f"interrupted before the first epoch ended (nothing saved); start again with: {command}"
    command = " ".join(shlex.quote(a) for a in [program, *kept, "resume=true", folder])
    return f"{interrupted}; continue with: {command}"


def _run_hydra(program: str, config_name: str, task: Callable[[DictConfig], Any]) -> None:
    keep_freed_memory()
    stop_on_signals()  # from the start: a SIGTERM while Hydra sets up the run also ends in one line
    try:
        _compose_and_run(program, config_name, task)
    except KeyboardInterrupt:  # before the task started, or in a command other than augmix-train
        print(f"{program}: error: interrupted", file=sys.stderr)
        raise SystemExit(2) from None


def _compose_and_run(program: str, config_name: str, task: Callable[[DictConfig], Any]) -> None:
    if config_name == "eval":
        from .evaluation.checkpoint import open_run_keys

        sys.argv[1:] = open_run_keys(sys.argv[1:])
    try:
        check_group_choices(config_name, sys.argv[1:])
        preflight(config_name, sys.argv[1:])
    except UserError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    record = None
    if config_name == "train" and is_secondary_launched_rank():
        sys.argv.extend(secondary_rank_overrides())
    elif config_name == "train":
        explicit = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("hydra.run.dir=")]
        record = RunRecord.capture(explicit[-1]) if explicit else None
    main = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name=config_name)
    main(_reporting_errors(program, config_name, task, record))()


def _train_task(cfg: DictConfig) -> dict[str, Any]:
    from .distributed.launch import launch_training
    from .evaluation.results import append_index, headline

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    results = launch_training(cfg, run_dir)
    if results is not None:
        log.info(
            "clean error %s, mean corruption error %s -> %s",
            _percent((results.get("clean") or {}).get("error")),
            _percent((results.get("corruptions") or {}).get("mean_error")),
            run_dir / "results.json",
        )
        if hydra_cfg.mode == RunMode.MULTIRUN:
            entry = {"job": hydra_cfg.job.num, "overrides": list(hydra_cfg.overrides.task), "run_dir": str(run_dir)}
            append_index(Path(hydra_cfg.sweep.dir) / "runs.jsonl", {**entry, **headline(results)})
    return results


def _eval_task(cfg: DictConfig) -> dict[str, Any]:
    from .evaluation.checkpoint import evaluate_checkpoint

    overrides = list(HydraConfig.get().overrides.task)
    results, output = evaluate_checkpoint(cfg, overrides)
    log.info(
        "clean error %s, mean corruption error %s -> %s",
        _percent((results.get("clean") or {}).get("error")),
        _percent((results.get("corruptions") or {}).get("mean_error")),
        output,
    )
    return results


def _download_task(cfg: DictConfig) -> None:
    from .config.build import build_benchmark_from_config

    parts = list(cfg.parts)
    benchmark = build_benchmark_from_config(cfg.dataset)
    benchmark.prepare(parts, download=True, progress=bool(cfg.progress))
    log.info("%s %s ready in %s", benchmark.name, ", ".join(parts), benchmark.root)


def _corrupt_task(cfg: DictConfig) -> Path:
    from .config.build import plain
    from .corrupt.command import run_corrupt

    return run_corrupt(plain(cfg))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def train_main() -> None:
    """``augmix-train``: train with the composed config, evaluate, write the run directory."""
    _run_hydra("augmix-train", "train", _train_task)


def eval_main() -> None:
    """``augmix-eval checkpoint=PATH``: evaluate a saved checkpoint with the evaluation suite."""
    _run_hydra("augmix-eval", "eval", _eval_task)


def download_main() -> None:
    """``augmix-download dataset=NAME parts=[...]``: fetch, verify and unpack a benchmark's data."""
    _run_hydra("augmix-download", "download", _download_task)


def report_main() -> None:
    """``augmix-report PATH...``: paper-style tables and plots of runs and sweeps (argparse, no Hydra)."""
    from .report.command import main

    raise SystemExit(main())


def corrupt_main() -> None:
    """``augmix-corrupt dataset=NAME``: generate the dataset's corruption benchmark (-C)."""
    _run_hydra("augmix-corrupt", "corrupt", _corrupt_task)
