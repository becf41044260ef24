"""Shared parts of the benchmark scripts: machine facts, timing, report files.

Imported by ``bench_augment.py`` and ``bench_train.py`` (run them from the repository root as
``python scripts/bench_*.py``); not a part of the installed package.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from augmix_bench.evaluation.runinfo import git_commit, versions
from augmix_bench.files import atomic_write_json, atomic_write_text

#: Where the committed benchmark results live.
RESULTS_DIR = Path("results/benchmarks")

def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where available)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "gpu": gpu,
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions(),
        "git_commit": git_commit(),
    }


def time_calls(step: Callable[[], int], seconds: float, synchronize: bool = False) -> tuple[float, float]:
    """Items per second of ``step`` (which returns how many items it made), run for ``seconds``.

    Returns items per second of wall-clock time and per second of this process's CPU time (all
    threads), which other processes on a shared machine affect less. One call warms up first; at
    least two calls are timed.
    """
    step()
    if synchronize:
        torch.cuda.synchronize()
    items, calls = 0, 0
    start, start_cpu = time.perf_counter(), time.process_time()
    while calls < 2 or time.perf_counter() - start < seconds:
        items += step()
        calls += 1
        if synchronize:
            torch.cuda.synchronize()
    return items / (time.perf_counter() - start), items / (time.process_time() - start_cpu)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(
    name: str,
    title: str,
    payload: dict[str, Any],
    table: str,
    notes: Sequence[str],
    directory: Path = RESULTS_DIR,
) -> Path:
    """Write ``<directory>/<name>.json`` (``payload`` plus machine, command, date) and ``.md``."""
    facts = machine()
    command = "python " + shlex.join(sys.argv)
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = {"command": command, "date": date, "machine": facts, **payload}
    atomic_write_json(directory / f"{name}.json", report)
    torch_version = facts["versions"]["torch"]
    lines = [
        f"# {title}",
        "",
        f"- machine: {facts['cpu']}, {facts['cpu_cores']} cores, GPU: {facts['gpu'] or 'none'}"
        + (f"; load average at the end (1/5/15 min): {', '.join(f'{x:.1f}' for x in facts['load_average'])}"
           if facts["load_average"] else ""),
        f"- command: `{command}`",
        f"- date: {date}; torch {torch_version}, commit {facts['git_commit'] or 'unknown'}",
        "",
        table,
        "",
        *[f"- {note}" for note in notes],
        "",
    ]
    path = directory / f"{name}.md"
    atomic_write_text(path, "\n".join(lines))
    return path
