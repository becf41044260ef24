"""Dataset registry: ``dataset.family`` -> ``Benchmark`` class, and ``build_benchmark``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UserError
from ..options import accepted_arguments, check_options
from .benchmark import Benchmark
from .cifar import CifarBenchmark
from .imagenet import ImageNetBenchmark
from .synthetic import SyntheticCifarBenchmark

FAMILIES: dict[str, type[Benchmark]] = {
    "cifar": CifarBenchmark,
    "imagenet": ImageNetBenchmark,
    "synthetic": SyntheticCifarBenchmark,
}

#: Keys of a dataset config that are not constructor arguments.
_NON_ARGUMENTS = ("family", "download")


def build_benchmark(options: Mapping[str, Any]) -> Benchmark:
    """The benchmark described by a dataset config (``family`` plus the class's arguments)."""
    family = options.get("family")
    if family not in FAMILIES:
        raise UserError(f"unknown dataset.family {family!r}; choose from: {', '.join(FAMILIES)}")
    cls = FAMILIES[family]
    kwargs = {k: v for k, v in options.items() if k not in _NON_ARGUMENTS}
    check_options(f"dataset family {family!r}", kwargs, accepted_arguments(cls.__init__))
    return cls(**kwargs)

