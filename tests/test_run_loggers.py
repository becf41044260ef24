"""The ``logger`` config group: ``csv`` (nothing besides train_log.csv), ``tensorboard`` (events read
back with TensorBoard's own reader) and any ``logger._target_`` (``RecordingLogger`` below)."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import TINY_RUN, run_cli, run_in_process
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from augmix_bench.commands.train import open_run_logger
from augmix_bench.errors import UserError
from augmix_bench.runtime import Runtime
from augmix_bench.training.run_logger import CsvLogger, RunLogger, TensorBoardLogger

TENSORBOARD = OmegaConf.create({"_target_": "augmix_bench.training.run_logger.TensorBoardLogger"})


class RecordingLogger:
    """A logger of one's own, as ``logger._target_=test_run_loggers.RecordingLogger`` names it: every
    call as a JSON line in ``<run_dir>/<filename>``."""

    def __init__(self, run_dir: Path, filename: str = "recorded.jsonl") -> None:
        self.path = Path(run_dir) / filename

    def _record(self, call: str, value: Any) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"call": call, "value": value}) + "\n")

    def log_epoch(self, row: dict[str, Any]) -> None:
        """Record the row."""
        self._record("log_epoch", row)

    def log_results(self, results: dict[str, Any]) -> None:
        """Record the results."""
        self._record("log_results", results)

    def close(self) -> None:
        """Record the call."""
        self._record("close", None)


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series in ``run_dir``'s event files: tag -> [(step, value)]."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_epochs_and_results_become_scalars(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    assert isinstance(logger, RunLogger)
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


def test_csv_writes_nothing_and_only_rank_0_logs(tmp_path: Path) -> None:
    logger = CsvLogger()
    assert isinstance(logger, RunLogger)
    logger.log_epoch({"epoch": 1})
    logger.log_results({"epochs": 1})
    logger.close()
    assert list(tmp_path.iterdir()) == []
    cpu = torch.device("cpu")
    assert type(open_run_logger(TENSORBOARD, tmp_path, Runtime(cpu, rank=1, world_size=2))) is CsvLogger
    assert list(tmp_path.iterdir()) == []  # a DDP rank > 0 opens no event file
    main = open_run_logger(TENSORBOARD, tmp_path, Runtime(cpu, rank=0, world_size=2))
    assert type(main) is TensorBoardLogger
    main.close()
    assert [p.name.startswith("events.out.tfevents.") for p in tmp_path.iterdir()] == [True]


def test_missing_tensorboard_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # what an environment without the extra sees
    with pytest.raises(UserError, match=r'^logger=tensorboard needs the \[tensorboard\] extra \(missing: tensorboard\); install it in the augmix-bench checkout: pip install -e "\.\[tensorboard\]"$'):
        open_run_logger(TENSORBOARD, tmp_path, Runtime(torch.device("cpu")))


@pytest.mark.parametrize(("args", "line"), [
    (["logger=nope"], "unknown logger 'nope'; choose from: csv, tensorboard"),
    (["trainer.logger=csv"],
     "unknown key 'trainer.logger'; it is the config group logger now: "
     "pass logger=<csv|tensorboard> or logger._target_=<class>"),
    (["logger._target_=collections.OrderedDict"],
     "logger._target_='collections.OrderedDict' built a OrderedDict, not a run logger (log_epoch, log_results, close)"),
    (["logger._target_=test_run_loggers.RecordingLogger", "+logger.filenme=x.jsonl"],
     "logger 'RecordingLogger' (test_run_loggers.RecordingLogger) has no option 'filenme'; accepted: run_dir, filename"),
])
def test_bad_loggers_are_refused_in_one_line(args: list[str], line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process("augmix-train", *args)
    assert (result.returncode, result.stderr) == (2, f"augmix-train: error: {line}\n")
    assert list(tmp_path.iterdir()) == []


def _train_log(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "train_log.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.e2e
def test_training_run_writes_events_beside_the_csv(tmp_path: Path, cifar10_root: Path) -> None:
    run_dir = tmp_path / "run"
    run_cli("augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}", *TINY_RUN,
            "eval.suites=[clean]", "logger=tensorboard", cwd=tmp_path)
    (row,) = _train_log(run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    found = scalars(run_dir)
    assert found["train/loss"] == [(1, pytest.approx(float(row["train_loss"]), rel=1e-6))]
    assert found["test/error"] == [(1, pytest.approx(float(row["test_error"]), rel=1e-6))]
    assert found["results/clean_error"] == [(1, pytest.approx(results["clean"]["error"], rel=1e-5))]
    assert results["config"]["logger"] == {"_target_": "augmix_bench.training.run_logger.TensorBoardLogger"}


@pytest.mark.e2e
def test_a_logger_of_ones_own_receives_the_runs_numbers(tmp_path: Path, cifar10_root: Path) -> None:
    """``logger._target_`` names a class outside the package (this module); the tool passes ``run_dir``,
    ``+logger.filename`` is its own option, and it sees each epoch's row and the final results."""
    run_dir = tmp_path / "run"
    env = {"PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    run_cli("augmix-train", f"dataset.root={cifar10_root}", f"hydra.run.dir={run_dir}", *TINY_RUN,
            "trainer.epochs=2", "eval.suites=[clean]", "logger._target_=test_run_loggers.RecordingLogger",
            "+logger.filename=calls.jsonl", cwd=tmp_path, env=env)
    calls = [json.loads(line) for line in (run_dir / "calls.jsonl").read_text().splitlines()]
    assert [c["call"] for c in calls] == ["log_epoch", "log_epoch", "log_results", "close"]
    rows = [c["value"] for c in calls[:2]]
    logged = _train_log(run_dir)
    assert [r["epoch"] for r in rows] == [1, 2]
    for row, line in zip(rows, logged):
        assert set(row) == set(line)
        assert {k: float(v) for k, v in row.items()} == {k: float(v) for k, v in line.items()}
    assert rows[0]["train_loss"] != rows[1]["train_loss"]  # two real epochs, not one row twice
    results, written = calls[2]["value"], json.loads((run_dir / "results.json").read_text())
    assert results["epochs"] == written["epochs"] == 2
    assert results["clean"]["error"] == pytest.approx(written["clean"]["error"], rel=1e-5)
    assert results["clean"]["n"] == written["clean"]["n"] == 100
    assert results["config"]["logger"] == {"_target_": "test_run_loggers.RecordingLogger", "filename": "calls.jsonl"}
