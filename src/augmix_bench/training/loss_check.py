"""Stopping a run at its first non-finite training loss (divergence), at the same batch on every rank.

Each batch's loss is summed over the ranks (so every rank sees a NaN or infinity that any rank
met) and copied to the host without waiting; it is looked at one batch later, when the device has
long computed it, so that the check never stalls the device's queue of work.
"""

from __future__ import annotations

import math

import torch

from ..distributed.collectives import sum_in_place


class NonFiniteLoss(Exception):
    """The training loss of ``batch`` (1-based, of ``batches``) in ``epoch`` was ``value``, not finite."""

    def __init__(self, epoch: int, batch: int, batches: int, value: float) -> None:
        super().__init__(f"the loss is {value} at epoch {epoch}, batch {batch} of {batches}")
        self.epoch = epoch
        self.batch = batch
        self.batches = batches
        self.value = value


class LossCheck:
    """Watches the losses of one epoch's batches; raises ``NonFiniteLoss`` for the first that is not finite."""

    def __init__(self, device: torch.device, epoch: int, batches: int) -> None:
        self.epoch = epoch
        self.batches = batches
        self.device = device
        self.asynchronous = device.type == "cuda"
        # two slots: batch n's value is written while batch n - 1's is still to be read
        self.host = [torch.zeros(1, dtype=torch.float32, pin_memory=self.asynchronous) for _ in range(2)]
        self.copied = [torch.cuda.Event() for _ in range(2)] if self.asynchronous else []
        self.pending: int | None = None  # the batch whose value is on its way to the host

    def add(self, loss: torch.Tensor, batch: int) -> None:
        """Note the loss of ``batch`` (1-based) and check the previous batch's."""
        value = sum_in_place(loss.detach().float().reshape(1).clone())
        slot = batch % 2
        self.host[slot].copy_(value, non_blocking=self.asynchronous)
        if self.asynchronous:
            self.copied[slot].record(torch.cuda.current_stream(self.device))  # after the copy, on its stream
        previous, self.pending = self.pending, batch
        if previous is not None:
            self._check(previous)

    def finish(self) -> None:
        """Check the last batch's loss (at the end of the epoch)."""
        if self.pending is not None:
            batch, self.pending = self.pending, None
            self._check(batch)

    def _check(self, batch: int) -> None:
        slot = batch % 2
        if self.asynchronous:
            self.copied[slot].synchronize()
        value = float(self.host[slot][0])
        if not math.isfinite(value):
            raise NonFiniteLoss(self.epoch, batch, self.batches, value)
