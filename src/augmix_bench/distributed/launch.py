"""Distributed training with PyTorch's own engine: process groups, DDP ranks and their launch.

Three ways a training job runs:

- one process (``trainer.devices=1``);
- ``trainer.devices=N``: this tool starts N ranks with ``torch.distributed``'s elastic launcher
  (the engine behind ``torchrun``), NCCL on GPUs, gloo on the CPU;
- already inside a distributed launch (``torchrun``, SLURM tasks started by Hydra's submitit
  launcher, or a plain ``srun`` step): every process is one rank; nothing is spawned again
  (``environment.launched_rank``).

Rank 0 decides the run directory and writes every file; the other ranks learn the directory
from it, so Hydra's per-process timestamps never split a run.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

from ..console import stop_on_signals
from ..errors import Interrupted, UserError
from ..runtime import cuda_device_index, resolve_device
from . import preemption
from .collectives import broadcast_object
from .environment import RankInfo, launched_rank
from .preemption import Preempted, install_requeue_handler

log = logging.getLogger(__name__)


def is_secondary_launched_rank() -> bool:
    """Whether this process is a launcher-started rank other than 0 (it must not write files)."""
    rank = launched_rank()
    return rank is not None and rank.rank != 0


def secondary_rank_overrides() -> list[str]:
    """Hydra overrides that stop a secondary rank from creating its own run directory or log."""
    return [
        "hydra.run.dir=.",
        "hydra.output_subdir=null",
        "hydra/job_logging=disabled",
        "hydra/hydra_logging=disabled",
    ]


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA devices, gloo for the CPU."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_process_group(device: torch.device, timeout_min: float) -> None:
    """Join the job's process group (rendezvous from the launcher's environment variables).

    ``timeout_min`` bounds how long a collective waits for the slowest rank (NCCL's own default is
    10 minutes, shorter than rank 0 downloading and unpacking a -C set while the others wait).
    """
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend_for(device),
        device_id=device if device.type == "cuda" else None,
        timeout=timedelta(minutes=float(timeout_min)),
    )


def _configure_worker_logging(run_dir: Path, rank: int) -> None:
    level = logging.INFO if rank == 0 else logging.WARNING
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if rank == 0:
        handlers.append(logging.FileHandler(run_dir / "train.log"))
    logging.basicConfig(
        level=level, handlers=handlers, force=True,
        format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s",
    )


def _train_rank(config: dict[str, Any], run_dir: str, rank: RankInfo) -> dict[str, Any]:
    """One rank of a job: join the group, train, leave. Returns the results or the error text."""
    from ..config.build import make_runtime
    from ..training.loop import run_training

    cfg = OmegaConf.create(config)
    try:
        runtime = make_runtime(cfg.trainer, rank.rank, rank.world_size, rank.local_rank, rank.local_world_size)
        if runtime.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(rank.world_size, 1)))
        init_process_group(runtime.device, cfg.trainer.collective_timeout_min)
        try:
            path = Path(broadcast_object(run_dir))
            return {"results": run_training(cfg, path, runtime)}
        finally:
            dist.destroy_process_group()
    except UserError as exc:
        return {"error": str(exc)}
    except Interrupted as exc:  # reported once for the job, by rank 0 or the launcher
        return {"interrupted": {"epoch": exc.epoch, "run_dir": exc.run_dir, "resumable": exc.resumable}}


def _spawned_rank(config: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """Entry point of a rank started by ``trainer.devices=N`` (elastic launcher, spawn)."""
    rank = launched_rank()
    assert rank is not None, "the elastic launcher sets RANK, WORLD_SIZE, LOCAL_RANK and MASTER_*"
    _configure_worker_logging(Path(run_dir), rank.rank)
    stop_on_signals()  # Ctrl-C reaches every rank: each stops at its next batch
    outcome = _train_rank(config, run_dir, rank)
    if "interrupted" in outcome:  # the launcher is stopping the job and reads no outcome: leave now
        raise SystemExit(2)
    return outcome


def spawn_ranks(config: dict[str, Any], run_dir: Path, devices: int) -> dict[str, Any]:
    """Start ``devices`` ranks on this machine with torch's elastic launcher; rank 0's outcome.

    On Ctrl-C or SIGTERM the launcher passes the signal on and waits for the ranks, which stop at
    their next batch; this raises ``KeyboardInterrupt`` once they are gone.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    launch = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=devices,
        run_id=f"augmix-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        start_method="spawn",
    )
    for name in list(logging.Logger.manager.loggerDict):  # the launcher's notes on start-up and shutdown
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        outcomes = elastic_launch(launch, _spawned_rank)(config, str(run_dir))
    except SignalException:
        raise KeyboardInterrupt from None
    return outcomes[0]


def launch_training(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """Train ``cfg`` in ``run_dir`` in whichever of the three ways applies.

    Returns the results on the process that holds rank 0 (None on the other ranks). Under SLURM a
    ``SIGUSR1`` requeues the job and a ``SIGTERM`` stops it, with one line (``preemption``).
    """
    first_task = os.environ.get("SLURM_PROCID", "0") == "0"
    install_requeue_handler(first_task)
    try:
        try:
            return _launch(cfg, run_dir)
        except (Interrupted, SystemExit):  # a rank that the preemption signal stopped at a batch
            if preemption.pending is None:
                raise
            raise preemption.pending from None
    except Preempted as stop:
        if not first_task:
            raise SystemExit(1) from None
        if stop.requeued_job is not None:
            then = f"requeued SLURM job {stop.requeued_job}, which continues from its last finished epoch"
        else:
            then = (
                "a requeued job continues from its last finished epoch; "
                f"or continue with: augmix-train resume=true hydra.run.dir={run_dir}"
            )
        raise SystemExit(f"augmix-train: stopped by {stop.signal_name}; {then}") from None


def _launch(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    from ..config.build import make_runtime
    from ..training.loop import interrupted_from_checkpoint, run_training

    devices = int(cfg.trainer.devices)
    if devices < 1:
        raise UserError(f"trainer.devices={devices} is invalid; accepted: an integer >= 1")
    config = OmegaConf.to_container(cfg, resolve=True)
    outer = launched_rank()
    if outer is not None:
        outcome = _train_rank(config, str(run_dir), outer)  # type: ignore[arg-type]
        if outer.rank != 0:
            if "error" in outcome or "interrupted" in outcome:
                raise SystemExit(2)
            return None
        if "interrupted" in outcome:
            raise Interrupted(**outcome["interrupted"])
    elif devices > 1:
        if resolve_device(cfg.trainer.accelerator).type == "cuda":  # refuse before starting any rank
            cuda_device_index(devices - 1, devices, torch.cuda.device_count())
        try:
            outcome = spawn_ranks(config, run_dir, devices)  # type: ignore[arg-type]
        except KeyboardInterrupt:
            raise interrupted_from_checkpoint(run_dir) from None
    else:
        return run_training(cfg, run_dir, make_runtime(cfg.trainer))
    if "error" in outcome:
        raise UserError(outcome["error"])
    return outcome["results"]
