"""Process setup for training: a single process now; DDP ranks are wired here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from .train import make_runtime, run_training


def launch_training(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """Run training for ``cfg`` in ``run_dir``; returns the results on the main process."""
    runtime = make_runtime(cfg.trainer)
    return run_training(cfg, run_dir, runtime)
