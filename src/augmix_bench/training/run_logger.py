"""Loggers of a training run (the ``logger`` config group), besides ``train_log.csv``, which the
training loop always writes.

A logger is any object with ``log_epoch``, ``log_results`` and ``close`` (``RunLogger``); its config
names it with ``_target_`` and the tool passes ``run_dir`` (the run directory) when the target takes
it, so W&B, MLflow or any other tracker plugs in without package code (docs/extending.md).
``csv`` (the default) adds nothing. ``tensorboard`` also writes the per-epoch scalars of
``train_log.csv`` and the final headline numbers as TensorBoard events in the run directory
(needs the optional extra: ``pip install -e ".[tensorboard]"``). Only rank 0 logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import missing_extra

#: ``train_log.csv`` columns written as TensorBoard scalars, and their tags.
EPOCH_TAGS: dict[str, str] = {
    "train_loss": "train/loss",
    "train_error": "train/error",
    "lr": "train/lr",
    "test_error": "test/error",
    "images_per_second": "train/images_per_second",
}


@runtime_checkable
class RunLogger(Protocol):
    """What the training loop calls on a logger (on rank 0 only)."""

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Record one finished epoch: a ``train_log.csv`` row (epoch, lr, train_loss, train_error,
        test_error (None on epochs without a test), seconds, images_per_second)."""

    def log_results(self, results: dict[str, Any]) -> None:
        """Record the final evaluation (the ``results.json`` dict)."""

    def close(self) -> None:
        """Flush and release what the logger holds; called once, after ``log_results``."""


def _headline(results: dict[str, Any]) -> dict[str, float | None]:
    """The final numbers logged by ``log_results`` (percent), by TensorBoard tag."""
    clean = results.get("clean") or {}
    corruptions = results.get("corruptions") or {}
    perturbations = results.get("perturbations") or {}
    return {
        "results/clean_error": clean.get("error"),
        "results/clean_rms_calibration_error": clean.get("rms_calibration_error"),
        "results/mean_corruption_error": corruptions.get("mean_error"),
        "results/mce": corruptions.get("mce"),
        "results/relative_mce": corruptions.get("relative_mce"),
        "results/corrupted_rms_calibration_error": corruptions.get("rms_calibration_error"),
        "results/mean_flip_probability": perturbations.get("mean_flip_probability"),
    }


class CsvLogger:
    """The ``csv`` logger (the default): ``train_log.csv`` is written by the training loop, so this
    adds nothing. Also what ranks other than 0 log with."""

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Nothing to add to ``train_log.csv``."""

    def log_results(self, results: dict[str, Any]) -> None:
        """Nothing to add to ``results.json``."""

    def close(self) -> None:
        """Nothing to release."""


class TensorBoardLogger:
    """Writes TensorBoard event files into ``run_dir``: per-epoch scalars (step = epoch) and, at the
    end, the headline results (step = the last epoch)."""

    def __init__(self, run_dir: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise missing_extra("logger=tensorboard", "tensorboard", ["tensorboard"]) from None
        self.writer = SummaryWriter(log_dir=str(run_dir))
        self.epoch = 0

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Add the row's numbers as scalars at step ``row["epoch"]`` (empty test errors are skipped)."""
        self.epoch = int(row["epoch"])
        for column, tag in EPOCH_TAGS.items():
            if row.get(column) is not None:
                self.writer.add_scalar(tag, float(row[column]), self.epoch)
        self.writer.flush()

    def log_results(self, results: dict[str, Any]) -> None:
        """Add the headline numbers (clean error, corruption error / mCE, calibration) that exist."""
        step = int(results.get("epochs") or self.epoch)
        for tag, value in _headline(results).items():
            if value is not None:
                self.writer.add_scalar(tag, float(value), step)
        self.writer.flush()

    def close(self) -> None:
        """Close the event file."""
        self.writer.close()
