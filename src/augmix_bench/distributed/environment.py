"""Which rank this process is, as the outer launcher tells it through environment variables.

Three launchers start the ranks of a job themselves (one process per rank):

- ``torchrun`` (or torch's elastic launcher, which ``trainer.devices=N`` uses): ``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``;
- a submitit task (Hydra's submitit launcher, SLURM or local): submitit's ``JobEnvironment``;
- a plain ``srun`` step with several tasks: ``SLURM_PROCID``, ``SLURM_LOCALID``,
  ``SLURM_STEP_NUM_TASKS`` (or ``SLURM_NTASKS``), ``SLURM_NODEID``, ``SLURM_STEP_TASKS_PER_NODE``.

For submitit and srun the torchrun variables are exported (the rank variables always; the
rendezvous address only where a job script or cluster prolog has not set it), so
``init_process_group`` reads one convention and later calls see a torchrun-style environment.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

#: Environment variables that a torchrun-style launcher sets.
TORCHRUN_VARIABLES: tuple[str, ...] = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
#: The range a rendezvous port derived from the SLURM job id falls in.
PORT_RANGE: tuple[int, int] = (20000, 60000)


@dataclass(frozen=True)
class RankInfo:
    """This process's place in the job: global rank and count, rank and count on its node."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def torchrun_rank(env: Mapping[str, str]) -> RankInfo | None:
    """The rank a torchrun-style environment describes, else None."""
    if not all(name in env for name in TORCHRUN_VARIABLES):
        return None
    world_size = int(env["WORLD_SIZE"])
    local_world_size = int(env.get("LOCAL_WORLD_SIZE", world_size))
    return RankInfo(int(env["RANK"]), world_size, int(env["LOCAL_RANK"]), local_world_size)


def first_hostname(nodelist: str) -> str:
    """The first host of a SLURM node list (``gpu[07-09,12],cpu1`` -> ``gpu07``)."""
    match = re.match(r"([^,\[]*)(?:\[([^\]]*)\])?", nodelist.strip())
    if match is None or not match.group(0):
        raise ValueError(f"cannot read the SLURM node list {nodelist!r}")
    prefix, ranges = match.group(1), match.group(2)
    if ranges is None:
        return prefix
    return prefix + ranges.split(",")[0].split("-")[0]


def tasks_on_node(tasks_per_node: str, node_id: int) -> int:
    """Tasks on node ``node_id`` from SLURM's compressed count list (``4(x2),3`` -> 4, 4, 3)."""
    counts: list[int] = []
    for part in tasks_per_node.split(","):
        match = re.fullmatch(r"\s*(\d+)(?:\(x(\d+)\))?\s*", part)
        if match is None:
            raise ValueError(f"cannot read the SLURM tasks-per-node list {tasks_per_node!r}")
        counts.extend([int(match.group(1))] * int(match.group(2) or 1))
    if not 0 <= node_id < len(counts):
        raise ValueError(f"node {node_id} is not in the SLURM tasks-per-node list {tasks_per_node!r}")
    return counts[node_id]


def rendezvous_port(job_id: str) -> int:
    """A port every task of one SLURM job derives alike from the job id (when MASTER_PORT is unset)."""
    low, high = PORT_RANGE
    return low + zlib.crc32(job_id.encode()) % (high - low)


def srun_rank(env: Mapping[str, str]) -> RankInfo | None:
    """The rank of a task of a plain ``srun`` step with several tasks, else None.

    A batch script itself (no ``srun``) has no numeric ``SLURM_STEP_ID`` and is not a rank.
    """
    if not env.get("SLURM_STEP_ID", "").isdigit() or "SLURM_PROCID" not in env:
        return None
    world_size = int(env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "1")))
    if world_size < 2:
        return None
    node_id = int(env.get("SLURM_NODEID", "0"))
    per_node = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE")
    local_world_size = tasks_on_node(per_node, node_id) if per_node else world_size
    return RankInfo(int(env["SLURM_PROCID"]), world_size, int(env.get("SLURM_LOCALID", "0")), local_world_size)


def srun_master_addr(env: Mapping[str, str]) -> str:
    """The host of rank 0 of an srun step: the first node of the step (or of the job)."""
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    return first_hostname(nodelist) if nodelist else "127.0.0.1"


def export_rank(env: MutableMapping[str, str], rank: RankInfo, master_addr: str, master_port: int) -> None:
    """Write ``rank`` into ``env`` in torchrun's convention.

    The rank variables are always (over)written; ``MASTER_ADDR`` and ``MASTER_PORT`` are kept where
    a job script or cluster prolog already set them, and filled in otherwise.
    """
    env["RANK"] = str(rank.rank)
    env["WORLD_SIZE"] = str(rank.world_size)
    env["LOCAL_RANK"] = str(rank.local_rank)
    env["LOCAL_WORLD_SIZE"] = str(rank.local_world_size)
    env.setdefault("MASTER_ADDR", master_addr)
    env.setdefault("MASTER_PORT", str(master_port))


def submitit_rank() -> tuple[RankInfo, str, int] | None:
    """The rank, rank-0 host and derived port of a submitit task of a job with several tasks."""
    from submitit import JobEnvironment

    job = JobEnvironment()
    if job.num_tasks < 2:
        return None
    rank = RankInfo(job.global_rank, job.num_tasks, job.local_rank, job.num_tasks // job.num_nodes)
    return rank, job.hostnames[0], rendezvous_port(str(job.job_id))


def launched_rank(env: MutableMapping[str, str] | None = None) -> RankInfo | None:
    """The rank an outer launcher (torchrun, submitit, srun) gave this process, else None.

    For submitit and srun the torchrun variables are exported into ``env`` (default ``os.environ``).
    """
    env = os.environ if env is None else env
    rank = torchrun_rank(env)
    if rank is not None:
        return rank
    if env.get("SUBMITIT_EXECUTOR") in ("slurm", "local"):
        found = submitit_rank()
        if found is None:
            return None
        rank, master_addr, master_port = found
    else:
        rank = srun_rank(env)
        if rank is None:
            return None
        master_addr, master_port = srun_master_addr(env), rendezvous_port(env.get("SLURM_JOB_ID", "0"))
    export_rank(env, rank, master_addr, master_port)
    return rank


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
