"""The one place where config nodes become objects (the composition root's builders).

Every ``model``, ``dataset`` and ``augmentation`` config names what it builds with ``_target_``
(a dotted path to a class or function, importable from the package or from outside code) and
keeps a ``name`` for run directories, ``results.json`` and reports. The remaining keys are the
constructor's keyword arguments; nested nodes with a ``_target_`` are built first (Hydra's
``instantiate``). What only the tool knows is passed as keyword arguments when the target accepts
them: ``num_classes`` for models; ``name`` for datasets; ``benchmark`` and ``seed`` for augmentations;
``run_dir`` for loggers (which keep no ``name``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..augment.plans import TrainingPlan
from ..config.targets import DATASET_TOOL_KEYS, check_component, target_name
from ..data.benchmark import Benchmark
from ..errors import UserError
from ..runtime import Runtime, check_precision, configure_cuda_math, resolve_device
from ..training.run_logger import RunLogger

log = logging.getLogger("augmix_bench")


def plain(node: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """A config node as a plain, resolved dict."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node)


def instantiate_component(
    kind: str, options: Mapping[str, Any], provided: Mapping[str, Any] | None = None
) -> Any:
    """Build the object a component config describes.

    ``options`` holds ``_target_`` (and usually ``name``); the other keys are constructor options
    (``check_component``). ``provided`` are the tool's own arguments, passed where the target
    accepts them.
    """
    target = options.get("_target_")
    _, arguments, accepted = check_component(kind, options)
    extra = {k: v for k, v in (provided or {}).items() if accepted is None or k in accepted}
    try:
        return instantiate({"_target_": target, **arguments}, _convert_="all", **extra)
    except (InstantiationException, TypeError, ValueError) as exc:
        cause = _innermost(exc)
        if isinstance(cause, UserError):
            raise UserError(str(cause)) from None
        reason = " ".join(str(cause).split()) or type(cause).__name__
        raise UserError(f"{kind} {target_name(target)!r} could not be built: {reason}") from None


def _innermost(exc: BaseException) -> BaseException:
    """The root cause of a chain of exceptions (Hydra wraps the target's own error)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _with_target(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options``, which must name a ``_target_`` (a ``UserError`` saying how to add one)."""
    if "_target_" not in options:
        raise UserError(f"{kind} {options.get('name')!r} names no _target_; add {kind}._target_=<class or function>")
    return options


def _built(kind: str, built: Any, expected: type, what: str, target: str) -> Any:
    """``built``, or a ``UserError`` when the target made something else than ``expected``."""
    if not isinstance(built, expected):
        raise UserError(f"{kind}._target_={target!r} built a {type(built).__name__}, not {what}")
    return built


def build_model_from_config(model_cfg: DictConfig | Mapping[str, Any], num_classes: int) -> nn.Module:
    """The model a ``model`` config describes, for ``num_classes`` classes."""
    options = _with_target("model", plain(model_cfg))
    model = instantiate_component("model", options, {"num_classes": int(num_classes)})
    return _built("model", model, nn.Module, "a torch.nn.Module", options["_target_"])


def build_benchmark_from_config(dataset_cfg: DictConfig | Mapping[str, Any]) -> Benchmark:
    """The benchmark (clean splits and robustness sets) a ``dataset`` config describes."""
    options = _with_target("dataset", plain(dataset_cfg))
    arguments = {k: v for k, v in options.items() if k not in DATASET_TOOL_KEYS}
    provided = {"name": options["name"]} if options.get("name") is not None else {}
    benchmark = instantiate_component("dataset", arguments, provided)
    return _built("dataset", benchmark, Benchmark, "an augmix_bench.data.Benchmark", options["_target_"])


def build_training_plan_from_config(
    augmentation_cfg: DictConfig | Mapping[str, Any], benchmark: Benchmark, seed: int
) -> TrainingPlan:
    """The training dataset and objective an ``augmentation`` config describes."""
    options = _with_target("augmentation", plain(augmentation_cfg))
    plan = instantiate_component("augmentation", options, {"benchmark": benchmark, "seed": int(seed)})
    return _built("augmentation", plan, TrainingPlan, "a TrainingPlan", options["_target_"])


def build_run_logger_from_config(logger_cfg: DictConfig | Mapping[str, Any], run_dir: Path) -> RunLogger:
    """The logger a ``logger`` config describes, writing into ``run_dir``."""
    options = _with_target("logger", plain(logger_cfg))
    run_logger = instantiate_component("logger", options, {"run_dir": Path(run_dir)})
    return _built("logger", run_logger, RunLogger, "a run logger (log_epoch, log_results, close)", options["_target_"])


def make_runtime(
    trainer: DictConfig, rank: int = 0, world_size: int = 1, local_rank: int = 0, local_world_size: int = 1
) -> Runtime:
    """Runtime settings (device, precision, workers, rank) from the ``trainer`` config, and the
    CUDA math settings it names (``trainer.tf32``). ``trainer.num_workers`` is capped to the CPUs
    this process may use (``usable_workers``); the config keeps the value asked for."""
    device = resolve_device(trainer.accelerator, local_rank, local_world_size)
    configure_cuda_math(device, bool(trainer.get("tf32", False)))
    return Runtime(
        device=device,
        precision=check_precision(trainer.precision),
        channels_last=bool(trainer.channels_last),
        num_workers=usable_workers(int(trainer.num_workers), report=rank == 0),
        progress=bool(trainer.progress),
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
    )


def usable_workers(asked: int, report: bool = True) -> int:
    """``asked`` data-loader workers, at most one per CPU this process may run on
    (``os.sched_getaffinity``: a container's or a job's CPU set, not the machine's), so that PyTorch
    does not warn at every loader; when capped, says so once in the log (``report``)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if asked <= cpus:
        return asked
    if report:
        log.info("trainer.num_workers=%d capped to %d: this process may use %d CPUs", asked, cpus, cpus)
    return cpus
