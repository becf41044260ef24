"""Command-line entry points (the console scripts).

This module imports nothing heavy: each entry point first installs the Ctrl-C/SIGTERM handler and
only then imports PyTorch and Hydra (seconds on a small machine), so that an interrupt at any
moment, the imports included, ends in one ``<program>: error: interrupted`` line and exit status 2.
The Hydra wiring is in ``hydra_app``, the commands' work in ``tasks``.
"""

from __future__ import annotations

import sys

from ..console import raise_if_stop_requested, stop_on_signals


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
        if config_name is None:
            from ..report.command import main

            raise_if_stop_requested()
            raise SystemExit(main())
        from .hydra_app import run_hydra

        raise_if_stop_requested()  # a Ctrl-C that PyTorch's C++ start-up swallowed while importing
        run_hydra(program, config_name)
    except KeyboardInterrupt:  # while importing, before a task started, or in a command that has no resume
        print(f"{program}: error: interrupted", file=sys.stderr)
        raise SystemExit(2) from None
