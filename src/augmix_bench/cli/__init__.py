"""Command-line entry points (the console scripts).

This module imports nothing heavy: each entry point first installs the Ctrl-C/SIGTERM handler and
only then imports PyTorch and Hydra (seconds on a small machine), so that an interrupt at any
moment, the imports included, ends in one ``<program>: error: interrupted`` line and exit status 2.
The Hydra wiring is in ``hydra_app``, the commands' work in ``tasks``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from ..console import raise_if_stop_requested, stop_on_signals, stop_requested


def train_main() -> None:
    """``augmix-train``: train with the composed config, evaluate, write the run directory."""
    _start("augmix-train", "train")


def eval_main() -> None:
    """``augmix-eval checkpoint=PATH``: evaluate a saved checkpoint with the evaluation suite."""
    _start("augmix-eval", "eval")


def download_main() -> None:
    """``augmix-download dataset=NAME parts=[...]``: fetch, verify and unpack a benchmark's data."""
    _start("augmix-download", "download")


def corrupt_main() -> None:
    """``augmix-corrupt dataset=NAME``: generate the dataset's corruption benchmark (-C)."""
    _start("augmix-corrupt", "corrupt")


def report_main() -> None:
    """``augmix-report PATH...``: paper-style tables and plots of runs and sweeps (argparse, no Hydra)."""
    _start("augmix-report", None)


def _start(program: str, config_name: str | None) -> None:
    """Install the stop handler, then import and run the command (``config_name`` None: the report)."""
    stop_on_signals()
    try:
        _load(program, config_name)()
    except KeyboardInterrupt:  # while importing, before a task started, or in a command that has no resume
        print(f"{program}: error: interrupted", file=sys.stderr)
        raise SystemExit(2) from None


def _load(program: str, config_name: str | None) -> Callable[[], None]:
    """Import the command (PyTorch, Hydra: seconds) and return it, ready to run.

    A Ctrl-C during the imports raises ``KeyboardInterrupt`` here, or, when it lands inside a C
    extension's start-up, is swallowed there (PyTorch) or breaks that module's import (NumPy then
    says "cannot load module more than once per process"); the stop flag tells all three apart
    from a real import error, and each ends as the interrupt.
    """
    try:
        if config_name is None:
            from ..commands.report import main

            def command() -> None:
                raise SystemExit(main())

        else:
            from .hydra_app import run_hydra

            command = functools.partial(run_hydra, program, config_name)
    except Exception:
        if stop_requested.is_set():
            raise KeyboardInterrupt from None
        raise
    raise_if_stop_requested()
    return command
