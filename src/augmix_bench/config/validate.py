"""The one check of a composed config, before any data is read or any file is written.

A schema gives the type and range of every key the tool reads itself (``trainer.*``, ``optim.*``,
``eval.*``, ``seed``, ``resume``, the eval and download commands' keys). The options of a
``model``, ``dataset`` or ``augmentation`` are typed by the annotations of what their ``_target_``
builds (for augmentation builders that pass ``**options`` on, by the constructor they pass them
to), with the ranges below. Overridden keys that the config does not have are refused with the
closest existing key.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from ..data.benchmark import PARTS
from ..errors import UserError
from .targets import import_target


@dataclass(frozen=True)
class Rule:
    """The type (``int``, ``float``, ``bool``, ``str``, ``list``, ``dict`` or ``any``) and range of one key."""

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False  # the minimum itself is refused
    choices: tuple[str, ...] = ()
    nullable: bool = False
    items: Rule | None = None  # the rule of every element of a list

    def accepted(self) -> str:
        """What this rule accepts, in words."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "list":
            text = "a list" + (f" whose items are each {self.items.accepted()}" if self.items else "")
        else:
            text = {
                "int": "an integer",
                "float": "a number",
                "bool": "true or false",
                "str": "a string",
                "dict": "a mapping",
                "any": "anything",
            }[self.kind]
            if self.minimum is not None and self.maximum is not None:
                text += f" in [{_number(self.minimum)}, {_number(self.maximum)}]"
            elif self.minimum is not None:
                text += f" {'>' if self.exclusive else '>='} {_number(self.minimum)}"
        return f"null or {text}" if self.nullable else text

    def fits(self, value: Any) -> bool:
        """Whether ``value`` has this rule's type and lies in its range."""
        if value is None:
            return self.nullable
        if self.kind == "list":
            return isinstance(value, (list, tuple)) and (
                self.items is None or all(self.items.fits(v) for v in value)
            )
        if self.kind == "any":
            return True
        if not isinstance(value, _TYPES[self.kind]) or (self.kind in ("int", "float") and isinstance(value, bool)):
            return False
        if self.choices:
            return value in self.choices
        if self.minimum is not None and (value < self.minimum or (self.exclusive and value == self.minimum)):
            return False
        return self.maximum is None or value <= self.maximum


_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int, "float": (int, float), "bool": bool, "str": str, "dict": dict,
}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _choice(*choices: str, nullable: bool = False) -> Rule:
    return Rule("str", choices=choices, nullable=nullable)


def _trainer_rules() -> dict[str, Rule]:
    from ..runtime import ACCELERATORS, PRECISIONS
    from ..training.batches import DATA_PIPELINES
    from ..training.run_logger import LOGGERS

    return {
        "trainer.epochs": Rule("int", minimum=1),
        "trainer.batch_size": Rule("int", minimum=1),
        "trainer.eval_batch_size": Rule("int", minimum=1),
        "trainer.num_workers": Rule("int", minimum=0),
        "trainer.data_pipeline": _choice(*DATA_PIPELINES),
        "trainer.accelerator": _choice(*ACCELERATORS),
        "trainer.devices": Rule("int", minimum=1),
        "trainer.precision": _choice(*PRECISIONS),
        "trainer.channels_last": Rule("bool"),
        "trainer.eval_every": Rule("int", minimum=0),
        "trainer.progress": Rule("bool"),
        "trainer.sync_batchnorm": Rule("bool"),
        "trainer.compile": Rule("bool"),
        "trainer.compile_backend": Rule("str"),
        "trainer.tf32": Rule("bool"),
        "trainer.logger": _choice(*LOGGERS),
        "trainer.collective_timeout_min": Rule("float", minimum=0, exclusive=True),
        "eval.suites": Rule("list", items=_choice(*PARTS)),
        "eval.limit": Rule("int", minimum=1, nullable=True),
        "dataset.root": Rule("str"),
        "dataset.download": Rule("bool"),
    }


def _train_rules() -> dict[str, Rule]:
    from ..training.schedule import SCHEDULES

    return {
        **_trainer_rules(),
        "seed": Rule("int", minimum=0),
        "resume": Rule("bool"),
        "optim.name": _choice("sgd"),
        "optim.lr": Rule("float", minimum=0, exclusive=True),
        "optim.momentum": Rule("float", minimum=0, maximum=1),
        "optim.nesterov": Rule("bool"),
        "optim.weight_decay": Rule("float", minimum=0),
        "optim.schedule": _choice(*SCHEDULES),
        "optim.min_lr": Rule("float", minimum=0),
        "optim.milestones": Rule("list", items=Rule("int", minimum=1)),
        "optim.gamma": Rule("float", minimum=0, exclusive=True),
        "optim.warmup_epochs": Rule("int", minimum=0),
        "optim.lr_reference_batch": Rule("int", minimum=1, nullable=True),
    }


def _eval_rules() -> dict[str, Rule]:
    from ..evaluation.checkpoint import CHECKPOINT_FORMATS

    return {
        **_trainer_rules(),
        "checkpoint": Rule("str"),
        "checkpoint_format": _choice(*CHECKPOINT_FORMATS),
        "output": Rule("str", nullable=True),
    }


def _download_rules() -> dict[str, Rule]:
    return {
        "parts": Rule("list", items=_choice(*PARTS)),
        "progress": Rule("bool"),
        "dataset.root": Rule("str"),
        "dataset.download": Rule("bool"),
    }


def _corrupt_rules() -> dict[str, Rule]:
    from ..corrupt.parameters import TABLES
    from ..corrupt.registry import ALL_CORRUPTIONS
    from ..data.names import SEVERITIES

    return {
        "output": Rule("str", nullable=True),
        "seed": Rule("int", minimum=0),
        "progress": Rule("bool"),
        "corrupt.workers": Rule("int", minimum=1, nullable=True),
        "corrupt.parameters": _choice(*TABLES, nullable=True),
        "corrupt.corruptions": Rule("list", items=_choice(*ALL_CORRUPTIONS), nullable=True),
        "corrupt.severities": Rule("list", items=Rule("int", minimum=min(SEVERITIES), maximum=max(SEVERITIES))),
        "corrupt.chunk_size": Rule("int", minimum=1),
        "dataset.root": Rule("str"),
        "dataset.download": Rule("bool"),
    }


#: The schema of each command's own keys.
SCHEMAS: dict[str, Callable[[], dict[str, Rule]]] = {
    "train": _train_rules, "eval": _eval_rules, "download": _download_rules, "corrupt": _corrupt_rules,
}

#: Ranges of component options whose annotation gives only the type.
COMPONENT_RANGES: dict[str, Rule] = {
    "augmentation.severity": Rule("float", minimum=0, exclusive=True),
    "augmentation.width": Rule("int", minimum=1),
    "augmentation.depth": Rule("int", minimum=-1),
    "augmentation.alpha": Rule("float", minimum=0, exclusive=True),
    "augmentation.fill": Rule("int", minimum=0, maximum=255),
    "augmentation.jsd_lambda": Rule("float", minimum=0),
    "augmentation.length": Rule("int", minimum=1),
    "augmentation.holes": Rule("int", minimum=1),
    "augmentation.probability": Rule("float", minimum=0, maximum=1),
    "augmentation.epsilon": Rule("float", minimum=0),
    "augmentation.step_size": Rule("float", minimum=0),
    "augmentation.steps": Rule("int", minimum=1),
    "model.depth": Rule("int", minimum=1),
    "model.widen_factor": Rule("int", minimum=1),
    "model.dropout": Rule("float", minimum=0, maximum=1),
    "model.growth_rate": Rule("int", minimum=1),
    "model.cardinality": Rule("int", minimum=1),
    "model.base_width": Rule("int", minimum=1),
    "dataset.crop_padding": Rule("int", minimum=0),
    "dataset.image_size": Rule("int", minimum=1),
    "dataset.resize_size": Rule("int", minimum=1),
    "dataset.train_size": Rule("int", minimum=1),
    "dataset.test_size": Rule("int", minimum=1),
    "dataset.seed": Rule("int", minimum=0),
    "dataset.crop_fraction": Rule("float", minimum=0, maximum=1, exclusive=True),
}

#: What to pass for a required key (``???`` in the config), where its type alone says too little.
REQUIRED_HINTS: dict[str, str] = {"checkpoint": "a checkpoint file, e.g. results/runs/<run>/checkpoints/last.pt"}

#: Component nodes whose options come from what their ``_target_`` builds.
COMPONENTS: tuple[str, ...] = ("model", "dataset", "augmentation")


def rule_from_annotation(annotation: Any) -> Rule:
    """The rule an argument's type annotation implies (``any`` where it says nothing checkable)."""
    if isinstance(annotation, str) or annotation in (inspect.Parameter.empty, typing.Any):
        return Rule("any")
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(annotation))
        kinds = {rule_from_annotation(a) for a in members}
        if len(kinds) == 1:
            (rule,) = kinds
            return Rule(rule.kind, items=rule.items, nullable=nullable or rule.nullable)
        if {r.kind for r in kinds} <= {"str"}:
            return Rule("str", nullable=nullable)
        return Rule("any")
    if annotation is bool:
        return Rule("bool")
    if annotation is int:
        return Rule("int")
    if annotation is float:
        return Rule("float")
    if annotation in (str, Path):
        return Rule("str")
    if origin is not None and isinstance(origin, type):
        if issubclass(origin, Mapping):
            return Rule("dict")
        if issubclass(origin, Sequence) and origin is not str:
            args = typing.get_args(annotation)
            return Rule("list", items=rule_from_annotation(args[0]) if args else None)
    return Rule("any")


def _option_constructor(builder: Callable[..., Any]) -> Callable[..., Any] | None:
    """The constructor an augmentation builder passes its ``**options`` to."""
    from ..augment.augmix import AugMix
    from ..augment.baselines import Cutout, RestrictedAutoAugment
    from ..augment.transforms import RandomChain
    from ..training import plans
    from ..training.objectives import AdversarialTraining, CutMix, Mixup

    return {
        plans.augmix: AugMix.__init__,
        plans.cutout: Cutout.__init__,
        plans.autoaugment: RestrictedAutoAugment.__init__,
        plans.mixup: Mixup.__init__,
        plans.cutmix: CutMix.__init__,
        plans.adversarial: AdversarialTraining.__init__,
        plans.random_aa: RandomChain.__init__,
    }.get(builder)


def component_rules(node: str, options: Mapping[str, Any]) -> dict[str, Rule]:
    """Rules of a component's options, from the annotations of what its ``_target_`` builds."""
    target = options.get("_target_")
    if not isinstance(target, str):
        return {}
    try:
        builder = import_target(target)
        functions = [builder.__init__ if inspect.isclass(builder) else builder]
        constructor = _option_constructor(builder)
        if constructor is not None:
            functions.append(constructor)
        hints: dict[str, Any] = {}
        for fn in reversed(functions):
            hints.update(typing.get_type_hints(fn))
            hints.update(
                {n: p.annotation for n, p in inspect.signature(fn).parameters.items() if n not in hints}
            )
    except Exception:  # noqa: BLE001 - an unimportable target is reported when it is built
        return {}
    rules = {}
    for key in options:
        if key in ("_target_", "name") or key not in hints:
            continue
        rule = rule_from_annotation(hints[key])
        ranged = COMPONENT_RANGES.get(f"{node}.{key}")
        if ranged is not None and rule.kind in ("int", "float", "any"):
            rule = Rule(
                ranged.kind if rule.kind == "any" else rule.kind, ranged.minimum, ranged.maximum,
                ranged.exclusive, nullable=rule.nullable,
            )
        rules[f"{node}.{key}"] = rule
    return rules


def config_rules(command: str, cfg: DictConfig) -> dict[str, Rule]:
    """Every rule that applies to a composed config of ``command`` (train, eval or download)."""
    rules = SCHEMAS[command]()
    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig):
            component = {k: v for k, v in component_rules(node, _plain(options)).items() if k not in rules}
            rules.update(component)
    rules.update({f"{node}.{key}": Rule("str") for node in COMPONENTS for key in ("name", "_target_")})
    return rules


def _plain(node: Any) -> Any:
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def validate_config(command: str, cfg: DictConfig) -> None:
    """Refuse the first key of a composed config whose value breaks its rule, in one line."""
    for node in COMPONENTS:  # first: a component's name may be derived from its target
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig) and "_target_" in options.keys() and OmegaConf.is_missing(options, "_target_"):
            key = f"{node}._target_"
            raise UserError(f"{key} is required; pass {key}=<{REQUIRED_HINTS.get(key, 'a dotted path to a class or function')}>")
    rules = config_rules(command, cfg)
    for key, rule in rules.items():
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if not isinstance(parent, DictConfig) or leaf not in parent.keys():
            continue
        if OmegaConf.is_missing(parent, leaf):
            raise UserError(f"{key} is required; pass {key}=<{REQUIRED_HINTS.get(key, rule.accepted())}>")
        value = _plain(parent[leaf])
        if not rule.fits(value):
            accepted = f"choose from: {', '.join(rule.choices)}" if rule.choices else f"accepted: {rule.accepted()}"
            raise UserError(f"{key}={_show(value)} is invalid; {accepted}")
    _check_together(command, cfg)
    _check_targets(cfg)
    root = OmegaConf.select(cfg, "dataset.root")
    if isinstance(root, str) and Path(root).expanduser().exists() and not Path(root).expanduser().is_dir():
        raise UserError(f"dataset.root={root} is a file; accepted: a folder (created when missing)")


def _check_targets(cfg: DictConfig) -> None:
    """Every component's ``_target_`` (nested ones too) imports and takes the options given,
    before any data is read."""
    from .build import DATASET_TOOL_KEYS, check_component, locate

    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig) and isinstance(options.get("_target_"), str):
            plain = _plain(options)
            check_component(node, {k: v for k, v in plain.items() if node != "dataset" or k not in DATASET_TOOL_KEYS})
            for key, value in plain.items():
                if isinstance(value, dict) and isinstance(value.get("_target_"), str):
                    locate(f"{node}.{key}", value["_target_"])


def _check_together(command: str, cfg: DictConfig) -> None:
    """Checks that involve several keys or the machine: the device exists, the batch splits evenly."""
    from ..runtime import resolve_device

    if command in ("train", "eval"):
        resolve_device(cfg.trainer.accelerator)
    if command == "train":
        from ..training.loop import per_rank_batch

        per_rank_batch(int(cfg.trainer.batch_size), int(cfg.trainer.devices), "trainer.batch_size")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def config_keys(cfg: DictConfig) -> Iterator[str]:
    """Every dotted key of ``cfg`` (nodes and leaves), without resolving interpolations."""
    for key in cfg.keys():
        node = cfg._get_node(key)  # noqa: SLF001 - the node itself, interpolations unresolved
        yield str(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():  # noqa: SLF001
            yield from (f"{key}.{sub}" for sub in config_keys(node))


def check_override_keys(cfg: DictConfig, overrides: Sequence[str], open_nodes: Sequence[str] = ()) -> None:
    """Refuse ``key=value`` / ``~key`` overrides naming a key that ``cfg`` lacks, with the closest one.

    ``+key`` / ``++key`` (adding keys), Hydra's own keys, config-group choices and keys under
    ``open_nodes`` are not checked.
    """
    known: list[str] | None = None
    for override in overrides:
        if override.startswith("-") or override.startswith("+"):
            continue
        if "=" not in override and not override.startswith("~"):
            continue
        key = override.split("=", 1)[0].lstrip("~")
        if not key or key.startswith("hydra") or "@" in key or "/" in key:
            continue
        if any(key == node or key.startswith(f"{node}.") for node in open_nodes):
            continue
        known = known if known is not None else list(config_keys(cfg))
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see the keys with --cfg job"
        raise UserError(f"unknown key {key!r}; {hint} (add a new key with +{key}=...)")
