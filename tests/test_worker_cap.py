"""``trainer.num_workers`` is capped to the CPUs the process may use (so PyTorch does not warn at
every data loader); the cap is logged once and the config keeps the value asked for."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_RUN, run_in_process
from omegaconf import OmegaConf

from augmix_bench.commands.build import make_runtime
from augmix_bench.config.paths import config_dir


@contextlib.contextmanager
def one_cpu() -> Iterator[None]:
    """Run this process on one of its CPUs (a real affinity change, as a container or job would set)."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


def test_workers_are_capped_to_the_usable_cpus(caplog: pytest.LogCaptureFixture) -> None:
    trainer = OmegaConf.merge(OmegaConf.load(config_dir() / "trainer" / "default.yaml"), {"accelerator": "cpu"})
    assert trainer.num_workers == 4
    with one_cpu(), caplog.at_level(logging.INFO, logger="augmix_bench"):
        main, other_rank = make_runtime(trainer), make_runtime(trainer, rank=1, world_size=2)
        asked_for_none = make_runtime(OmegaConf.merge(trainer, {"num_workers": 0}))
    assert (main.num_workers, other_rank.num_workers, asked_for_none.num_workers) == (1, 1, 0)
    assert [r.getMessage() for r in caplog.records] == ["trainer.num_workers=4 capped to 1: this process may use 1 CPUs"]
    assert trainer.num_workers == 4


def test_training_with_more_workers_than_cpus_warns_nothing(cifar10_root: Path, tmp_path: Path) -> None:
    args = [a for a in TINY_RUN if a != "trainer.num_workers=0"]
    run = tmp_path / "run"
    with one_cpu(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_in_process("augmix-train", f"dataset.root={cifar10_root}", *args, "trainer.num_workers=4",
                                "eval.suites=[clean]", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr
    assert [str(w.message) for w in caught if "worker" in str(w.message)] == []
    assert (run / "train.log").read_text().count("trainer.num_workers=4 capped to 1") == 1
    assert json.loads((run / "results.json").read_text())["config"]["trainer"]["num_workers"] == 4
