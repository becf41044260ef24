"""Keeping run directories truthful when a command is refused.

Hydra writes ``.hydra/*`` and opens ``train.log`` in the run directory before the task runs. A
command refused at start-up must not leave that behind: a run directory it created and that holds
nothing else is removed; an existing run's ``.hydra/*`` and ``train.log`` are put back as they were,
with the error line appended to the log. A sweep folder that no job left anything in goes too.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..files import atomic_write_bytes
from ..folder_lock import LOCK_NAME
from ..sweep_index import INDEX_NAME, read_entries

#: What Hydra itself puts into a run directory before the task runs (and the run's lock file).
HYDRA_ENTRIES: frozenset[str] = frozenset({".hydra", "train.log", LOCK_NAME})
LOG_NAME = "train.log"


@dataclass
class RunRecord:
    """The state of a run directory before a command touched it."""

    path: Path
    existed: bool
    hydra_files: dict[str, bytes] = field(default_factory=dict)
    log_size: int | None = None

    @classmethod
    def capture(cls, path: str | Path) -> RunRecord:
        """Remember ``path``'s ``.hydra/*`` files and the length of its ``train.log``."""
        path = Path(path)
        record = cls(path, path.exists())
        hydra = path / ".hydra"
        if hydra.is_dir():
            record.hydra_files = {p.name: p.read_bytes() for p in hydra.iterdir() if p.is_file()}
        log = path / LOG_NAME
        if log.is_file():
            record.log_size = log.stat().st_size
        return record


def refuse_in(run_dir: str | Path, record: RunRecord | None, line: str) -> None:
    """Undo what Hydra wrote into ``run_dir`` for a refused command and log ``line`` there.

    ``record`` is the directory's state before the command (None: it did not exist then).
    """
    run_dir = Path(run_dir)
    _close_log_handlers(run_dir / LOG_NAME)
    if record is None or not record.existed:
        if run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= HYDRA_ENTRIES:
            shutil.rmtree(run_dir, ignore_errors=True)
            _remove_empty_parents(run_dir)
            return
    else:
        hydra = run_dir / ".hydra"
        for name, data in record.hydra_files.items():
            with contextlib.suppress(OSError):
                atomic_write_bytes(hydra / name, data)
        if hydra.is_dir():
            for path in hydra.iterdir():
                if path.name not in record.hydra_files:
                    with contextlib.suppress(OSError):
                        path.unlink()
            if not record.hydra_files:
                with contextlib.suppress(OSError):
                    hydra.rmdir()
        log = run_dir / LOG_NAME
        if record.log_size is None:
            with contextlib.suppress(OSError):
                log.unlink()
        else:
            with contextlib.suppress(OSError), open(log, "r+b") as handle:
                handle.truncate(record.log_size)
    append_log_line(run_dir / LOG_NAME, line)


def append_log_line(log: Path, line: str) -> None:
    """Append ``line`` (with a timestamp, as the log's other lines) to an existing ``log``."""
    if not log.is_file():
        return
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    with contextlib.suppress(OSError), open(log, "a", encoding="utf-8") as handle:
        handle.write(f"[{stamp}][augmix_bench][ERROR] - {line}\n")


def _close_log_handlers(log: Path) -> None:
    """Close logging's file handlers writing to ``log`` (so it can be truncated or removed)."""
    target = str(log.resolve()) if log.exists() else str(log.absolute())
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and handler.baseFilename == target:
                handler.close()
                logger.removeHandler(handler)


def _remove_empty_parents(path: Path) -> None:
    """Remove the empty folders above ``path`` that lie inside the current folder (Hydra made them)."""
    cwd = Path.cwd().resolve()
    parent = path.absolute().parent
    while parent != cwd and cwd in parent.resolve().parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def remove_failed_sweep(sweep_dir: Path) -> bool:
    """Remove a sweep folder that holds only Hydra's ``multirun.yaml`` and, if any, a ``runs.jsonl``
    of failed jobs (none of its jobs left a folder or finished); returns whether the folder stays."""
    if not sweep_dir.is_dir():
        return False
    if {p.name for p in sweep_dir.iterdir()} - {LOCK_NAME} <= {"multirun.yaml", INDEX_NAME} and all(
        "error" in entry for entry in read_entries(sweep_dir)
    ):
        shutil.rmtree(sweep_dir, ignore_errors=True)
        _remove_empty_parents(sweep_dir)
        return False
    return True
