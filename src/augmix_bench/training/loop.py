"""The training loop: one run (single process, or one rank of a DDP job) from built objects to results.

The composition root (``commands/train.py``) builds the benchmark, model and training plan from
the config and hands them to a ``Trainer`` with plain options; the loop runs the epochs (a
checkpoint after each), evaluates the final model and writes ``results.json``. Only rank 0 writes
files.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from ..augment.objectives import Inputs, Objective
from ..augment.plans import TrainingPlan
from ..checkpoint_io import load_checkpoint, save_checkpoint
from ..console import (
    between_batches,
    progress_bar,
    raise_if_stop_requested,
    stop_requested,
)
from ..distributed.collectives import (
    gather_objects,
    on_main,
    sum_across_ranks,
    sync_buffers,
)
from ..distributed.preemption import is_requeued
from ..errors import Diverged, Interrupted, UserError
from ..data.benchmark import Benchmark
from ..evaluation.protocol import build_protocol
from ..evaluation.results import assemble_results, write_results
from ..evaluation.suite import Evaluator
from ..files import atomic_write_text
from ..runtime import Runtime, rank_seed, restore_rng_state, rng_state, seed_everything
from .batches import build_training_batches, resolve_data_pipeline
from .loss_check import LossCheck, NonFiniteLoss
from .run_logger import CsvLogger, RunLogger
from .schedule import LearningRateFactor, build_sgd, scaled_lr

log = logging.getLogger(__name__)

LOG_COLUMNS: tuple[str, ...] = (
    "epoch",
    "lr",
    "train_loss",
    "train_error",
    "test_error",
    "seconds",
    "images_per_second",
)
CHECKPOINT_NAME = "checkpoints/last.pt"
#: The files of a run written atomically, whose temporary copies a killed run can leave behind.
ATOMIC_FILES: tuple[str, ...] = (CHECKPOINT_NAME, "train_log.csv", "results.json")

#: Config entries that must equal the checkpoint's for ``resume=true`` to continue the same run.
RESUME_MUST_MATCH: tuple[str, ...] = (
    "dataset.name",
    "model",
    "augmentation",
    "optim",
    "seed",
    "trainer.epochs",
    "trainer.batch_size",
)


@dataclass(frozen=True)
class TrainingOptions:
    """The plain settings of one training run (``trainer.*``, ``optim.*``, ``eval.*``, ``seed``)."""

    epochs: int
    batch_size: int  # global, split across ranks
    eval_batch_size: int  # global, split across ranks
    seed: int
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    schedule: str
    min_lr: float = 0.0
    milestones: Sequence[int] = ()
    gamma: float = 0.1
    warmup_epochs: int = 0
    lr_reference_batch: int | None = None
    eval_every: int = 1
    eval_limit: int | None = None
    suites: Sequence[str] = ("clean", "corruptions")
    shifts: Sequence[str] | None = None  # the shifts suite's sets (None: the dataset's default ones)
    data_pipeline: str = "auto"  # as asked; the Trainer resolves ``auto``
    sync_batchnorm: bool = False
    compile: bool = False
    compile_backend: str = "inductor"


@dataclass
class EpochStats:
    """Averages of one training epoch."""

    loss: float
    error: float
    seconds: float
    images: int

    @property
    def images_per_second(self) -> float:
        """Training samples (not views) per second."""
        return self.images / self.seconds if self.seconds > 0 else 0.0


def per_rank_batch(global_batch: int, world_size: int, key: str) -> int:
    """Each rank's share of a global batch; the global batch must split evenly."""
    if global_batch < world_size or global_batch % world_size != 0:
        raise UserError(
            f"{key}={global_batch} does not split evenly across {world_size} ranks; "
            f"accepted: a multiple of trainer.devices ({world_size})"
        )
    return global_batch // world_size


def to_device(inputs: Inputs, runtime: Runtime) -> Inputs:
    """Move a batch's inputs (a tensor or a tuple of views) to the device."""
    if isinstance(inputs, (tuple, list)):
        return tuple(runtime.to_input(x) for x in inputs)
    return runtime.to_input(inputs)


def write_train_log(path: Path, history: list[dict[str, Any]]) -> None:
    """Rewrite ``train_log.csv`` from the history of finished epochs (atomically)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())


def _select(config: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` of a nested dict (None where a level is missing)."""
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def config_differences(current: Mapping[str, Any], saved: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Dotted keys among ``keys`` whose values differ between two resolved configs."""
    differing = []
    for key in keys:
        a, b = _select(current, key), _select(saved, key)
        if a != b:
            differing.append(f"{key} ({b!r} in the checkpoint, {a!r} now)")
    return differing


class Trainer:
    """Holds everything one training run needs (data, model, optimizer, schedule); ``fit`` runs it."""

    def __init__(
        self,
        *,
        benchmark: Benchmark,
        model: torch.nn.Module,
        plan: TrainingPlan,
        runtime: Runtime,
        options: TrainingOptions,
        run_dir: Path,
        config: Mapping[str, Any],
        run_logger: RunLogger | None = None,
    ) -> None:
        """Set up one run on built objects.

        ``benchmark`` must be prepared (its data on disk) and ``model`` freshly built (the global
        generators seeded before it with ``seed_everything(options.seed)``); ``config`` is the
        resolved config, recorded in checkpoints and ``results.json``.
        """
        self.options = options
        self.run_dir = Path(run_dir)
        self.runtime = runtime
        self.resolved = dict(config)
        self.run_logger = run_logger if run_logger is not None else CsvLogger()
        self.benchmark = benchmark
        self.model = model
        self.model.to(runtime.device)
        if runtime.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.train_model = self._training_module(self.model)
        self.plan = plan
        self.data_pipeline = resolve_data_pipeline(options.data_pipeline, runtime.device, benchmark, plan)
        log.info("data pipeline: %s (trainer.data_pipeline=%s)", self.data_pipeline, options.data_pipeline)
        self.loader = build_training_batches(
            plan,
            benchmark,
            runtime,
            self.data_pipeline,
            per_rank_batch(options.batch_size, runtime.world_size, "trainer.batch_size"),
            options.seed,
        )
        lr = scaled_lr(options.lr, options.batch_size, options.lr_reference_batch)
        self.optimizer = build_sgd(self.model, lr, options.momentum, options.nesterov, options.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            LearningRateFactor(
                options.schedule,
                lr,
                options.epochs,
                len(self.loader),
                min_lr=options.min_lr,
                milestones=list(options.milestones),
                gamma=options.gamma,
                warmup_epochs=options.warmup_epochs,
            ),
        )
        self.scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16")
        eval_batch = max(options.eval_batch_size // runtime.world_size, 1)
        self.evaluator = Evaluator(benchmark, runtime, eval_batch, options.eval_limit, options.shifts)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self.train_seconds = 0.0

    def _training_module(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module the training step calls: SyncBN/DDP-wrapped across ranks, compiled if asked.

        ``self.model`` stays the plain module: checkpoints and evaluation use it.
        """
        options = self.options
        if self.runtime.world_size > 1:
            if options.sync_batchnorm:
                model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
                self.model = model
            device_ids = [self.runtime.device.index] if self.runtime.device.type == "cuda" else None
            model = DistributedDataParallel(model, device_ids=device_ids)
        if options.compile:
            # static shapes: the smaller last batch gets its own graph instead of a dynamic one for all
            model = torch.compile(model, backend=options.compile_backend, dynamic=False)
        return model

    @property
    def checkpoint_path(self) -> Path:
        """``<run_dir>/checkpoints/last.pt``."""
        return self.run_dir / CHECKPOINT_NAME

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly (called on every rank: it gathers each
        rank's random generator states)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "rng": gather_objects(rng_state(self.runtime.device)),
            "config": self.resolved,
            "model_name": _select(self.resolved, "model.name"),
            "num_classes": self.benchmark.num_classes,
            "dataset": _select(self.resolved, "dataset.name"),
            "data_pipeline": self.data_pipeline,
        }

    def resume(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state``, the run's checkpoint (``read_checkpoint_to_resume``): schedule,
        optimizer and RNG states included."""
        differing = config_differences(self.resolved, state["config"], RESUME_MUST_MATCH)
        if differing:
            raise UserError(f"cannot resume {self.run_dir}: the config differs at {differing[0]}")
        if state.get("data_pipeline", self.data_pipeline) != self.data_pipeline:
            raise UserError(
                f"cannot resume {self.run_dir}: it trained with the {state['data_pipeline']} data pipeline, "
                f"this run would use {self.data_pipeline}; pass trainer.data_pipeline={state['data_pipeline']}"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.train_seconds = float(state["train_seconds"])
        self._restore_rng(state["rng"])
        log.info("resumed %s after epoch %d of %d", self.run_dir, self.epoch, self.options.epochs)

    def _restore_rng(self, saved: list[dict[str, Any]] | dict[str, Any]) -> None:
        """This rank's generator states; new per-rank streams when the number of ranks changed."""
        per_rank = [saved] if isinstance(saved, dict) else list(saved)  # a dict: an earlier version's
        rank, world_size = self.runtime.rank, self.runtime.world_size
        if len(per_rank) == world_size:
            restore_rng_state(per_rank[rank], self.runtime.device)
            return
        log.warning(
            "the checkpoint holds the random states of %d rank(s), this run has %d: the random streams "
            "restart from seed %s and epoch %d, so the result differs from an uninterrupted run",
            len(per_rank), world_size, self.options.seed, self.epoch,
        )
        seed_everything(rank_seed(self.options.seed, rank, self.epoch))

    def train_epoch(self, objective: Objective) -> EpochStats:
        """One pass over this rank's share of the training data; statistics summed over ranks.

        A non-finite loss on any rank stops every rank with ``NonFiniteLoss`` (one batch later at most).
        """
        self.train_model.train()
        self.loader.set_epoch(self.epoch)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.runtime.device)
        wrong = torch.zeros((), dtype=torch.int64, device=self.runtime.device)
        seen = 0
        start = time.perf_counter()
        losses = LossCheck(self.runtime.device, self.epoch + 1, len(self.loader))
        bar = progress_bar(
            self.loader,
            desc=f"epoch {self.epoch + 1}/{self.options.epochs}",
            leave=False,
            enabled=self.runtime.show_progress,
        )
        with between_batches():
            for batch_number, (inputs, targets) in enumerate(bar, start=1):
                raise_if_stop_requested()
                inputs = to_device(inputs, self.runtime)
                targets = targets.to(self.runtime.device, non_blocking=True)
                with self.runtime.autocast():
                    step = objective(self.train_model, inputs, targets)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(step.loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.scheduler.step()
                batch = targets.shape[0]
                loss_sum += step.loss.detach().double() * batch
                wrong += (step.logits.detach().argmax(dim=1) != step.targets).sum()
                seen += batch
                losses.add(step.loss, batch_number)
            losses.finish()
        seconds = time.perf_counter() - start
        loss_total, wrong_total, seen_total = sum_across_ranks(
            [float(loss_sum), float(wrong), float(seen)], self.runtime.device
        )
        seen_total = max(int(seen_total), 1)
        return EpochStats(
            loss=loss_total / seen_total, error=100.0 * wrong_total / seen_total, seconds=seconds, images=seen_total
        )

    def fit(self) -> None:
        """Train the remaining epochs, checkpointing and logging after each."""
        epochs = self.options.epochs
        eval_every = self.options.eval_every
        while self.epoch < epochs:
            raise_if_stop_requested()
            lr = self.optimizer.param_groups[0]["lr"]
            stats = self.train_epoch(self.plan.objective)
            self.epoch += 1
            self.train_seconds += stats.seconds
            test_error = None
            if eval_every > 0 and (self.epoch % eval_every == 0 or self.epoch == epochs):
                sync_buffers(self.model)
                test_error = self.evaluator.clean(self.model)["error"]
            row = {
                "epoch": self.epoch,
                "lr": lr,
                "train_loss": stats.loss,
                "train_error": stats.error,
                "test_error": test_error,
                "seconds": stats.seconds,
                "images_per_second": stats.images_per_second,
            }
            self.history.append(row)
            log.info(
                "epoch %d/%d  lr %.4g  loss %.4f  train error %.2f%%  test error %s  %.0f img/s",
                self.epoch, epochs, lr, stats.loss, stats.error,
                "-" if test_error is None else f"{test_error:.2f}%", stats.images_per_second,
            )
            state = self.state()
            if self.runtime.is_main:
                save_checkpoint(self.checkpoint_path, state)
                write_train_log(self.run_dir / "train_log.csv", self.history)
                self.run_logger.log_epoch(row)

    def images_per_second(self) -> float:
        """Mean training throughput over all finished epochs."""
        seconds = sum(row["seconds"] for row in self.history)
        images = sum(row["images_per_second"] * row["seconds"] for row in self.history)
        return images / seconds if seconds > 0 else 0.0


def saved_epoch(run_dir: Path) -> int | None:
    """The epoch of the checkpoint in ``run_dir`` as it is on disk now (None: there is none)."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        return None
    return int(load_checkpoint(path, mmap=True)["epoch"])


def interrupted_from_checkpoint(run_dir: Path) -> Interrupted:
    """A stopped run as its folder holds it now: the epoch of its checkpoint, or none (nothing saved).

    Read from disk when the line is made, never from a counter: a stop right after a checkpoint
    was written (before the loop noted it) resumes from that checkpoint.
    """
    epoch = saved_epoch(run_dir)
    return Interrupted(epoch, str(run_dir), resumable=epoch is not None)


def diverged(stop: NonFiniteLoss, lr: float, run_dir: Path, runtime: Runtime) -> Diverged:
    """The one-line stop of a run whose loss became ``stop.value``, naming what its folder keeps
    (read by rank 0, whose line is shown)."""
    epoch = saved_epoch(run_dir) if runtime.is_main else None
    kept = "nothing was saved" if epoch is None else f"the checkpoint of epoch {epoch} is kept in {run_dir / CHECKPOINT_NAME}"
    return Diverged(
        f"training diverged: the loss is {stop.value} at epoch {stop.epoch}, batch {stop.batch} of "
        f"{stop.batches} (optim.lr={lr:g}); {kept}",
        saved=epoch is not None,
    )


def read_checkpoint_to_resume(run_dir: Path) -> dict[str, Any]:
    """The checkpoint ``resume=true`` continues; a ``UserError`` if it is missing, unreadable or too new."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise UserError(f"resume=true but {path} does not exist; pass hydra.run.dir=<the run directory to continue>")
    return load_checkpoint(path)


def remove_stale_temporaries(run_dir: Path) -> None:
    """Remove the temporary copies of the run's files (``.last.pt.*.tmp``...) that a run killed
    while writing them left behind (called with the run folder locked: no other run writes them)."""
    for name in ATOMIC_FILES:
        path = Path(run_dir) / name
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
            log.info("removed %s, left by a run stopped while writing %s", stale, path.name)


def run_training(build_trainer: Callable[[], Trainer], run_dir: Path, runtime: Runtime, resume: bool) -> dict[str, Any]:
    """Train (or resume) the run that ``build_trainer`` sets up, evaluate the final model and write
    ``results.json``; returns the results.

    ``build_trainer`` is called after the folder is checked and inside the interrupt handling, so
    that a Ctrl-C while the data is prepared or the model built ends in the right line. The
    checkpoint to resume is read first, so that one that cannot be resumed is refused before any
    data is read. The caller holds the run folder's lock (``folder_lock``) on rank 0.
    """
    run_dir = Path(run_dir)
    has_checkpoint = on_main((run_dir / CHECKPOINT_NAME).exists)
    resume = resume or (has_checkpoint and is_requeued())  # a requeued SLURM job continues itself
    if has_checkpoint and not resume:  # refused before any data is read
        raise UserError(
            f"{run_dir} already holds a checkpoint; pass resume=true to continue it, or choose another directory"
        )
    trainer: Trainer | None = None
    try:
        state = on_main(lambda: read_checkpoint_to_resume(run_dir)) if resume else None  # rank 0's file
        if runtime.is_main:
            remove_stale_temporaries(run_dir)
        trainer = build_trainer()
        if state is not None:
            trainer.resume(state)
            del state  # its tensors are in the model and optimizer now
        trainer.fit()
        sync_buffers(trainer.model)
        start = time.perf_counter()
        evaluation = trainer.evaluator.run(trainer.model, list(trainer.options.suites))
        eval_seconds = time.perf_counter() - start
    except KeyboardInterrupt:
        raise _stopped(run_dir, runtime) from None
    except NonFiniteLoss as stop:  # raised by trainer.fit: the trainer exists
        raise diverged(stop, trainer.options.lr if trainer is not None else math.nan, run_dir, runtime) from None
    except Exception:
        if stop_requested.is_set():  # e.g. a data-loader worker that the same Ctrl-C ended first
            raise _stopped(run_dir, runtime) from None
        raise
    suites = list(trainer.options.suites)
    data = trainer.benchmark.data_identity(suites)
    results = assemble_results(
        trainer.resolved,
        evaluation,
        runtime,
        train_seconds=trainer.train_seconds,
        eval_seconds=eval_seconds,
        train_images_per_second=trainer.images_per_second(),
        data=data,
        protocol=build_protocol(
            trainer.benchmark, suites, trainer.options.eval_limit, len(trainer.benchmark.test_set()), data
        ),
    )
    if runtime.is_main:
        write_results(run_dir / "results.json", results)
    trainer.run_logger.log_results(results)
    trainer.run_logger.close()
    return results


def _stopped(run_dir: Path, runtime: Runtime) -> Interrupted:
    """The ``Interrupted`` of a stopped rank: rank 0 reads what the folder holds (the line is
    its); the other ranks' is not shown."""
    return interrupted_from_checkpoint(run_dir) if runtime.is_main else Interrupted(None, str(run_dir), False)
