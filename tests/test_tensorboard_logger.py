"""trainer.logger=tensorboard: the events written, read back with TensorBoard's own reader."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from augmix_bench.training.run_logger import RunLogger, TensorBoardLogger, open_run_logger
from conftest import TINY_RUN, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from augmix_bench.errors import UserError


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in ``run_dir``'s event files: tag -> [(step, value)]."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_epochs_and_results_become_scalars(tmp_path: Path) -> None:
    logger = open_run_logger("tensorboard", tmp_path)
    assert isinstance(logger, TensorBoardLogger)
    logger.log_epoch({"epoch": 1, "lr": 0.1, "train_loss": 2.5, "train_error": 80.0, "test_error": None,
                      "seconds": 1.0, "images_per_second": 400.0})
    logger.log_epoch({"epoch": 2, "lr": 0.05, "train_loss": 1.25, "train_error": 40.0, "test_error": 30.0,
                      "seconds": 1.0, "images_per_second": 500.0})
    logger.log_results({"epochs": 2, "clean": {"error": 30.0, "rms_calibration_error": 4.0},
                        "corruptions": {"mean_error": 45.5, "mce": None, "rms_calibration_error": 9.0},
                        "perturbations": None})
    logger.close()
    found = scalars(tmp_path)
    assert found["train/loss"] == [(1, 2.5), (2, 1.25)]
    assert found["train/lr"] == [(1, pytest.approx(0.1)), (2, pytest.approx(0.05))]
    assert found["train/error"] == [(1, 80.0), (2, 40.0)]
    assert found["test/error"] == [(2, 30.0)]  # the epoch without a test error is skipped
    assert found["results/clean_error"] == [(2, 30.0)] and found["results/mean_corruption_error"] == [(2, 45.5)]
    assert found["results/corrupted_rms_calibration_error"] == [(2, 9.0)]
    assert "results/mce" not in found  # null in results.json: nothing written


def test_csv_writes_nothing_extra_and_unknown_names_are_refused(tmp_path: Path) -> None:
    logger = open_run_logger("csv", tmp_path)
    assert type(logger) is RunLogger
    logger.log_epoch({"epoch": 1})
    logger.close()
    assert list(tmp_path.iterdir()) == []
    assert type(open_run_logger("tensorboard", tmp_path, write=False)) is RunLogger  # DDP ranks > 0
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match=r"unknown trainer.logger 'wandb'; choose from: csv, tensorboard"):
        open_run_logger("wandb", tmp_path)


def test_missing_tensorboard_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what an environment without the extra sees
    with pytest.raises(UserError, match=r'pip install "augmix-bench\[tensorboard\]"'):
        open_run_logger("tensorboard", tmp_path)


def test_training_run_writes_events_beside_the_csv(tmp_path: Path, cifar10_root: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli("augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}", *TINY_RUN,
            "eval.suites=[clean]", "trainer.logger=tensorboard", cwd=tmp_path)
    assert (run_dir / "train_log.csv").is_file()
    found = scalars(run_dir)
    assert [step for step, _ in found["train/loss"]] == [1]
    assert found["results/clean_error"][0][1] == pytest.approx(
        float((run_dir / "train_log.csv").read_text().splitlines()[1].split(",")[4]), abs=1e-4)

