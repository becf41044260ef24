import pytest
"""DDP on the CPU (gloo): launched by the tool, by torchrun, and as submitit tasks; sharded evaluation."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import TINY_RUN, run_cli

from augmix_bench.data import CifarBenchmark
from augmix_bench.evaluation.suite import Evaluator
from augmix_bench.models import build_model
from augmix_bench.runtime import Runtime

DDP_RUN = (*TINY_RUN, "trainer.devices=2", "eval.suites=[clean]", "eval.limit=99")


def load_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]


def only_run_dir(root: Path) -> Path:
    runs = [p for p in (root / "results" / "runs").glob("*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def assert_one_complete_run(run_dir: Path, test_size: int) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    assert results["clean"]["n"] == test_size
    assert results["meta"]["world_size"] == 2
    rows = list(csv.DictReader(open(run_dir / "train_log.csv")))
    assert [r["epoch"] for r in rows] == ["1"]
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "checkpoints", "results.json", "train.log", "train_log.csv"]
    return results


@pytest.mark.e2e
def test_tool_launched_and_torchrun_ranks_agree(cifar10_root: Path, tmp_path: Path) -> None:
    spawned = tmp_path / "spawned"
    run_cli("augmix-train", f"dataset.root={cifar10_root}", *DDP_RUN, f"hydra.run.dir={spawned}", cwd=tmp_path)
    spawned_results = assert_one_complete_run(spawned, 99)

    torchrun_cwd = tmp_path / "torchrun"
    torchrun_cwd.mkdir()
    executable = str(Path(sys.executable).with_name("augmix-train"))
    torchrun = subprocess.run(
        [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc_per_node=2", executable,
         f"dataset.root={cifar10_root}", *DDP_RUN],
        cwd=torchrun_cwd, capture_output=True, text=True, timeout=600,
    )
    assert torchrun.returncode == 0, torchrun.stderr
    # Default, timestamped run directory: both ranks must have used rank 0's.
    run_dir = only_run_dir(torchrun_cwd)
    torchrun_results = assert_one_complete_run(run_dir, 99)
    assert sorted(p.name for p in torchrun_cwd.iterdir()) == ["results"]

    assert torchrun_results["clean"] == spawned_results["clean"]
    a, b = load_weights(spawned), load_weights(run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.e2e
def test_submitit_tasks_are_the_ranks(cifar10_root: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run_cli(
        "augmix-train", "-m", "hydra/launcher=local_ranks", f"dataset.root={cifar10_root}", *DDP_RUN,
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )
    entries = [json.loads(line) for line in (sweep / "runs.jsonl").read_text().splitlines()]
    assert len(entries) == 1
    results = json.loads((Path(entries[0]["run_dir"]) / "results.json").read_text())
    assert results["clean"]["n"] == 99 and results["meta"]["world_size"] == 2


@pytest.mark.e2e
@pytest.mark.signals
def test_killed_ddp_job_resumes_to_the_uninterrupted_result(cifar10_root: Path, tmp_path: Path) -> None:
    common = [f"dataset.root={cifar10_root}", *DDP_RUN, "trainer.epochs=3", "seed=11"]
    full = tmp_path / "full"
    run_cli("augmix-train", *common, f"hydra.run.dir={full}", cwd=tmp_path)

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("augmix-train")), *common, f"hydra.run.dir={killed}"],
        cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    log = killed / "train_log.csv"
    deadline = time.monotonic() + 300
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, as a preemption would
    process.wait()
    assert not (killed / "results.json").exists()

    run_cli("augmix-train", *common, f"hydra.run.dir={killed}", "resume=true", cwd=tmp_path)
    a, b = load_weights(full), load_weights(killed)
    assert all(torch.allclose(a[k].double(), b[k].double(), atol=1e-5, rtol=0) for k in a)
    assert json.loads((full / "results.json").read_text())["clean"] == json.loads((killed / "results.json").read_text())["clean"]


def _sharded_predictions(rank: int, world: int, init_file: str, root: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = build_model("wrn40_2", 10, depth=10, widen_factor=1)
        runtime = Runtime(torch.device("cpu"), rank=rank, world_size=world, progress=False)
        evaluator = Evaluator(CifarBenchmark(root, "cifar10"), runtime, batch_size=16, limit=None)
        outcome = {"clean": evaluator.clean(model), "fog": evaluator._predict(model, evaluator.benchmark.corrupted_set("fog", 2), "fog")}
        torch.save(outcome, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.e2e
def test_sharded_evaluation_equals_single_process(cifar10_root: Path, tmp_path: Path) -> None:
    mp.spawn(_sharded_predictions, args=(2, str(tmp_path / "init"), str(cifar10_root), str(tmp_path)), nprocs=2)
    torch.manual_seed(0)
    model = build_model("wrn40_2", 10, depth=10, widen_factor=1)
    single = Evaluator(CifarBenchmark(cifar10_root, "cifar10"), Runtime(torch.device("cpu"), progress=False), 16)
    expected_fog = single._predict(model, single.benchmark.corrupted_set("fog", 2), "fog")
    for rank in (0, 1):
        outcome = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert outcome["clean"] == single.clean(model)
        assert outcome["clean"]["n"] == 100
        assert np.array_equal(outcome["fog"].predicted, expected_fog.predicted)
        assert np.array_equal(outcome["fog"].labels, expected_fog.labels)
        assert np.allclose(outcome["fog"].confidence, expected_fog.confidence, atol=1e-6)
