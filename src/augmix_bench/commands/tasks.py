"""The body of each Hydra command, given its composed config (called by ``cli/hydra_app``).

This module imports nothing heavy: each task imports its command (PyTorch with it) when it runs,
so that the command line is checked, and refused, without PyTorch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ..sweep_index import append_entry

log = logging.getLogger("augmix_bench")


def train_task(cfg: DictConfig) -> dict[str, Any]:
    """Train, evaluate and write the run directory; in a sweep, add the run to ``runs.jsonl``."""
    from ..evaluation.results import headline
    from .train import train

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    results = train(cfg, run_dir)
    if results is not None:
        _log_headline(results, run_dir / "results.json")
        if hydra_cfg.mode == RunMode.MULTIRUN:
            entry = {"job": hydra_cfg.job.num, "overrides": list(hydra_cfg.overrides.task), "run_dir": str(run_dir)}
            append_entry(Path(hydra_cfg.sweep.dir), {**entry, **headline(results)})
    return results


def eval_task(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate the checkpoint named by ``cfg.checkpoint`` and write its results."""
    from .evaluate import evaluate_checkpoint

    overrides = list(HydraConfig.get().overrides.task)
    results, output = evaluate_checkpoint(cfg, overrides)
    _log_headline(results, output)
    return results


def download_task(cfg: DictConfig) -> None:
    """Fetch, verify and unpack the benchmark parts named by ``cfg.parts``."""
    from .build import build_benchmark_from_config

    parts = list(cfg.parts)
    shifts = None if cfg.get("shifts") is None else [str(n) for n in cfg.shifts]
    benchmark = build_benchmark_from_config(cfg.dataset)
    if shifts is not None:
        benchmark.select_shifts(shifts, key="shifts")
    benchmark.prepare(parts, download=True, progress=bool(cfg.progress), shifts=shifts)
    log.info("%s %s ready in %s", benchmark.name, ", ".join(parts), benchmark.root)


def corrupt_task(cfg: DictConfig) -> Path:
    """Generate the dataset's -C benchmark; returns its folder."""
    from .build import plain
    from .corrupt import run_corrupt

    return run_corrupt(plain(cfg))


#: The task of each Hydra command, by its config name.
TASKS: dict[str, Callable[[DictConfig], Any]] = {
    "train": train_task,
    "eval": eval_task,
    "download": download_task,
    "corrupt": corrupt_task,
}


def _log_headline(results: dict[str, Any], written_to: Path) -> None:
    """Log the clean and mean corruption errors of ``results`` (``-`` for a suite not run), the
    -C-bar mean error when that suite ran, and where they are."""
    clean = (results.get("clean") or {}).get("error")
    corrupted = (results.get("corruptions") or {}).get("mean_error")
    bar = (results.get("corruptions_bar") or {}).get("mean_error")
    extra = "" if bar is None else f", -C-bar mean error {_percent(bar)}"
    log.info("clean error %s, mean corruption error %s%s -> %s", _percent(clean), _percent(corrupted), extra, written_to)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"
