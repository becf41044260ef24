"""Generating corruption (-C) benchmarks: the algorithms of the original CIFAR-10-C and ImageNet-C
scripts, seeded per image, vectorised, in parallel and resumable (see docs/benchmarks.md).

The names load lazily (the algorithms import SciPy and OpenCV, the ``[corrupt]`` extra).
"""

from ..lazy import lazy_exports

_EXPORTS = {
    "TABLES": ".parameters",
    "CorruptionSetting": ".parameters",
    "table_for_side": ".parameters",
    "ALL_CORRUPTIONS": ".registry",
    "DETERMINISTIC": ".registry",
    "FUNCTIONS": ".registry",
    "corrupt_images": ".registry",
    "image_generators": ".seeding",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
