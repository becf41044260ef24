"""Datasets: clean splits, corrupted (-C) and perturbed (-P) benchmark sets, verified downloads and
the benchmark classes that dataset configs name with ``_target_``."""

from .benchmark import PARTS, Benchmark, PerturbedSequences
from .cifar import CifarBenchmark
from .image_folder import ImageFolderBenchmark
from .imagenet import ImageNetBenchmark
from .names import (
    CIFAR_PERTURBATIONS,
    CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    IMAGENET_PERTURBATIONS,
    NOISE_PERTURBATIONS,
    SEVERITIES,
)
from .synthetic import SyntheticCifarBenchmark

__all__ = [
    "CIFAR_PERTURBATIONS",
    "CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "IMAGENET_PERTURBATIONS",
    "NOISE_PERTURBATIONS",
    "PARTS",
    "SEVERITIES",
    "Benchmark",
    "CifarBenchmark",
    "ImageFolderBenchmark",
    "ImageNetBenchmark",
    "PerturbedSequences",
    "SyntheticCifarBenchmark",
]
