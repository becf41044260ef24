"""Datasets: clean splits, corrupted (-C) benchmark sets and the benchmark registry."""

from .benchmark import PARTS, Benchmark
from .cifar import CifarBenchmark
from .names import CORRUPTIONS, EXTRA_CORRUPTIONS, SEVERITIES
from .registry import FAMILIES, build_benchmark
from .synthetic import SyntheticCifarBenchmark

__all__ = [
    "CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "FAMILIES",
    "PARTS",
    "SEVERITIES",
    "Benchmark",
    "CifarBenchmark",
    "SyntheticCifarBenchmark",
    "build_benchmark",
]
