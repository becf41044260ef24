"""Distributed training with PyTorch's own engine: process groups, DDP ranks and their launch.

Two of the three ways a training job runs go through here (a one-process run, ``trainer.devices=1``,
is run by the composition root directly):

- ``trainer.devices=N``: this tool starts N ranks with ``torch.distributed``'s elastic launcher
  (the engine behind ``torchrun``), NCCL on GPUs, gloo on the CPU;
- already inside a distributed launch (``torchrun``, SLURM tasks started by Hydra's submitit
  launcher, or a plain ``srun`` step): every process is one rank; nothing is spawned again
  (``environment.launched_rank``).

Rank 0 decides the run directory and writes every file; the other ranks learn the directory
from it, so Hydra's per-process timestamps never split a run. What a rank runs is a ``RankJob``
that the composition root hands over (picklable, to reach spawned ranks): this package never sees
a config.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from datetime import timedelta
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
import torch.distributed as dist

from ..console import stop_on_signals
from ..errors import Diverged, Interrupted, UserError
from ..runtime import Runtime, cuda_device_index, resolve_device
from . import preemption
from .collectives import broadcast_object
from .environment import RankInfo, launched_rank
from .preemption import Preempted, install_requeue_handler

T = TypeVar("T")

log = logging.getLogger(__name__)


class RankJob(Protocol):
    """What every rank of a job runs: its runtime for a rank, then the work in the run folder."""

    collective_timeout_min: float

    def runtime(self, rank: RankInfo | None) -> Runtime:
        """The device and settings of ``rank`` (None: the only process)."""

    def __call__(self, run_dir: Path, runtime: Runtime) -> dict[str, Any]:
        """Run the job's work on this rank; the results."""


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


def _train_rank(job: RankJob, run_dir: str, rank: RankInfo) -> dict[str, Any]:
    """One rank of a job: join the group, run the job, leave. Returns the results or the error text."""
    try:
        runtime = job.runtime(rank)
        if runtime.device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(rank.world_size, 1)))
        init_process_group(runtime.device, job.collective_timeout_min)
        try:
            path = Path(broadcast_object(run_dir))
            return {"results": job(path, runtime)}
        finally:
            dist.destroy_process_group()
    except Diverged as exc:  # the run folder keeps its checkpoint or not: the launcher must know
        return {"error": str(exc), "diverged_saved": exc.saved}
    except UserError as exc:
        return {"error": str(exc)}
    except Interrupted as exc:  # reported once for the job, by rank 0 or the launcher
        return {"interrupted": {"epoch": exc.epoch, "run_dir": exc.run_dir, "resumable": exc.resumable}}


def _spawned_rank(job: RankJob, run_dir: str) -> dict[str, Any]:
    """Entry point of a rank started by ``trainer.devices=N`` (elastic launcher, spawn)."""
    rank = launched_rank()
    assert rank is not None, "the elastic launcher sets RANK, WORLD_SIZE, LOCAL_RANK and MASTER_*"
    _configure_worker_logging(Path(run_dir), rank.rank)
    stop_on_signals()  # Ctrl-C reaches every rank: each stops at its next batch
    outcome = _train_rank(job, run_dir, rank)
    if "interrupted" in outcome:  # the launcher is stopping the job and reads no outcome: leave now
        raise SystemExit(2)
    return outcome


def spawn_ranks(job: RankJob, run_dir: Path, devices: int) -> dict[str, Any]:
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
        outcomes = elastic_launch(launch, _spawned_rank)(job, str(run_dir))
    except SignalException:
        raise KeyboardInterrupt from None
    return outcomes[0]


def with_preemption(resume_command: str, work: Callable[[], T]) -> T:
    """``work()``, stopped in one line by SLURM's preemption signals: a ``SIGUSR1`` requeues the job
    and a ``SIGTERM`` stops it (``preemption``); either way the last finished epoch is kept, and the
    line names ``resume_command`` (the shell command that continues the run)."""
    first_task = os.environ.get("SLURM_PROCID", "0") == "0"
    install_requeue_handler(first_task)
    try:
        try:
            return work()
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
                f"or continue with: {resume_command}"
            )
        raise SystemExit(f"augmix-train: stopped by {stop.signal_name}; {then}") from None


def launch_ranks(
    job: RankJob, run_dir: Path, devices: int, accelerator: str, interrupted: Callable[[Path], Interrupted]
) -> dict[str, Any] | None:
    """Run ``job`` on every rank: this process's rank inside an outer launch, else ``devices``
    ranks started here. Returns rank 0's results on the process that holds rank 0 (None on the
    others); ``interrupted(run_dir)`` tells what a Ctrl-C of the started ranks left."""
    outer = launched_rank()
    if outer is not None:
        outcome = _train_rank(job, str(run_dir), outer)
        if outer.rank != 0:
            if "error" in outcome or "interrupted" in outcome:
                raise SystemExit(2)
            return None
        if "interrupted" in outcome:
            raise Interrupted(**outcome["interrupted"])
    else:
        if resolve_device(accelerator).type == "cuda":  # refuse before starting any rank
            cuda_device_index(devices - 1, devices, torch.cuda.device_count())
        try:
            outcome = spawn_ranks(job, run_dir, devices)
        except KeyboardInterrupt:
            raise interrupted(run_dir) from None
    if "diverged_saved" in outcome:
        raise Diverged(outcome["error"], outcome["diverged_saved"])
    if "error" in outcome:
        raise UserError(outcome["error"])
    return outcome["results"]
