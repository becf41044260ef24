"""SLURM preemption and time limits: requeue the job on SIGUSR1, stop on SIGTERM; a requeued job resumes.

SLURM signals a job before it ends it: the signal chosen with ``#SBATCH --signal=USR1@120`` that
long before the time limit, and ``SIGTERM`` on preemption, at the time limit or on ``scancel``.
Under a plain ``srun`` (or one process in a batch script) every rank stops on either; on
``SIGUSR1`` the process holding SLURM task 0 first asks SLURM to requeue the job
(``scontrol requeue``). ``SIGTERM`` requeues nothing: a cancelled job must stay cancelled, and
SLURM requeues preempted jobs itself (``PreemptMode=REQUEUE``). The checkpoint of the last finished
epoch (written atomically after every epoch) is the saved state: the requeued job, which SLURM
starts with ``SLURM_RESTART_COUNT`` >= 1 and the same command, continues from it
(``is_requeued``), so it ends with the same result as an uninterrupted run.

Under Hydra's submitit launcher, submitit's own handler requeues the job on ``SIGUSR1``
(the launcher's checkpoint hook resubmits the same job); no handler is installed here.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Mapping
from types import FrameType

from ..console import in_batch_loop, stop_requested

log = logging.getLogger(__name__)

#: Signals SLURM sends before it stops a job; the first of them asks for a requeue.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGUSR1, signal.SIGTERM)


class Preempted(BaseException):
    """Raised in a rank that SLURM signalled; like ``KeyboardInterrupt``, no training code catches it."""

    def __init__(self, signal_name: str, requeued_job: str | None) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.requeued_job = requeued_job


#: The preemption a signal announced while a batch loop ran: the loop stops at its next batch
#: (``console``) and the launcher then reports this.
pending: Preempted | None = None


def is_requeued(env: Mapping[str, str] | None = None) -> bool:
    """Whether SLURM restarted this job (``SLURM_RESTART_COUNT`` >= 1): it continues its checkpoint."""
    env = os.environ if env is None else env
    count = env.get("SLURM_RESTART_COUNT", "0")
    return count.isdigit() and int(count) > 0


def requeue(job_id: str) -> bool:
    """Ask SLURM to requeue job ``job_id``; whether it accepted."""
    try:
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("could not requeue SLURM job %s: %s", job_id, exc)
        return False
    if result.returncode != 0:
        log.warning("could not requeue SLURM job %s: %s", job_id, (result.stderr or result.stdout).strip())
        return False
    return True


def install_requeue_handler(is_first_task: bool, env: Mapping[str, str] | None = None) -> bool:
    """Under SLURM without submitit: on ``SIGUSR1``/``SIGTERM`` stop this process with ``Preempted``
    (at the next batch inside a batch loop, at once elsewhere), after requeueing the job on
    ``SIGUSR1`` if ``is_first_task``. Returns whether a handler was installed."""
    global pending
    env = os.environ if env is None else env
    job_id = env.get("SLURM_JOB_ID")
    if job_id is None or "SUBMITIT_EXECUTOR" in env:
        return False
    pending = None

    def handler(signum: int, frame: FrameType | None) -> None:
        global pending
        for number in STOP_SIGNALS:  # one requeue, however many signals follow
            signal.signal(number, signal.SIG_IGN)
        asks_requeue = is_first_task and signum == signal.SIGUSR1
        requeued = job_id if asks_requeue and requeue(job_id) else None
        stop = Preempted(signal.Signals(signum).name, requeued)
        if not in_batch_loop():
            raise stop
        pending = stop
        stop_requested.set()

    for number in STOP_SIGNALS:
        signal.signal(number, handler)
    return True
