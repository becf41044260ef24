"""The one place where config nodes become objects.

Every ``model``, ``dataset`` and ``augmentation`` config names what it builds with ``_target_``
(a dotted path to a class or function, importable from the package or from outside code) and
keeps a ``name`` for run directories, ``results.json`` and reports. The remaining keys are the
constructor's keyword arguments; nested nodes with a ``_target_`` are built first (Hydra's
``instantiate``). What only the tool knows is passed as keyword arguments when the target accepts
them: ``num_classes`` for models; ``name`` for datasets; ``benchmark`` and ``seed`` for augmentations.

Configs written before ``_target_`` existed (checkpoints of earlier versions) name a registered
model, a dataset ``family`` or a built-in augmentation instead; they still build.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..data import Benchmark
from ..errors import UserError
from ..models import build_model
from ..options import accepted_arguments, check_options
from ..runtime import Runtime, check_precision, configure_cuda_math, resolve_device
from ..training.plans import TrainingPlan
from .targets import import_target, target_name

#: Keys of a component config that describe it rather than being constructor arguments.
DESCRIPTIVE_KEYS: tuple[str, ...] = ("_target_", "name")
#: Keys of a dataset config that the tool reads itself (never passed to the constructor).
DATASET_TOOL_KEYS: tuple[str, ...] = ("download", "family")
#: What configs without ``_target_`` (checkpoints of earlier versions) build: dataset families ...
LEGACY_DATASETS: dict[str, str] = {
    "cifar": "augmix_bench.data.CifarBenchmark",
    "imagenet": "augmix_bench.data.ImageNetBenchmark",
    "synthetic": "augmix_bench.data.SyntheticCifarBenchmark",
}
#: ... and augmentations by name (their ``device`` key predates ``trainer.data_pipeline=hybrid``).
LEGACY_AUGMENTATIONS: dict[str, str] = {
    name: f"augmix_bench.training.plans.{plan}"
    for name, plan in {
        "standard": "standard",
        "augmix": "augmix",
        "augmix_no_jsd": "augmix",
        "cutout": "cutout",
        "mixup": "mixup",
        "cutmix": "cutmix",
        "autoaugment": "autoaugment",
        "adversarial": "adversarial",
    }.items()
}


def plain(node: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """A config node as a plain, resolved dict."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node)


def locate(kind: str, target: Any) -> Callable[..., Any]:
    """The callable a ``_target_`` names; a ``UserError`` naming it when it cannot be imported."""
    if not isinstance(target, str) or not target:
        raise UserError(f"{kind}._target_={target!r} is invalid; accepted: a dotted path such as mypkg.MyNet")
    try:
        found = import_target(target)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's path or package
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"{kind}._target_={target!r} cannot be imported ({reason}); "
            "check the spelling and that its package is installed or on PYTHONPATH"
        ) from None
    if not callable(found):
        raise UserError(f"{kind}._target_={target!r} is not a class or function")
    return found


def _takes_any_keyword(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def check_component(kind: str, options: Mapping[str, Any]) -> tuple[Callable[..., Any], dict[str, Any], list[str] | None]:
    """Import a component's ``_target_`` and check its options against the target's signature
    (unless it takes ``**kwargs``), without building it: a wrong path or a typo is one line.

    Returns the target, its constructor arguments and the keyword names it accepts (None: any).
    """
    target = options.get("_target_")
    fn = locate(kind, target)
    arguments = {k: v for k, v in options.items() if k not in DESCRIPTIVE_KEYS}
    if _takes_any_keyword(fn):
        return fn, arguments, None
    accepted = accepted_arguments(fn)
    check_options(f"{kind} {target_name(target)!r} ({target})", arguments, accepted)
    return fn, arguments, accepted


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


def model_options(model_cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Constructor options of a ``model`` config (everything but ``_target_`` and ``name``)."""
    return {k: v for k, v in plain(model_cfg).items() if k not in DESCRIPTIVE_KEYS}


def _with_target(kind: str, options: dict[str, Any], key: str, legacy: Mapping[str, str]) -> dict[str, Any]:
    """``options`` with a ``_target_``: configs of earlier versions name one of ``legacy`` by ``key``."""
    if "_target_" in options:
        return options
    if options.get(key) not in legacy:
        raise UserError(f"{kind} {options.get('name')!r} names no _target_; add {kind}._target_=<class or function>")
    return {**options, "_target_": legacy[options[key]]}


def _built(kind: str, built: Any, expected: type, what: str, target: str) -> Any:
    """``built``, or a ``UserError`` when the target made something else than ``expected``."""
    if not isinstance(built, expected):
        raise UserError(f"{kind}._target_={target!r} built a {type(built).__name__}, not {what}")
    return built


def build_model_from_config(model_cfg: DictConfig | Mapping[str, Any], num_classes: int) -> nn.Module:
    """The model a ``model`` config describes, for ``num_classes`` classes."""
    options = plain(model_cfg)
    if "_target_" not in options:  # a registered name (configs of earlier versions)
        return build_model(options.get("name"), num_classes, **model_options(options))
    model = instantiate_component("model", options, {"num_classes": int(num_classes)})
    return _built("model", model, nn.Module, "a torch.nn.Module", options["_target_"])


def build_benchmark_from_config(dataset_cfg: DictConfig | Mapping[str, Any]) -> Benchmark:
    """The benchmark (clean splits and robustness sets) a ``dataset`` config describes."""
    options = _with_target("dataset", plain(dataset_cfg), "family", LEGACY_DATASETS)
    arguments = {k: v for k, v in options.items() if k not in DATASET_TOOL_KEYS}
    provided = {"name": options["name"]} if options.get("name") is not None else {}
    benchmark = instantiate_component("dataset", arguments, provided)
    return _built("dataset", benchmark, Benchmark, "an augmix_bench.data.Benchmark", options["_target_"])


def build_training_plan_from_config(
    augmentation_cfg: DictConfig | Mapping[str, Any], benchmark: Benchmark, seed: int
) -> TrainingPlan:
    """The training dataset and objective an ``augmentation`` config describes."""
    options = plain(augmentation_cfg)
    if "_target_" not in options:
        options = _with_target("augmentation", options, "name", LEGACY_AUGMENTATIONS)
        options.pop("device", None)  # the per-augmentation setting that trainer.data_pipeline replaced
    plan = instantiate_component("augmentation", options, {"benchmark": benchmark, "seed": int(seed)})
    return _built("augmentation", plan, TrainingPlan, "a TrainingPlan", options["_target_"])


def make_runtime(
    trainer: DictConfig, rank: int = 0, world_size: int = 1, local_rank: int = 0, local_world_size: int = 1
) -> Runtime:
    """Runtime settings (device, precision, workers, rank) from the ``trainer`` config, and the
    CUDA math settings it names (``trainer.tf32``)."""
    device = resolve_device(trainer.accelerator, local_rank, local_world_size)
    configure_cuda_math(device, bool(trainer.get("tf32", False)))
    return Runtime(
        device=device,
        precision=check_precision(trainer.precision),
        channels_last=bool(trainer.channels_last),
        num_workers=int(trainer.num_workers),
        progress=bool(trainer.progress),
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
    )
