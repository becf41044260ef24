"""The one check of a composed config, before any data is read or any file is written.

Two phases, in this order:

1. static (torch-free, well under a second): every key the tool reads itself and every option of
   the package's own components is checked against the schema (``augmix_bench/schema.py``, the
   rules the constructors apply too), plus checks that need no import (the batch splits across
   ranks, ``dataset.root`` is no file);
2. targets: each component's (model, dataset, augmentation, logger) ``_target_`` is imported
   (PyTorch with it) and its options are typed by the annotations of what it builds (for
   augmentation builders that pass ``**options`` on, by the constructor they pass them to); a
   wrong path or an option the target does not take is refused; an augmentation's own preflight
   runs (``augment.plans.preflight``: e.g. PixMix's mixing-set folder); the device must exist.

Overridden keys that the config does not have are refused with the closest existing key (or, for
a key that became a config group, with the group's options).
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from ..errors import UserError
from ..schema import COMPONENT_RULES, SCHEMAS, Rule, refusal
from .paths import group_options
from .targets import DATASET_TOOL_KEYS, check_component, import_target, locate

#: What to pass for a required key (``???`` in the config), where its type alone says too little.
REQUIRED_HINTS: dict[str, str] = {
    "checkpoint": "a checkpoint file, e.g. results/runs/<run>/checkpoints/last.pt",
    "augmentation.mixing_set": "a folder of images (searched recursively)> or set AUGMIX_MIXING_SET=<the folder",
}

#: Keys whose config default may resolve to null (an unset environment variable): required all the same.
REQUIRED_EVEN_IF_NULL: frozenset[str] = frozenset({"augmentation.mixing_set"})

#: Component nodes whose options come from what their ``_target_`` builds.
COMPONENTS: tuple[str, ...] = ("model", "dataset", "augmentation", "logger")

#: Keys that became config groups, and the group each is now (``trainer.logger=x`` -> ``logger=x``).
KEYS_NOW_GROUPS: dict[str, str] = {"trainer.logger": "logger"}


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
    from ..augment import plans
    from ..augment.augmix import AugMix
    from ..augment.baselines import Cutout, RestrictedAutoAugment
    from ..augment.objectives import AdversarialTraining, CutMix, FMix, Mixup
    from ..augment.transforms import RandomChain

    return {
        plans.augmix: AugMix.__init__,
        plans.cutout: Cutout.__init__,
        plans.autoaugment: RestrictedAutoAugment.__init__,
        plans.mixup: Mixup.__init__,
        plans.cutmix: CutMix.__init__,
        plans.fmix: FMix.__init__,
        plans.adversarial: AdversarialTraining.__init__,
        plans.random_aa: RandomChain.__init__,
    }.get(builder)


def component_rules(node: str, options: Mapping[str, Any]) -> dict[str, Rule]:
    """Rules of a component's options, from the annotations of what its ``_target_`` builds
    (imports the target), with the schema's ranges where the annotation gives only the type."""
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
            hints.update({n: p.annotation for n, p in inspect.signature(fn).parameters.items() if n not in hints})
    except Exception:  # noqa: BLE001 - an unimportable target is reported by _check_targets
        return {}
    rules = {}
    for key in options:
        if key in ("_target_", "name") or key not in hints:
            continue
        rule = rule_from_annotation(hints[key])
        ranged = COMPONENT_RULES.get(f"{node}.{key}")
        if ranged is not None and rule.kind in ("int", "float", "any"):
            rule = Rule(
                ranged.kind if rule.kind == "any" else rule.kind, ranged.minimum, ranged.maximum,
                ranged.exclusive, nullable=rule.nullable, forbidden=ranged.forbidden, text=ranged.text,
            )
        rules[f"{node}.{key}"] = rule
    return rules


def _plain(node: Any) -> Any:
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _own_component(cfg: DictConfig, node: str) -> bool:
    """Whether ``node`` (model, dataset, augmentation) builds one of the package's own components,
    whose options the schema declares (an outside target's options are typed by its annotations)."""
    options = OmegaConf.select(cfg, node)
    if not isinstance(options, DictConfig) or "_target_" not in options.keys() or OmegaConf.is_missing(options, "_target_"):
        return False
    target = options._get_node("_target_")._value()  # noqa: SLF001 - the literal, unresolved
    return isinstance(target, str) and target.startswith("augmix_bench.")


def _check_rules(cfg: DictConfig, rules: Mapping[str, Rule]) -> None:
    """Refuse the first key of ``cfg`` whose value breaks its rule in ``rules``, in one line."""
    for key, rule in rules.items():
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if not isinstance(parent, DictConfig) or leaf not in parent.keys():
            continue
        if OmegaConf.is_missing(parent, leaf) or (key in REQUIRED_EVEN_IF_NULL and parent[leaf] is None):
            raise UserError(f"{key} is required; pass {key}=<{REQUIRED_HINTS.get(key, rule.accepted())}>")
        value = _plain(parent[leaf])
        if not rule.fits(value):
            raise UserError(refusal(key, value, rule))


def validate_static(command: str, cfg: DictConfig) -> None:
    """The torch-free phase: the schema's rules and the checks that import nothing."""
    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig) and "_target_" in options.keys() and OmegaConf.is_missing(options, "_target_"):
            key = f"{node}._target_"
            raise UserError(f"{key} is required; pass {key}=<{REQUIRED_HINTS.get(key, 'a dotted path to a class or function')}>")
    own = {k: r for k, r in COMPONENT_RULES.items() if _own_component(cfg, k.split(".", 1)[0])}
    _check_rules(cfg, {**SCHEMAS[command], **own})
    if command == "train":
        devices, batch = int(cfg.trainer.devices), int(cfg.trainer.batch_size)
        if batch < devices or batch % devices != 0:
            raise UserError(
                f"trainer.batch_size={batch} does not split evenly across {devices} ranks; "
                f"accepted: a multiple of trainer.devices ({devices})"
            )
    root = OmegaConf.select(cfg, "dataset.root")
    if isinstance(root, str) and Path(root).expanduser().exists() and not Path(root).expanduser().is_dir():
        raise UserError(f"dataset.root={root} is a file; accepted: a folder (created when missing)")


def validate_targets(command: str, cfg: DictConfig) -> None:
    """The phase that imports: every component's ``_target_`` (nested ones too) imports and takes
    the options given, typed by its annotations; the names resolve to strings; the device exists."""
    rules: dict[str, Rule] = {}
    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig):
            rules.update({k: v for k, v in component_rules(node, _plain(options)).items() if k not in SCHEMAS[command]})
    rules.update({f"{node}.{key}": Rule("str") for node in COMPONENTS for key in ("name", "_target_")})
    _check_rules(cfg, rules)
    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig) and isinstance(options.get("_target_"), str):
            plain = _plain(options)
            builder, _, _ = check_component(
                node, {k: v for k, v in plain.items() if node != "dataset" or k not in DATASET_TOOL_KEYS}
            )
            if node == "augmentation":
                from ..augment.plans import preflight

                preflight(builder, plain)
            for key, value in plain.items():
                if isinstance(value, dict) and isinstance(value.get("_target_"), str):
                    locate(f"{node}.{key}", value["_target_"])
    if command in ("train", "eval"):
        from ..runtime import resolve_device

        resolve_device(cfg.trainer.accelerator)


def config_rules(command: str, cfg: DictConfig) -> dict[str, Rule]:
    """Every rule that applies to a composed config of ``command``: the schema's, the package's
    component options, and the annotations of what each ``_target_`` builds (imports the targets)."""
    rules = {**SCHEMAS[command], **{k: r for k, r in COMPONENT_RULES.items() if _own_component(cfg, k.split(".", 1)[0])}}
    for node in COMPONENTS:
        options = OmegaConf.select(cfg, node)
        if isinstance(options, DictConfig):
            rules.update({k: v for k, v in component_rules(node, _plain(options)).items() if k not in rules})
    rules.update({f"{node}.{key}": Rule("str") for node in COMPONENTS for key in ("name", "_target_")})
    return rules


def validate_config(command: str, cfg: DictConfig) -> None:
    """Both phases: refuse the first bad value of a composed config of ``command``, in one line."""
    validate_static(command, cfg)
    validate_targets(command, cfg)


def config_keys(cfg: DictConfig) -> Iterator[str]:
    """Every dotted key of ``cfg`` (nodes and leaves), without resolving interpolations."""
    for key in cfg.keys():
        node = cfg._get_node(key)  # noqa: SLF001 - the node itself, interpolations unresolved
        yield str(key)
        if isinstance(node, DictConfig) and not node._is_missing() and not node._is_none():  # noqa: SLF001
            yield from (f"{key}.{sub}" for sub in config_keys(node))


def check_override_keys(cfg: DictConfig, overrides: Sequence[str], open_nodes: Sequence[str] = ()) -> None:
    """Refuse ``key=value`` / ``~key`` / ``+key=value`` overrides naming a key that ``cfg`` lacks,
    with the closest one, in one line.

    A new key (``+key`` / ``++key``) is left to the component it is added to (model, dataset,
    augmentation, logger: its ``_target_`` says whether it takes the argument, ``validate_targets``);
    anywhere else (trainer, optim, eval, the top level) nothing would read it, so it is refused. The
    hint ``+key=...`` is offered only where the component's ``_target_`` takes that argument.
    Hydra's own keys, config-group choices and keys under ``open_nodes`` are not checked.
    """
    known: list[str] | None = None
    for override in overrides:
        if override.startswith("-") or ("=" not in override and not override.startswith("~")):
            continue
        adding = override.startswith("+")
        key = override.split("=", 1)[0].lstrip("+~")
        if not key or key.startswith("hydra") or "@" in key or "/" in key:
            continue
        if any(key == node or key.startswith(f"{node}.") for node in open_nodes):
            continue
        group = KEYS_NOW_GROUPS.get(key)
        if group is not None and group in cfg:
            raise UserError(
                f"unknown key {key!r}; it is the config group {group} now: "
                f"pass {group}=<{'|'.join(group_options(group))}> or {group}._target_=<class>"
            )
        known = known if known is not None else list(config_keys(cfg))
        if key in known:
            continue
        node = key.split(".", 1)[0]
        component = node in COMPONENTS and isinstance(OmegaConf.select(cfg, node), DictConfig)
        if adding and component:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:  # a typo, most likely (and no import: a refusal stays torch-free)
            hint = f"did you mean {close[0]}?"
        elif component and _takes_argument(_target_of(cfg, node, overrides), key.split(".", 1)[1]):
            hint = f"a new argument of {node}._target_ is added with +{key}=..."
        else:
            hint = "see the keys with --cfg job"
        if adding:  # a component's new key was passed on above: this one is in a closed node
            owner = f"{node} has" if "." in key and isinstance(OmegaConf.select(cfg, node), DictConfig) else "the config has"
            hint += f" ({owner} a fixed set of keys: nothing would read a new one)"
        raise UserError(f"unknown key {key!r}; {hint}")


def _target_of(cfg: DictConfig, node: str, overrides: Sequence[str]) -> Any:
    """The ``_target_`` of component ``node``: the last one given on the command line, else the config's."""
    given = [o.split("=", 1)[1] for o in overrides if o.lstrip("+").split("=", 1)[0] == f"{node}._target_" and "=" in o]
    if given:
        return given[-1].strip("'\"")
    return OmegaConf.select(cfg, f"{node}._target_", default=None)


def _takes_argument(target: Any, argument: str) -> bool:
    """Whether the component built by ``target`` takes ``argument``, by name or as ``**kwargs``
    (an augmentation builder: the constructor it passes its options to); imports the target."""
    if not isinstance(target, str) or "." in argument:
        return False
    try:
        builder = import_target(target)
        constructor = _option_constructor(builder)
        parameters = [*inspect.signature(builder).parameters.values()]
        if constructor is not None:  # the builder passes its **options on to this constructor
            parameters = [p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]
            parameters += inspect.signature(constructor).parameters.values()
    except Exception:  # noqa: BLE001 - an unimportable target is refused by validate_targets
        return False
    return any(p.name == argument or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
