"""Finding and reading the results of runs and sweeps: finished runs, runs still training, bad files.

A PATH is a run directory, a sweep directory (or any folder above them), or a ``results.json`` /
``eval_results.json`` file. Folders are searched recursively.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ..config.sweep import BASIC_SWEEPER, sweep_jobs
from ..errors import UserError
from ..sweep_index import read_entries

#: File names holding a run's evaluation (``augmix-train`` / ``augmix-eval``).
RESULT_FILES: tuple[str, ...] = ("results.json", "eval_results.json")


@dataclass(frozen=True)
class Run:
    """A finished run: its results file and the parsed ``results.json`` dict."""

    path: Path
    results: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        """The run directory (``eval_results.json`` lies in its ``checkpoints/`` folder)."""
        parent = self.path.parent
        return parent.parent if parent.name == "checkpoints" else parent

    @property
    def train_log(self) -> Path | None:
        """The run's ``train_log.csv``, if there is one."""
        log = self.run_dir / "train_log.csv"
        return log if log.is_file() else None


@dataclass(frozen=True)
class Unfinished:
    """A run directory (it has ``.hydra/``) without results: still training, or stopped."""

    run_dir: Path
    epochs_done: int
    epochs: int | None

    def describe(self) -> str:
        """E.g. ``still training (2 of 3 epochs in train_log.csv)``."""
        of = f" of {self.epochs}" if self.epochs is not None else ""
        return f"no results.json: still training or stopped ({self.epochs_done}{of} epochs in train_log.csv)"


@dataclass(frozen=True)
class Malformed:
    """A results file that could not be read, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Sweep:
    """A Hydra multirun folder (it holds ``multirun.yaml``): its jobs, and how many finished.

    ``planned`` is the number of jobs the sweep lists (its ``multirun.yaml`` expanded as Hydra's
    basic sweeper does; None for another sweeper or a sweep that cannot be listed without Hydra's
    config loader, e.g. ``glob(...)``); ``failed`` holds (job, error line) of the jobs that
    ``runs.jsonl`` records as failed and that have no results; ``not_started`` the planned jobs
    that have neither a folder nor a record.
    """

    path: Path
    jobs: int
    finished: int
    planned: int | None = None
    failed: tuple[tuple[int, str], ...] = ()
    not_started: tuple[int, ...] = ()

    @property
    def partial(self) -> bool:
        """Whether some jobs have no results yet."""
        return self.finished < (self.jobs if self.planned is None else self.planned)

    def describe(self) -> str:
        """E.g. ``2 of 3 jobs finished; job 1: <its error line>``, or, where the planned jobs are
        unknown, ``3 of 4 job folders finished (partial sweep)``."""
        if self.planned is None:
            return f"{self.finished} of {self.jobs} job folders finished" + (" (partial sweep)" if self.partial else "")
        text = f"{self.finished} of {self.planned} jobs finished"
        text += "".join(f"; job {job}: {line}" for job, line in self.failed)
        if self.not_started:
            text += f"; not started: job {', '.join(map(str, self.not_started))}"
        return text


@dataclass
class Collection:
    """Everything found under the PATHs."""

    runs: list[Run] = field(default_factory=list)
    unfinished: list[Unfinished] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)  # PATHs under which nothing was found


def collect(paths: Sequence[str | Path]) -> Collection:
    """Find and read every results file under ``paths``; a ``UserError`` for a PATH that does not exist.

    A run directory holding ``results.json`` is counted once: an ``eval_results.json`` found in its
    ``checkpoints/`` folder by the recursive search is the same model evaluated again and is not
    counted twice (name the file explicitly to report it instead).
    """
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise UserError(f"{missing[0]} does not exist; pass run directories, sweep directories or results.json files")
    found = Collection()
    seen: set[Path] = set()
    for path in map(Path, paths):
        before = (len(found.runs), len(found.unfinished), len(found.malformed))
        files = [path] if path.is_file() else _result_files(path)
        for file in files:
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            results, reason = read_results(file)
            if reason is None:
                found.runs.append(Run(file, results))  # type: ignore[arg-type]
            else:
                found.malformed.append(Malformed(file, reason))
        if path.is_dir():
            for run_dir in _run_dirs(path):
                if run_dir.resolve() not in seen and not any((run_dir / n).is_file() for n in RESULT_FILES):
                    seen.add(run_dir.resolve())
                    found.unfinished.append(_unfinished(run_dir))
            found.sweeps.extend(_sweeps(path))
        if (len(found.runs), len(found.unfinished), len(found.malformed)) == before:
            found.empty.append(path)
    return found


def _result_files(root: Path) -> list[Path]:
    """Results files under ``root``, skipping re-evaluations of runs that have ``results.json``."""
    files = sorted(p for p in root.rglob("*.json") if p.name in RESULT_FILES and p.is_file())
    return [
        p for p in files
        if not (p.name == "eval_results.json" and p.parent.name == "checkpoints" and (p.parent.parent / "results.json").is_file())
    ]


def _run_dirs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) that Hydra made for a job (they hold ``.hydra/``)."""
    return sorted(p.parent for p in root.rglob(".hydra") if p.is_dir())


def _sweeps(root: Path) -> list[Sweep]:
    sweeps = []
    for marker in sorted(root.rglob("multirun.yaml")):
        folder = marker.parent
        jobs = {_job_number(d): d for d in folder.iterdir() if (d / ".hydra").is_dir()}
        done = {job for job, d in jobs.items() if any((d / n).is_file() for n in RESULT_FILES)}
        failed = {e["job"]: str(e["error"]) for e in read_entries(folder)
                  if "error" in e and isinstance(e.get("job"), int) and e["job"] not in done}
        planned = planned_jobs(marker)
        not_started = tuple(j for j in range(planned or 0) if j not in jobs and j not in failed)
        sweeps.append(Sweep(folder, len(jobs), len(done), planned, tuple(sorted(failed.items())), not_started))
    return sweeps


def _job_number(job_dir: Path) -> int | str:
    """A sweep job's number (``hydra.job.num`` in its ``.hydra/hydra.yaml``; else its folder's name)."""
    try:
        number = OmegaConf.select(OmegaConf.load(job_dir / ".hydra" / "hydra.yaml"), "hydra.job.num")
    except Exception:  # an unreadable hydra.yaml: the folder's name (Hydra's default subdir is the number)
        number = None
    if isinstance(number, int):
        return number
    return int(job_dir.name) if job_dir.name.isdigit() else job_dir.name


def planned_jobs(multirun_yaml: Path) -> int | None:
    """How many jobs the sweep of ``multirun_yaml`` lists (its task overrides and the sweeper's
    ``params``, expanded as Hydra's basic sweeper does); None where that cannot be told."""
    try:
        config = OmegaConf.load(multirun_yaml)
        overrides = OmegaConf.select(config, "hydra.overrides.task")
        sweeper = OmegaConf.select(config, "hydra.sweeper")
        if overrides is None or sweeper is None or OmegaConf.select(sweeper, "_target_") != BASIC_SWEEPER:
            return None
        params = OmegaConf.select(sweeper, "params")
        plain = OmegaConf.to_container(params, resolve=True) if params else None
        return len(sweep_jobs(list(overrides), plain))  # type: ignore[arg-type]
    except Exception:  # unreadable, or a sweep Hydra's parser cannot list without its config loader
        return None


def _unfinished(run_dir: Path) -> Unfinished:
    epochs: int | None = None
    try:
        value = OmegaConf.select(OmegaConf.load(run_dir / ".hydra" / "config.yaml"), "trainer.epochs")
        epochs = int(value) if value is not None else None
    except Exception:  # an unreadable config only loses the epoch count
        epochs = None
    log = run_dir / "train_log.csv"
    done = len(read_train_log(log)) if log.is_file() else 0
    return Unfinished(run_dir, done, epochs)


def read_results(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(results, None) for a readable results file, (None, the reason) otherwise."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc.__class__.__name__})"
    except json.JSONDecodeError as exc:
        return None, f"is not JSON ({exc})"
    reason = results_problem(results)
    return (None, reason) if reason else (results, None)


def results_problem(results: Any) -> str | None:
    """What makes ``results`` unusable as a ``results.json`` dict, or None if nothing does."""
    if not isinstance(results, dict):
        return f"holds a JSON {type(results).__name__}, not an object"
    for key in ("dataset", "model", "augmentation"):
        if not isinstance(results.get(key), str):
            return f"has no string {key!r}"
    for section, numbers in (("clean", ("error", "rms_calibration_error")),
                             ("corruptions", ("mean_error", "mce", "relative_mce", "rms_calibration_error"))):
        entry = results.get(section)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            return f"has a {section!r} that is not an object"
        for key in numbers:
            if not _number_or_null(entry.get(key)):
                return f"has a non-numeric {section}.{key}"
    per_corruption = (results.get("corruptions") or {}).get("per_corruption") or {}
    if not isinstance(per_corruption, dict):
        return "has a corruptions.per_corruption that is not an object"
    for name, entry in per_corruption.items():
        errors = entry.get("errors") if isinstance(entry, dict) else None
        if not isinstance(errors, list) or not all(_number_or_null(e) and e is not None for e in errors):
            return f"has no list of numeric errors for corruption {name!r}"
    return shifts_problem(results)


def shifts_problem(results: dict[str, Any]) -> str | None:
    """What makes ``results``' natural-shift entries or bootstrap intervals unusable, or None."""
    shifts = results.get("shifts")
    if shifts is not None and not (isinstance(shifts, dict) and all(isinstance(e, dict) for e in shifts.values())):
        return "has a 'shifts' that is not an object of objects"
    entries = [("clean", results.get("clean"), "error_ci95"), ("corruptions", results.get("corruptions"), "mean_error_ci95"),
               ("corruptions", results.get("corruptions"), "mce_ci95")]
    entries += [(f"shifts.{name}", entry, "error_ci95") for name, entry in (shifts or {}).items()]
    for where, entry, interval in entries:
        if not isinstance(entry, dict):
            continue
        for key in ("error", "nll", "brier", "ece") if where.startswith("shifts.") else ():
            if not _number_or_null(entry.get(key)):
                return f"has a non-numeric {where}.{key}"
        value = entry.get(interval)
        if value is not None and not (isinstance(value, list) and len(value) == 2
                                      and all(_number_or_null(v) and v is not None for v in value)):
            return f"has a {where}.{interval} that is not a list of two numbers"
    return None


def _number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def read_train_log(path: Path) -> list[dict[str, float | None]]:
    """The rows of a ``train_log.csv`` as numbers (None for empty cells, e.g. epochs without a test error)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{key: _float(value) for key, value in row.items() if key} for row in csv.DictReader(handle)]


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def display_path(path: Path) -> str:
    """``path`` relative to the working folder when it lies below it, else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative
