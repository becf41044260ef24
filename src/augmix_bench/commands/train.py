"""``augmix-train``: the composition of a training run, from the composed config to the Trainer.

This is where the training config becomes objects: the benchmark (prepared on disk), the model,
the training plan, the runtime and the plain ``TrainingOptions``; ``training/`` receives them built.
A one-process run is run here directly; ``trainer.devices=N`` and outer launches (torchrun,
submitit, srun) go through ``distributed.launch`` with a ``TrainingJob``, which every rank runs.
"""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..config.overrides import override
from ..data.image_files import FolderClasses
from ..distributed.collectives import node_first
from ..distributed.environment import RankInfo, launched_rank
from ..distributed.launch import launch_ranks, with_preemption
from ..evaluation.suite import check_suites, required_parts
from ..folder_lock import folder_locked
from ..models.probe import check_model
from ..runtime import Runtime, rank_seed, seed_everything
from ..training.loop import Trainer, TrainingOptions, interrupted_from_checkpoint, run_training
from ..training.run_logger import CsvLogger, RunLogger
from .build import (
    build_benchmark_from_config,
    build_model_from_config,
    build_run_logger_from_config,
    build_training_plan_from_config,
    make_runtime,
)


def training_options(cfg: DictConfig) -> TrainingOptions:
    """The plain options of a training run, read from its config."""
    trainer, optim = cfg.trainer, cfg.optim
    return TrainingOptions(
        epochs=int(trainer.epochs),
        batch_size=int(trainer.batch_size),
        eval_batch_size=int(trainer.eval_batch_size),
        seed=int(cfg.seed),
        lr=float(optim.lr),
        momentum=float(optim.momentum),
        nesterov=bool(optim.nesterov),
        weight_decay=float(optim.weight_decay),
        schedule=str(optim.schedule),
        min_lr=float(optim.min_lr),
        milestones=tuple(int(m) for m in optim.milestones),
        gamma=float(optim.gamma),
        warmup_epochs=int(optim.warmup_epochs),
        lr_reference_batch=None if optim.lr_reference_batch is None else int(optim.lr_reference_batch),
        eval_every=int(trainer.eval_every),
        eval_limit=None if cfg.eval.limit is None else int(cfg.eval.limit),
        suites=tuple(cfg.eval.suites),
        shifts=None if cfg.eval.get("shifts") is None else tuple(str(n) for n in cfg.eval.shifts),
        data_pipeline=str(trainer.data_pipeline),
        sync_batchnorm=bool(trainer.sync_batchnorm),
        compile=bool(trainer.compile),
        compile_backend=str(trainer.compile_backend),
    )


def open_run_logger(logger_cfg: DictConfig, run_dir: Path, runtime: Runtime) -> RunLogger:
    """The run's logger: on rank 0 the one ``logger`` configures; on other ranks the ``csv`` one,
    which writes nothing (so a tracker records each run once)."""
    return build_run_logger_from_config(logger_cfg, run_dir) if runtime.is_main else CsvLogger()


def build_trainer(cfg: DictConfig, run_dir: Path, runtime: Runtime) -> Trainer:
    """Build every object of a run in the order that fixes its random streams: the benchmark
    (prepared once per node; a small image-file set decoded whole), the model right after
    ``seed_everything(seed)`` (tried on one batch of the dataset's image size), then each rank's
    own stream, then the training plan; hand them to a ``Trainer``."""
    resolved: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    if isinstance(resolved["dataset"].get("root"), str):  # checkpoints name the data absolutely
        resolved["dataset"]["root"] = str(Path(resolved["dataset"]["root"]).expanduser().absolute())
    options = training_options(cfg)
    check_suites(list(options.suites))
    run_logger = open_run_logger(cfg.logger, run_dir, runtime)
    benchmark = build_benchmark_from_config(cfg.dataset)
    parts = required_parts(list(options.suites))
    if "shifts" in parts or options.shifts is not None:
        benchmark.select_shifts(options.shifts)
    node_first(lambda: benchmark.prepare(parts, bool(cfg.dataset.download), shifts=options.shifts), runtime.local_rank)
    if isinstance(benchmark, FolderClasses):
        benchmark.check_clean_images()
    seed_everything(options.seed)
    model = build_model_from_config(cfg.model, benchmark.num_classes)
    model_name = str(cfg.model.get("name") or cfg.model.get("_target_"))
    check_model(model, model_name, benchmark.num_classes, benchmark.image_size)
    if runtime.rank > 0:  # one model for all ranks, then a random stream of its own per rank
        seed_everything(rank_seed(options.seed, runtime.rank))
    plan = build_training_plan_from_config(cfg.augmentation, benchmark, options.seed)
    return Trainer(
        benchmark=benchmark,
        model=model,
        plan=plan,
        runtime=runtime,
        options=options,
        run_dir=run_dir,
        config=resolved,
        run_logger=run_logger,
    )


@dataclass(frozen=True)
class TrainingJob:
    """The training of one config, as every rank runs it (a plain dict: picklable to spawned ranks)."""

    config: dict[str, Any]

    @property
    def collective_timeout_min(self) -> float:
        """How long ranks wait for each other (``trainer.collective_timeout_min``)."""
        return float(self.config["trainer"]["collective_timeout_min"])

    def runtime(self, rank: RankInfo | None) -> Runtime:
        """The runtime of ``rank`` (None: the only process)."""
        trainer = OmegaConf.create(self.config["trainer"])
        if rank is None:
            return make_runtime(trainer)
        return make_runtime(trainer, rank.rank, rank.world_size, rank.local_rank, rank.local_world_size)

    def __call__(self, run_dir: Path, runtime: Runtime) -> dict[str, Any]:
        """Train (or resume) in ``run_dir``, evaluate, write the results; returns them."""
        cfg = OmegaConf.create(self.config)
        return run_training(lambda: build_trainer(cfg, run_dir, runtime), run_dir, runtime, bool(cfg.resume))


def train(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """Train ``cfg`` in ``run_dir``: in this process, or on the ranks of a distributed job.

    The process that launches the ranks (rank 0 under an outer launcher) holds the run folder's
    lock meanwhile: a second run into the same folder is refused. Returns the results on the
    process that holds rank 0 (None on the other ranks).
    """
    job = TrainingJob(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    devices = int(cfg.trainer.devices)
    rank = launched_rank()
    resume_command = shlex.join(["augmix-train", "resume=true", override("hydra.run.dir", run_dir)])
    # the launching process (or rank 0 of an outer launch) holds the run folder for the whole run
    with folder_locked(run_dir, "hydra.run.dir") if rank is None or rank.rank == 0 else contextlib.nullcontext():
        if rank is None and devices == 1:
            return with_preemption(resume_command, lambda: job(run_dir, job.runtime(None)))
        return with_preemption(
            resume_command,
            lambda: launch_ranks(job, run_dir, devices, str(cfg.trainer.accelerator), interrupted_from_checkpoint),
        )
