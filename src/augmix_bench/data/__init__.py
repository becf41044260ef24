"""Datasets: clean splits, corrupted (-C) and perturbed (-P) benchmark sets, verified downloads and
the benchmark registry."""

from .benchmark import PARTS, Benchmark, PerturbedSequences
from .cifar import CifarBenchmark
from .imagenet import ImageNetBenchmark
from .names import (
    CIFAR_PERTURBATIONS,
    CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    IMAGENET_PERTURBATIONS,
    NOISE_PERTURBATIONS,
    SEVERITIES,
)
from .registry import FAMILIES, build_benchmark
from .synthetic import SyntheticCifarBenchmark

__all__ = [
    "CIFAR_PERTURBATIONS",
    "CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "FAMILIES",
    "IMAGENET_PERTURBATIONS",
    "NOISE_PERTURBATIONS",
    "PARTS",
    "SEVERITIES",
    "Benchmark",
    "CifarBenchmark",
    "ImageNetBenchmark",
    "PerturbedSequences",
    "SyntheticCifarBenchmark",
    "build_benchmark",
]
