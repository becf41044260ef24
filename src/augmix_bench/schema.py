"""The schema: the type and range of every config key, declared once (torch-free).

The command line is checked against these rules before any folder or file is made
(``config/validate.py``), and the constructors that take the same values check them with the same
rules (``check``), so what a builder would refuse is refused up front, in the same words. The
choices of the tool's own keys (accelerators, precisions, schedules, ...) are declared here too and
imported by the modules that act on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .data.names import ALL_CBAR_CORRUPTIONS, CORRUPTIONS, EXTRA_CORRUPTIONS, SEVERITIES
from .errors import UserError


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
    distinct: bool = False  # a list holds no item twice
    min_items: int = 0  # a list holds at least this many items
    forbidden: tuple[float, ...] = ()  # values inside the range that are refused
    text: str | None = None  # what the rule accepts, in words, where the range says it badly

    def accepted(self) -> str:
        """What this rule accepts, in words."""
        if self.text is not None:
            text = self.text
        elif self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "list":
            text = {0: "a list", 1: "a non-empty list"}.get(self.min_items, f"a list of at least {self.min_items} items")
            if self.distinct:
                text += " of distinct items" + (f", each {self.items.accepted()}" if self.items else "")
            elif self.items:
                text += f" whose items are each {self.items.accepted()}"
        else:
            text = _KIND_WORDS[self.kind]
            if self.minimum is not None and self.maximum is not None:
                opening = "(" if self.exclusive else "["
                text += f" in {opening}{_number(self.minimum)}, {_number(self.maximum)}]"
            elif self.minimum is not None:
                text += f" {'>' if self.exclusive else '>='} {_number(self.minimum)}"
        return f"null or {text}" if self.nullable else text

    def fits(self, value: Any) -> bool:
        """Whether ``value`` has this rule's type and lies in its range."""
        if value is None:
            return self.nullable
        if self.kind == "list":
            return (
                isinstance(value, (list, tuple))
                and len(value) >= self.min_items
                and (not self.distinct or len(set(map(repr, value))) == len(value))
                and (self.items is None or all(self.items.fits(v) for v in value))
            )
        if self.kind == "any":
            return True
        if not isinstance(value, _TYPES[self.kind]) or (self.kind in ("int", "float") and isinstance(value, bool)):
            return False
        if self.choices:
            return value in self.choices
        if self.kind in ("int", "float") and value in self.forbidden:
            return False
        if self.minimum is not None and (value < self.minimum or (self.exclusive and value == self.minimum)):
            return False
        return self.maximum is None or value <= self.maximum


_KIND_WORDS: dict[str, str] = {
    "int": "an integer", "float": "a number", "bool": "true or false", "str": "a string", "dict": "a mapping",
    "any": "anything",
}
_TYPES: dict[str, type | tuple[type, ...]] = {"int": int, "float": (int, float), "bool": bool, "str": str, "dict": dict}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def show(value: Any) -> str:
    """A value as the command line writes it (``'abc'``, ``null``, ``true``, ``3``)."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def refusal(key: str, value: Any, rule: Rule) -> str:
    """The one line that refuses ``key=value`` under ``rule``."""
    accepted = f"choose from: {', '.join(rule.choices)}" if rule.choices else f"accepted: {rule.accepted()}"
    return f"{key}={show(value)} is invalid; {accepted}"


def check(key: str, value: Any, rules: Mapping[str, Rule] | None = None) -> Any:
    """``value`` if it fits the rule of ``key`` (in ``rules``, default: every table here), else a
    ``UserError`` naming the value and what is accepted. Constructors call this with their own
    arguments, so the library refuses exactly what the command line refuses."""
    rule = (rules if rules is not None else ALL_RULES)[key]
    if not rule.fits(value):
        raise UserError(refusal(key, value, rule))
    return value


def _choice(*choices: str, nullable: bool = False) -> Rule:
    return Rule("str", choices=choices, nullable=nullable)


#: ``trainer.accelerator``: where the run computes.
ACCELERATORS: tuple[str, ...] = ("auto", "cpu", "cuda")
#: ``trainer.precision``: the autocast precision of training and evaluation.
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
#: ``trainer.data_pipeline``: where training views are made.
DATA_PIPELINES: tuple[str, ...] = ("auto", "cpu", "hybrid", "gpu")
#: ``optim.schedule``: the learning-rate schedules.
SCHEDULES: tuple[str, ...] = ("cosine", "step")
#: ``eval.suites`` / ``parts``: the evaluation suites, and the data parts a benchmark prepares.
SUITES: tuple[str, ...] = ("clean", "corruptions", "perturbations", "shifts", "corruptions_bar")
#: ``eval.shifts``: the natural-shift test sets of each dataset family (``data/shifts.py``), the
#: names of ``results.json``'s ``shifts.<name>``; a family's default is all of them but CIFAR-10.1 v4
#: (v6 is the version its authors recommend).
SHIFTS: dict[str, tuple[str, ...]] = {
    "cifar10": ("cifar10_1", "cifar10_2", "cifar10_1_v4"),
    "imagenet": ("imagenet_v2", "imagenet_r", "imagenet_a", "imagenet_sketch"),
}
#: The shift sets evaluated when ``eval.shifts`` is null.
DEFAULT_SHIFTS: dict[str, tuple[str, ...]] = {
    "cifar10": ("cifar10_1", "cifar10_2"),
    "imagenet": SHIFTS["imagenet"],
}
#: ``eval.shifts`` / ``shifts`` of ``augmix-download``: null (the dataset's default sets) or a list
#: of distinct names; which names a dataset accepts is checked once it is known (``Benchmark.select_shifts``).
SHIFTS_RULE = Rule(
    "list", items=Rule("str"), nullable=True, distinct=True, min_items=1,
    text="a non-empty list of distinct shift-set names (null: all of the dataset's)",
)
#: ``parts`` of ``augmix-download``: the suites with a published, checksummed source (-C-bar has none).
DOWNLOAD_PARTS: tuple[str, ...] = tuple(s for s in SUITES if s != "corruptions_bar")
#: ``checkpoint_format`` of ``augmix-eval``: saved by ``augmix-train``, by the AugMix reference
#: implementation, or a bare ``state_dict`` (e.g. a torchvision or timm model's weights).
CHECKPOINT_FORMATS: tuple[str, ...] = ("native", "reference", "state_dict")
#: ``corrupt.parameters``: the corruption parameter tables of the original scripts.
CORRUPTION_TABLES: tuple[str, ...] = ("cifar", "imagenet")
#: Every corruption ``augmix-corrupt`` generates: the benchmark's 15, then the 4 held-out ones.
ALL_CORRUPTIONS: tuple[str, ...] = (*CORRUPTIONS, *EXTRA_CORRUPTIONS)
#: ``corrupt.suite``: which benchmark ``augmix-corrupt`` builds: ``c`` (-C, Hendrycks & Dietterich)
#: or ``cbar`` (-C-bar, Mintun et al.).
CORRUPTION_SUITES: tuple[str, ...] = ("c", "cbar")
#: Every name ``corrupt.corruptions`` accepts: the -C ones, then the -C-bar ones (each suite checks its own).
CORRUPT_NAMES: tuple[str, ...] = (*ALL_CORRUPTIONS, *ALL_CBAR_CORRUPTIONS)

#: ``augmentation.preset`` of PRIME: the reference's parameter sets (``augment/prime.py``).
AUGMENTATION_PRESETS: tuple[str, ...] = ("cifar", "imagenet")
#: ``augmentation.primitives`` of PRIME: its primitive families, in the reference's order.
PRIME_PRIMITIVES: tuple[str, ...] = ("diffeo", "color", "filter")

#: ``seed`` of ``augmix-train`` and ``augmix-corrupt``: torch seeds its data sampler with
#: ``seed + epoch``, which must stay within 64 bits, so seeds stop at 2**63 - 1.
SEED_RULE = Rule("int", minimum=0, maximum=2**63 - 1)

#: Keys of the ``trainer`` and ``eval`` nodes (training and ``augmix-eval``).
TRAINER_RULES: dict[str, Rule] = {
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
    "trainer.collective_timeout_min": Rule("float", minimum=0, exclusive=True),
    "eval.suites": Rule("list", items=_choice(*SUITES)),
    "eval.limit": Rule("int", minimum=1, nullable=True),
    "eval.shifts": SHIFTS_RULE,
    "dataset.root": Rule("str"),
    "dataset.download": Rule("bool"),
}

#: Keys of ``augmix-train`` besides the trainer's.
TRAIN_RULES: dict[str, Rule] = {
    **TRAINER_RULES,
    "seed": SEED_RULE,
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

#: Keys of ``augmix-eval`` besides the trainer's.
EVAL_RULES: dict[str, Rule] = {
    **TRAINER_RULES,
    "checkpoint": Rule("str"),
    "checkpoint_format": _choice(*CHECKPOINT_FORMATS),
    "output": Rule("str", nullable=True),
}

#: Keys of ``augmix-download``.
DOWNLOAD_RULES: dict[str, Rule] = {
    "parts": Rule("list", items=_choice(*DOWNLOAD_PARTS)),
    "shifts": SHIFTS_RULE,
    "progress": Rule("bool"),
    "dataset.root": Rule("str"),
    "dataset.download": Rule("bool"),
}

#: Keys of ``augmix-corrupt``.
CORRUPT_RULES: dict[str, Rule] = {
    "output": Rule("str", nullable=True),
    "seed": SEED_RULE,
    "progress": Rule("bool"),
    "corrupt.workers": Rule("int", minimum=1, nullable=True),
    "corrupt.parameters": _choice(*CORRUPTION_TABLES, nullable=True),
    "corrupt.suite": _choice(*CORRUPTION_SUITES),
    "corrupt.corruptions": Rule(
        "list", items=_choice(*CORRUPT_NAMES), nullable=True, distinct=True, min_items=1
    ),
    "corrupt.severities": Rule(
        "list", items=Rule("int", minimum=min(SEVERITIES), maximum=max(SEVERITIES)), distinct=True, min_items=1
    ),
    "corrupt.chunk_size": Rule("int", minimum=1),
    "dataset.root": Rule("str"),
    "dataset.download": Rule("bool"),
}

#: The schema of each command's own keys.
SCHEMAS: dict[str, dict[str, Rule]] = {
    "train": TRAIN_RULES, "eval": EVAL_RULES, "download": DOWNLOAD_RULES, "corrupt": CORRUPT_RULES,
}

#: Options of the package's components (``model.*``, ``dataset.*``, ``augmentation.*``): checked on
#: the command line whatever the component, and by the constructors that take them.
COMPONENT_RULES: dict[str, Rule] = {
    "augmentation.severity": Rule("float", minimum=0.1, maximum=10, exclusive=True),
    "augmentation.width": Rule("int", minimum=1),
    "augmentation.depth": Rule("int", minimum=-1, forbidden=(0,), text="-1 (1-3 ops drawn per chain) or an integer >= 1"),
    "augmentation.alpha": Rule("float", minimum=0, exclusive=True),
    "augmentation.fill": Rule("int", minimum=0, maximum=255),
    "augmentation.jsd_lambda": Rule("float", minimum=0),
    "augmentation.length": Rule("int", minimum=1),
    "augmentation.holes": Rule("int", minimum=0),
    "augmentation.probability": Rule("float", minimum=0, maximum=1),
    "augmentation.epsilon": Rule("float", minimum=0, maximum=1),
    "augmentation.step_size": Rule("float", minimum=0, exclusive=True),
    "augmentation.steps": Rule("int", minimum=1),
    "augmentation.decay_power": Rule("float", minimum=0),
    "augmentation.max_soft": Rule("float", minimum=0, maximum=0.5),
    "augmentation.mixing_set": Rule("str", text="a folder of images (searched recursively)"),
    "augmentation.mixing_resize": Rule("int", minimum=1, nullable=True),
    "augmentation.k": Rule("int", minimum=0),
    "augmentation.beta": Rule("float", minimum=0, exclusive=True),
    "augmentation.preset": _choice(*AUGMENTATION_PRESETS),
    "augmentation.mixture_width": Rule("int", minimum=1),
    "augmentation.mixture_depth": Rule(
        "int", minimum=-1, forbidden=(0,), text="-1 (a random depth per chain) or an integer >= 1"
    ),
    "augmentation.max_depth": Rule("int", minimum=1),
    "augmentation.primitives": Rule("list", items=_choice(*PRIME_PRIMITIVES), distinct=True, min_items=1),
    "augmentation.shared_draws": Rule("bool"),
    "augmentation.num_ops": Rule("int", minimum=1),
    "augmentation.magnitude": Rule("int", minimum=0),
    "augmentation.num_magnitude_bins": Rule("int", minimum=2),
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

#: Every rule above, by key (``check``'s default table).
ALL_RULES: dict[str, Rule] = {**TRAIN_RULES, **EVAL_RULES, **DOWNLOAD_RULES, **COMPONENT_RULES}
