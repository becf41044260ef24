"""Datasets: clean splits, corrupted (-C) and perturbed (-P) benchmark sets, verified downloads and
the benchmark classes that dataset configs name with ``_target_``.

The names load lazily: importing ``augmix_bench.data.names`` or ``.sources`` stays torch-free.
"""

from ..lazy import lazy_exports

_EXPORTS = {
    "PARTS": ".benchmark",
    "Benchmark": ".benchmark",
    "PerturbedSequences": ".benchmark",
    "CifarBenchmark": ".cifar",
    "ImageFolderBenchmark": ".image_folder",
    "ImageNetBenchmark": ".imagenet",
    "SyntheticCifarBenchmark": ".synthetic",
    "CIFAR_PERTURBATIONS": ".names",
    "CORRUPTIONS": ".names",
    "EXTRA_CORRUPTIONS": ".names",
    "IMAGENET_PERTURBATIONS": ".names",
    "NOISE_PERTURBATIONS": ".names",
    "SEVERITIES": ".names",
    "CIFAR_MEAN": ".constants",
    "CIFAR_STD": ".constants",
    "IMAGENET_MEAN": ".constants",
    "IMAGENET_STD": ".constants",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
