"""``runs.jsonl``: a sweep's index, one JSON line per job that finished or failed.

A finished job's line holds ``job`` (Hydra's job number), ``overrides``, ``run_dir`` and its
headline numbers; a failed job's line holds ``job``, ``overrides``, ``run_dir`` and ``error``: the
text of the one line it printed after ``augmix-train: error:``. Jobs append under a lock, so
parallel jobs do not interleave; readers skip a line that is not a JSON object (e.g. cut short).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from pathlib import Path
from typing import Any

from .files import naming_os_errors, strict_json

#: The index's file name in the sweep folder.
INDEX_NAME = "runs.jsonl"


def append_entry(sweep_dir: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` as one JSON line to ``sweep_dir``'s index."""
    index = Path(sweep_dir) / INDEX_NAME
    index.parent.mkdir(parents=True, exist_ok=True)
    with naming_os_errors(index), open(index, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(strict_json(entry, index) + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def index_size(sweep_dir: Path) -> int:
    """The index's length in bytes (0 when there is none): where the lines of a new sweep begin."""
    index = Path(sweep_dir) / INDEX_NAME
    return index.stat().st_size if index.is_file() else 0


def read_entries(sweep_dir: Path, start: int = 0) -> list[dict[str, Any]]:
    """The index's entries from byte ``start`` on (none when there is no index)."""
    index = Path(sweep_dir) / INDEX_NAME
    try:
        with open(index, "rb") as handle:
            handle.seek(start)
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    return entries
