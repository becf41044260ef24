"""Real clusters on the CPU: the ranks of torchrun, plain srun and submitit tasks, one GPU per rank,
the collective timeout, per-rank random streams, data prepared once per node, and preemption.

The srun tests start the processes exactly as ``srun`` would (SLURM_* variables of one node and
MASTER_ADDR/MASTER_PORT from the job script; no torchrun, no submitit, no ``trainer.devices``).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import TINY_RUN
from hydra import compose, initialize_config_dir

from augmix_bench.runtime import (
    rank_seed,
    restore_rng_state,
    rng_state,
    seed_everything,
)
from augmix_bench.config.paths import config_dir
from augmix_bench.config.resolvers import register_resolvers
from augmix_bench.distributed.collectives import gather_objects, node_first, on_main
from augmix_bench.distributed.environment import (
    RankInfo,
    first_hostname,
    launched_rank,
    rendezvous_port,
    tasks_on_node,
)
from augmix_bench.distributed.launch import init_process_group
from augmix_bench.distributed.preemption import (
    Preempted,
    install_requeue_handler,
    is_requeued,
)
from augmix_bench.errors import UserError
from augmix_bench.runtime import cuda_device_index, one_visible_gpu_named

SRUN_RUN = (*TINY_RUN, "eval.suites=[clean]", "eval.limit=99")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def srun_task_env(procid: int, ntasks: int, job_id: str, port: int) -> dict[str, str]:
    """The variables srun gives task ``procid`` of a one-node step, plus the job script's MASTER_*."""
    return {
        "SLURM_JOB_ID": job_id, "SLURM_JOBID": job_id, "SLURM_STEP_ID": "0", "SLURM_STEPID": "0",
        "SLURM_PROCID": str(procid), "SLURM_LOCALID": str(procid), "SLURM_NODEID": "0",
        "SLURM_NTASKS": str(ntasks), "SLURM_NPROCS": str(ntasks), "SLURM_NNODES": "1",
        "SLURM_JOB_NUM_NODES": "1", "SLURM_STEP_NUM_TASKS": str(ntasks), "SLURM_STEP_NUM_NODES": "1",
        "SLURM_TASKS_PER_NODE": str(ntasks), "SLURM_STEP_TASKS_PER_NODE": str(ntasks),
        "SLURM_NTASKS_PER_NODE": str(ntasks), "SLURM_JOB_NODELIST": "localhost",
        "SLURM_STEP_NODELIST": "localhost", "SLURM_NODELIST": "localhost", "SLURMD_NODENAME": "localhost",
        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1",
    }


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This test's environment without any launcher variables, plus ``extra``."""
    launcher = ("SLURM", "SUBMITIT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_", "TORCHELASTIC")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(launcher)}, **extra}


def start_srun_tasks(args: list[str], cwd: Path, job_id: str, extra: dict[str, str] | None = None) -> list[subprocess.Popen]:
    """Two ``augmix-train`` processes started as ``srun --ntasks=2 augmix-train ...`` starts them."""
    executable = str(Path(sys.executable).with_name("augmix-train"))
    port = free_port()
    return [
        subprocess.Popen(
            [executable, *args], cwd=cwd, env=clean_env({**srun_task_env(i, 2, job_id, port), **(extra or {})}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        for i in range(2)
    ]


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str]]:
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        outcomes.append((process.returncode, out + err))
    return outcomes


def fake_scontrol(folder: Path) -> Path:
    """An ``scontrol`` executable on PATH that records its arguments (the real one needs SLURM)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "calls.txt"
    script = folder / "scontrol"
    script.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    script.chmod(0o755)
    return record


# -- which rank a process is: torchrun, srun, submitit ------------------------------------------


def test_srun_step_variables_make_the_ranks() -> None:
    env = {
        "SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_PROCID": "6", "SLURM_LOCALID": "2",
        "SLURM_NODEID": "1", "SLURM_NTASKS": "7", "SLURM_STEP_NUM_TASKS": "7",
        "SLURM_STEP_TASKS_PER_NODE": "4,3", "SLURM_JOB_NODELIST": "gpu[07-08]",
    }
    assert launched_rank(env) == RankInfo(rank=6, world_size=7, local_rank=2, local_world_size=3)
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["LOCAL_WORLD_SIZE"]) == ("6", "7", "2", "3")
    assert env["MASTER_ADDR"] == "gpu07"
    assert env["MASTER_PORT"] == str(rendezvous_port("4242"))
    assert 20000 <= int(env["MASTER_PORT"]) < 60000
    # Once exported, the process reads like a torchrun rank.
    assert launched_rank(env) == RankInfo(6, 7, 2, 3)


def test_srun_keeps_the_job_scripts_rendezvous_address() -> None:
    env = {
        "SLURM_JOB_ID": "77", "SLURM_STEP_ID": "3", "SLURM_PROCID": "1", "SLURM_LOCALID": "1",
        "SLURM_NODEID": "0", "SLURM_NTASKS": "2", "SLURM_TASKS_PER_NODE": "2",
        "SLURM_JOB_NODELIST": "n1", "MASTER_ADDR": "n1-ib", "MASTER_PORT": "29123",
    }
    assert launched_rank(env) == RankInfo(1, 2, 1, 2)
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("n1-ib", "29123")


def test_what_is_not_a_rank() -> None:
    batch_script = {"SLURM_JOB_ID": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NTASKS": "8"}
    assert launched_rank(batch_script) is None  # the batch script itself, before srun
    one_task = {**batch_script, "SLURM_STEP_ID": "0", "SLURM_NTASKS": "1", "SLURM_STEP_NUM_TASKS": "1"}
    assert launched_rank(one_task) is None  # srun --ntasks=1: the tool may spawn trainer.devices ranks
    assert "RANK" not in batch_script and "RANK" not in one_task
    torchrun = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                "MASTER_ADDR": "h", "MASTER_PORT": "1"}
    assert launched_rank(torchrun) == RankInfo(3, 4, 1, 2)


def test_slurm_list_formats() -> None:
    assert first_hostname("gpu[07-09,12],cpu1") == "gpu07"
    assert first_hostname("node17,node18") == "node17"
    assert first_hostname("a-b[001]") == "a-b001"
    assert [tasks_on_node("4(x2),3", n) for n in range(3)] == [4, 4, 3]
    with pytest.raises(ValueError, match="node 3"):
        tasks_on_node("4(x2),3", 3)


def test_submitit_task_overrides_what_a_prolog_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster prolog exported only MASTER_PORT: the submitit task still becomes its rank."""
    # A copy of the environment stands in for os.environ: what launched_rank exports stays in this test.
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_"))
    }
    environment.update({
        "SUBMITIT_EXECUTOR": "slurm", "SLURM_JOB_ID": "9001", "SLURM_PROCID": "3", "SLURM_LOCALID": "1",
        "SLURM_NODEID": "1", "SLURM_NTASKS": "4", "SLURM_JOB_NUM_NODES": "2",
        "SLURM_JOB_NODELIST": "node[3-4]", "MASTER_PORT": "29555",
    })
    monkeypatch.setattr(os, "environ", environment)
    assert launched_rank() == RankInfo(3, 4, 1, 2)
    assert [os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")] == [
        "3", "4", "1", "node3", "29555",
    ]


# -- one GPU per rank -------------------------------------------------------------------------


def test_every_rank_gets_a_gpu_of_its_own() -> None:
    assert [cuda_device_index(r, 4, 4) for r in range(4)] == [0, 1, 2, 3]
    assert [cuda_device_index(r, 2, 8) for r in range(2)] == [0, 1]
    # srun --gpus-per-task=1: every task sees only the GPU bound to it.
    assert [cuda_device_index(r, 8, 1, bound_per_task=True) for r in range(8)] == [0] * 8
    assert one_visible_gpu_named("5") and not one_visible_gpu_named("0,1") and not one_visible_gpu_named(None)
    for local_rank in (0, 1, 2):  # every rank refuses, so none waits for the others
        with pytest.raises(UserError, match=r"^3 ranks on this machine but only 2 visible GPU\(s\).*<= 2$"):
            cuda_device_index(local_rank, 3, 2)
    with pytest.raises(UserError):
        cuda_device_index(0, 2, 1, bound_per_task=False)


def test_local_ranks_launcher_shows_every_task_its_gpus(tmp_path: Path) -> None:
    """submitit's local executor, with this launcher config's parameters, as Hydra's launcher runs it."""
    import submitit

    register_resolvers()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=local_ranks", "trainer.devices=3"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher.tasks_per_node == 3
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="local")
    executor.update_parameters(
        tasks_per_node=launcher.tasks_per_node, gpus_per_node=launcher.gpus_per_node, timeout_min=2
    )
    job = executor.submit(os.getenv, "CUDA_VISIBLE_DEVICES")
    assert job.results() == ["0,1,2"] * 3


# -- the collective timeout -------------------------------------------------------------------


def test_process_group_waits_as_long_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}.items():
        monkeypatch.setenv(name, value)
    init_process_group(torch.device("cpu"), 95)
    try:
        backend = dist.group.WORLD._get_backend(torch.device("cpu"))
        assert abs(backend.options._timeout - timedelta(minutes=95)) < timedelta(seconds=1)  # gloo keeps ms
    finally:
        dist.destroy_process_group()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        assert compose("train").trainer.collective_timeout_min == 120


# -- per-rank random streams, data once per node, rank 0's checkpoint --------------------------


def _ranks(rank: int, world: int, init_file: str, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        out = Path(folder)
        # Two "nodes" of two ranks, each with its own data root (no shared file system).
        node, local_rank = divmod(rank, 2)

        def prepare() -> str:
            marker = out / f"node{node}" / "prepared"
            with open(out / "order.txt", "a") as log:
                log.write(f"start {rank}\n")
            done = marker.exists()
            time.sleep(0.3)
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
            with open(out / "order.txt", "a") as log:
                log.write(f"end {rank}\n")
            return "checked" if done else "prepared"

        prepared = node_first(prepare, local_rank)
        # Only rank 0's node holds the checkpoint; every rank gets its content.
        own = out / ("ckpt.txt" if rank == 0 else f"missing-on-node-{node}.txt")
        content = on_main(own.read_text)
        # Per-rank random streams, captured by every rank and restored per rank.
        seed_everything(5 if rank == 0 else rank_seed(5, rank))
        first = torch.rand(4)
        states = gather_objects(rng_state(torch.device("cpu")))
        second = torch.rand(4)
        restore_rng_state(states[rank], torch.device("cpu"))
        again = torch.rand(4)
        torch.save({"prepared": prepared, "content": content, "first": first, "second": second, "again": again,
                    "states": len(states)}, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.e2e
def test_ranks_prepare_once_per_node_read_rank0s_file_and_draw_their_own_numbers(tmp_path: Path) -> None:
    (tmp_path / "ckpt.txt").write_text("epoch 7")
    mp.spawn(_ranks, args=(4, str(tmp_path / "init"), str(tmp_path)), nprocs=4)
    order = (tmp_path / "order.txt").read_text().split("\n")[:-1]
    # Rank 0 alone, then node 1's first rank alone, then the rest (who find the data there).
    assert order[:4] == ["start 0", "end 0", "start 2", "end 2"]
    assert sorted(order[4:]) == ["end 1", "end 3", "start 1", "start 3"]
    outcomes = [torch.load(tmp_path / f"rank{r}.pt") for r in range(4)]
    assert [o["prepared"] for o in outcomes] == ["prepared", "checked", "prepared", "checked"]
    assert [o["content"] for o in outcomes] == ["epoch 7"] * 4
    assert all(o["states"] == 4 and torch.equal(o["second"], o["again"]) for o in outcomes)
    firsts = [tuple(o["first"].tolist()) for o in outcomes]
    assert len(set(firsts)) == 4  # no two ranks draw the same dropout masks / PGD starts
    torch.manual_seed(5)
    assert torch.equal(outcomes[0]["first"], torch.rand(4))  # rank 0 keeps the run's seed


@pytest.mark.signals
def test_usr1_requeues_once_and_sigterm_only_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_scontrol(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{calls.parent}{os.pathsep}{os.environ['PATH']}")
    saved = {number: signal.getsignal(number) for number in (signal.SIGUSR1, signal.SIGTERM)}
    try:
        assert not install_requeue_handler(True, {})  # not under SLURM
        assert not install_requeue_handler(True, {"SLURM_JOB_ID": "5", "SUBMITIT_EXECUTOR": "slurm"})  # submitit's own
        assert install_requeue_handler(True, {"SLURM_JOB_ID": "5"})
        with pytest.raises(Preempted) as stop:
            os.kill(os.getpid(), signal.SIGTERM)  # scancel: stop, requeue nothing
        assert (stop.value.signal_name, stop.value.requeued_job) == ("SIGTERM", None) and not calls.exists()
        install_requeue_handler(False, {"SLURM_JOB_ID": "5"})
        with pytest.raises(Preempted) as stop:
            os.kill(os.getpid(), signal.SIGUSR1)  # not task 0: stop only
        assert stop.value.requeued_job is None and not calls.exists()
        install_requeue_handler(True, {"SLURM_JOB_ID": "5"})
        with pytest.raises(Preempted) as stop:
            os.kill(os.getpid(), signal.SIGUSR1)
        assert stop.value.requeued_job == "5" and calls.read_text() == "requeue 5\n"
        os.kill(os.getpid(), signal.SIGUSR1)  # later signals are ignored: one requeue
        assert calls.read_text() == "requeue 5\n"
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    assert is_requeued({"SLURM_RESTART_COUNT": "2"}) and not is_requeued({"SLURM_RESTART_COUNT": "0"}) and not is_requeued({})


# -- plain srun: one job, one run directory; preemption -------------------------------------------


@pytest.fixture(scope="module")
def srun_run(cifar10_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted 2-task srun job of 3 epochs in a default (timestamped) run directory."""
    cwd = tmp_path_factory.mktemp("srun")
    outcomes = finish(start_srun_tasks([f"dataset.root={cifar10_root}", *SRUN_RUN, "trainer.epochs=3"], cwd, "5151"))
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    runs = [p for p in (cwd / "results" / "runs").glob("*/*") if p.is_dir()]
    assert len(runs) == 1, runs
    assert sorted(p.name for p in cwd.iterdir()) == ["results"]
    return runs[0]


@pytest.mark.e2e
def test_srun_tasks_form_one_job(srun_run: Path) -> None:
    results = json.loads((srun_run / "results.json").read_text())
    assert results["meta"]["world_size"] == 2
    assert results["clean"]["n"] == 99
    rows = list(csv.DictReader(open(srun_run / "train_log.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert sorted(p.name for p in srun_run.iterdir()) == [".hydra", "checkpoints", "results.json", "train.log", "train_log.csv"]
    rng = torch.load(srun_run / "checkpoints" / "last.pt", weights_only=False)["rng"]
    assert len(rng) == 2 and not torch.equal(rng[0]["torch"], rng[1]["torch"])  # each rank's own state


@pytest.mark.e2e
@pytest.mark.signals
def test_preempted_srun_job_requeues_and_resumes_to_the_same_result(
    cifar10_root: Path, srun_run: Path, tmp_path: Path
) -> None:
    calls = fake_scontrol(tmp_path / "bin")
    run_dir = tmp_path / "run"
    args = [f"dataset.root={cifar10_root}", *SRUN_RUN, "trainer.epochs=3", f"hydra.run.dir={run_dir}"]
    path = {"PATH": f"{calls.parent}{os.pathsep}{os.environ['PATH']}"}
    tasks = start_srun_tasks(args, tmp_path, "6262", path)
    log = run_dir / "train_log.csv"
    deadline = time.monotonic() + 300
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert all(t.poll() is None for t in tasks) and time.monotonic() < deadline
        time.sleep(0.02)
    for task in tasks:  # SLURM signals every task of the step
        os.kill(task.pid, signal.SIGUSR1)
    outcomes = finish(tasks)
    assert [code for code, _ in outcomes] == [1, 1], outcomes
    line = "augmix-train: stopped by SIGUSR1; requeued SLURM job 6262, which continues from its last finished epoch"
    assert outcomes[0][1].splitlines()[-1] == line and outcomes[1][1] == ""  # at the next batch: no traceback
    assert calls.read_text() == "requeue 6262\n"  # once, by task 0
    assert not (run_dir / "results.json").exists()

    # SLURM starts the requeued job with SLURM_RESTART_COUNT=1 and the same command: it resumes.
    outcomes = finish(start_srun_tasks(args, tmp_path, "6262", {**path, "SLURM_RESTART_COUNT": "1"}))
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert "resumed" in (run_dir / "train.log").read_text()
    full = torch.load(srun_run / "checkpoints" / "last.pt", weights_only=False)["model"]
    resumed = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.allclose(full[k].double(), resumed[k].double(), atol=1e-5, rtol=0) for k in full)
    clean = [json.loads((d / "results.json").read_text())["clean"] for d in (srun_run, run_dir)]
    assert clean[0] == clean[1]
    assert [r["epoch"] for r in csv.DictReader(open(run_dir / "train_log.csv"))] == ["1", "2", "3"]
