"""Distributed training with PyTorch's own engine: process groups, DDP ranks and their launch.

Three ways a training job runs:

- one process (``trainer.devices=1``);
- ``trainer.devices=N``: this tool starts N ranks with ``torch.distributed``'s elastic launcher
  (the engine behind ``torchrun``), NCCL on GPUs, gloo on the CPU;
- already inside a distributed launch (``torchrun``, or SLURM tasks started by Hydra's submitit
  launcher): every process is one rank; nothing is spawned again.

Rank 0 decides the run directory and writes every file; the other ranks learn the directory
from it, so Hydra's per-process timestamps never split a run.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

from ..errors import UserError
from .collectives import broadcast_object

log = logging.getLogger(__name__)

#: Environment variables that a distributed launcher (torchrun, submitit's export) sets.
_LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class RankInfo:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int


def launched_rank() -> RankInfo | None:
    """The rank set by an outer launcher (torchrun or a submitit SLURM task), else None."""
    if all(name in os.environ for name in _LAUNCHER_VARIABLES):
        return RankInfo(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"]))
    if os.environ.get("SUBMITIT_EXECUTOR") in ("slurm", "local"):
        return _submitit_rank()
    return None


def _submitit_rank() -> RankInfo | None:
    """Export the rendezvous variables of a submitit job with several tasks (one per rank)."""
    from submitit import JobEnvironment
    from submitit.helpers import TorchDistributedEnvironment

    if JobEnvironment().num_tasks < 2:
        return None
    environment = TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return RankInfo(environment.rank, environment.world_size, environment.local_rank)


def is_secondary_launched_rank() -> bool:
    """Whether this process is a launcher-started rank other than 0 (it must not write files)."""
    rank = os.environ.get("RANK")
    return rank is not None and rank != "0" and "WORLD_SIZE" in os.environ


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


def init_process_group(device: torch.device) -> None:
    """Join the job's process group (rendezvous from the launcher's environment variables)."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend_for(device), device_id=device if device.type == "cuda" else None)


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
        runtime = make_runtime(cfg.trainer, rank.rank, rank.world_size, rank.local_rank)
        if runtime.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(rank.world_size, 1)))
        init_process_group(runtime.device)
        try:
            path = Path(broadcast_object(run_dir))
            return {"results": run_training(cfg, path, runtime)}
        finally:
            dist.destroy_process_group()
    except UserError as exc:
        return {"error": str(exc)}


def _spawned_rank(config: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """Entry point of a rank started by ``trainer.devices=N`` (elastic launcher, spawn)."""
    rank = launched_rank()
    assert rank is not None, "the elastic launcher sets RANK, WORLD_SIZE, LOCAL_RANK and MASTER_*"
    _configure_worker_logging(Path(run_dir), rank.rank)
    return _train_rank(config, run_dir, rank)


def spawn_ranks(config: dict[str, Any], run_dir: Path, devices: int) -> dict[str, Any]:
    """Start ``devices`` ranks on this machine with torch's elastic launcher; rank 0's outcome."""
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
    outcomes = elastic_launch(launch, _spawned_rank)(config, str(run_dir))
    return outcomes[0]


def launch_training(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """Train ``cfg`` in ``run_dir`` in whichever of the three ways applies.

    Returns the results on the process that holds rank 0 (None on the other ranks).
    """
    from ..config.build import make_runtime
    from ..training.loop import run_training

    devices = int(cfg.trainer.devices)
    if devices < 1:
        raise UserError(f"trainer.devices={devices} is invalid; accepted: an integer >= 1")
    config = OmegaConf.to_container(cfg, resolve=True)
    outer = launched_rank()
    if outer is not None:
        outcome = _train_rank(config, str(run_dir), outer)  # type: ignore[arg-type]
        if outer.rank != 0:
            if "error" in outcome:
                raise SystemExit(2)
            return None
    elif devices > 1:
        outcome = spawn_ranks(config, run_dir, devices)  # type: ignore[arg-type]
    else:
        return run_training(cfg, run_dir, make_runtime(cfg.trainer))
    if "error" in outcome:
        raise UserError(outcome["error"])
    return outcome["results"]
