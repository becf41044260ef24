"""What only GPUs show: fp16 + channels-last + compile on CUDA, an exact resume on CUDA (its RNG
state included), and a 2-GPU NCCL job (SyncBatchNorm + compile) with the refusal of more ranks
than GPUs. Deselected by default; run on a GPU machine with ``pytest -m gpu tests/test_gpu_cluster.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY_RUN, run_cli
from test_cluster import clean_env, fake_scontrol, finish, start_srun_tasks

pytestmark = pytest.mark.gpu

CUDA_RUN = (*(o for o in TINY_RUN if not o.startswith("trainer.accelerator")), "trainer.accelerator=cuda",
            "eval.suites=[clean]")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
needs_two = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False, map_location="cpu")["model"]


@pytest.mark.e2e
@needs_cuda
def test_fp16_channels_last_compiled_run_on_cuda(cifar10_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", *CUDA_RUN, "trainer.epochs=2", "trainer.precision=fp16",
        "trainer.channels_last=true", "trainer.compile=true", f"hydra.run.dir={run_dir}", cwd=tmp_path,
        env={"TORCH_LOGS": "recompiles"},
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["meta"]["device"] == torch.cuda.get_device_name(0)
    assert results["clean"]["n"] == 100 and 0.0 <= results["clean"]["error"] <= 100.0
    # The smaller last batch compiles once (static shapes), never again in epoch 2.
    assert result.stderr.count("Recompiling") <= 1, result.stderr


@pytest.mark.e2e
@pytest.mark.signals
@needs_cuda
def test_preempted_cuda_run_resumes_to_the_uninterrupted_result(cifar10_root: Path, tmp_path: Path) -> None:
    """Dropout draws from the GPU's generator: equal weights need its state restored on resume."""
    common = [f"dataset.root={cifar10_root}", *CUDA_RUN, "trainer.epochs=3", "model.dropout=0.3", "seed=3"]
    full = tmp_path / "full"
    run_cli("augmix-train", *common, f"hydra.run.dir={full}", cwd=tmp_path)

    calls = fake_scontrol(tmp_path / "bin")
    slurm = {"SLURM_JOB_ID": "77", "SLURM_PROCID": "0", "PATH": f"{calls.parent}{os.pathsep}{os.environ['PATH']}"}
    run_dir = tmp_path / "preempted"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("augmix-train")), *common, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path, env=clean_env(slurm), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    log = run_dir / "train_log.csv"
    deadline = time.monotonic() + 600
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGUSR1)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 1 and "stopped by SIGUSR1; requeued SLURM job 77" in err
    assert calls.read_text() == "requeue 77\n"

    run_cli("augmix-train", *common, f"hydra.run.dir={run_dir}", cwd=tmp_path, env={**slurm, "SLURM_RESTART_COUNT": "1"})
    a, b = weights(full), weights(run_dir)
    assert all(torch.allclose(a[k].double(), b[k].double(), atol=1e-3, rtol=0) for k in a)


@pytest.mark.e2e
@needs_two
def test_two_gpu_nccl_job_and_the_refusal_of_more_ranks_than_gpus(cifar10_root: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "ddp"
    run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", *CUDA_RUN, "trainer.devices=2", "trainer.sync_batchnorm=true",
        "trainer.compile=true", "eval.limit=98", f"hydra.run.dir={run_dir}", cwd=tmp_path,
    )
    results = json.loads((run_dir / "results.json").read_text())
    assert results["meta"]["world_size"] == 2 and results["clean"]["n"] == 98
    rng = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["rng"]
    assert len(rng) == 2 and not torch.equal(rng[0]["cuda"], rng[1]["cuda"])  # each rank's own GPU stream

    # Plain srun tasks on GPUs: task i trains on cuda:i.
    srun_dir = tmp_path / "srun"
    outcomes = finish(start_srun_tasks(
        [f"dataset.root={cifar10_root}", *CUDA_RUN, "eval.limit=98", f"hydra.run.dir={srun_dir}"], tmp_path, "31",
    ))
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert json.loads((srun_dir / "results.json").read_text())["meta"]["world_size"] == 2

    too_many = torch.cuda.device_count() + 1
    refused = run_cli(
        "augmix-train", f"dataset.root={cifar10_root}", *CUDA_RUN, f"trainer.devices={too_many}",
        f"hydra.run.dir={tmp_path / 'refused'}", cwd=tmp_path, check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"augmix-train: error: {too_many} ranks on this machine but only {too_many - 1} visible GPU(s); every rank "
        f"needs its own GPU: accepted trainer.devices (or ranks per node) <= {too_many - 1}"
    )
