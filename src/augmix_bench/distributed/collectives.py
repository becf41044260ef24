"""Collectives across the ranks of a DDP job: broadcast, gather, reduce, shard, once per node, rank 0 only.

Every function is a no-op (or the identity) in a single process, so training and evaluation code
calls them unconditionally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from ..errors import UserError

T = TypeVar("T")


def is_distributed() -> bool:
    """Whether a process group with more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def broadcast_object(value: T, source: int = 0) -> T:
    """``value`` as rank ``source`` has it, on every rank (itself when not distributed)."""
    if not is_distributed():
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=source)
    return holder[0]


def gather_objects(value: T) -> list[T]:
    """Every rank's ``value``, in rank order (``[value]`` when not distributed)."""
    if not is_distributed():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def node_first(fn: Callable[[], T], local_rank: int) -> T:
    """Run ``fn`` (e.g. a download) once per node before the other ranks of that node run it.

    Rank 0 runs it first; then the first rank of every other node (each node has its own copy
    when nodes share no file system); then the remaining ranks, which find it done (a check).
    A ``UserError`` on any rank is raised on every rank, so no rank waits forever.
    """
    if not is_distributed():
        return fn()
    rank = dist.get_rank()
    result = None
    for my_turn in (rank == 0, rank != 0 and local_rank == 0, local_rank != 0):
        error = None
        if my_turn:
            try:
                result = fn()
            except UserError as exc:
                error = str(exc)
        errors = [e for e in gather_objects(error) if e is not None]
        if errors:
            raise UserError(errors[0])
    return result  # type: ignore[return-value]


def on_main(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only (e.g. read a file only rank 0's node has); every rank gets its result.

    A ``UserError`` on rank 0 is raised on every rank.
    """
    if not is_distributed():
        return fn()
    outcome: tuple[str | None, Any] = (None, None)
    if dist.get_rank() == 0:
        try:
            outcome = (None, fn())
        except UserError as exc:
            outcome = (str(exc), None)
    error, result = broadcast_object(outcome)
    if error is not None:
        raise UserError(error)
    return result


def shard_bounds(length: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous slice [start, stop) of ``length`` items that ``rank`` evaluates."""
    return length * rank // world_size, length * (rank + 1) // world_size


def sum_across_ranks(values: Sequence[float], device: torch.device) -> list[float]:
    """Element-wise sums of ``values`` over all ranks."""
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    if is_distributed():
        dist.all_reduce(tensor)
    return tensor.tolist()


def sum_in_place(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` replaced by its sum over all ranks (on CUDA queued without waiting); returns it."""
    if is_distributed():
        dist.all_reduce(tensor)
    return tensor


def sync_buffers(model: torch.nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm statistics) to every rank, so all evaluate one model."""
    if is_distributed():
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
