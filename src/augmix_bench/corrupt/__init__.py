"""Generating corruption (-C) benchmarks: the algorithms of the original CIFAR-10-C and ImageNet-C
scripts, seeded per image, vectorised, in parallel and resumable (see docs/benchmarks.md)."""

from .parameters import TABLES, CorruptionSetting, table_for_side
from .registry import ALL_CORRUPTIONS, DETERMINISTIC, FUNCTIONS, corrupt_images
from .seeding import image_generators

__all__ = [
    "ALL_CORRUPTIONS",
    "DETERMINISTIC",
    "FUNCTIONS",
    "TABLES",
    "CorruptionSetting",
    "corrupt_images",
    "image_generators",
    "table_for_side",
]
