"""The corruption parameter tables of the original scripts (CIFAR and ImageNet), in one place.

Each entry holds the five severities' parameters, as tuples in the order of shared/CORRUPTIONS.md
section 1. Values given in pixels (blur radii, motion blur radius) are used as they are at any image
size; the few quantities the original scripts tie to the image side follow ``CorruptionSetting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..schema import CORRUPTION_TABLES

#: Names of the parameter tables.
TABLES: tuple[str, ...] = CORRUPTION_TABLES

#: Largest image side that gets the CIFAR table when no table is asked for.
CIFAR_TABLE_MAX_SIDE = 64

_CIFAR: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "shot_noise": (500, 250, 100, 75, 50),
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1),
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    # (start, stop, step) of np.arange, as the script wrote them
    "zoom_blur": ((1, 1.06, 0.01), (1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.01), (1, 1.26, 0.01)),
    "snow": (
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    "spatter": (
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
    # fractions of the elastic scale (the image side for CIFAR)
    "elastic_transform": ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)),
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    "jpeg_compression": (80, 65, 58, 50, 40),
}

_IMAGENET: dict[str, tuple[Any, ...]] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "shot_noise": (60, 25, 12, 5, 3),
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    "speckle_noise": (0.15, 0.2, 0.35, 0.45, 0.6),
    "gaussian_blur": (1, 2, 3, 4, 6),
    "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    "defocus_blur": ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    "zoom_blur": ((1, 1.11, 0.01), (1, 1.16, 0.01), (1, 1.21, 0.02), (1, 1.26, 0.02), (1, 1.31, 0.03)),
    "snow": (
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ),
    "frost": ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    "fog": ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
    "spatter": (
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "saturate": ((0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)),
    "elastic_transform": ((2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02), (0.12, 0.01, 0.02)),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
    "jpeg_compression": (25, 18, 15, 10, 7),
}

_TABLES = {"cifar": _CIFAR, "imagenet": _IMAGENET}

#: The side the ImageNet script multiplied the elastic fractions by (a typo for 224, kept).
IMAGENET_ELASTIC_SIDE = 244
#: Frost textures are resized by this factor for CIFAR (32 px) images.
CIFAR_FROST_SCALE = 0.2


@dataclass(frozen=True)
class CorruptionSetting:
    """Everything a corruption needs besides the images: the table, the image side, the severity.

    Attributes:
        table: ``cifar`` or ``imagenet``.
        side: the (square) image side in pixels.
        severity: 1-5.
    """

    table: str
    side: int
    severity: int

    def parameter(self, name: str) -> Any:
        """The parameters of corruption ``name`` at this severity."""
        return _TABLES[self.table][name][self.severity - 1]

    def zoom_factors(self) -> np.ndarray:
        """The zoom blur factors, from ``np.arange`` exactly as the scripts computed them."""
        start, stop, step = self.parameter("zoom_blur")
        return np.arange(start, stop, step)

    def elastic(self) -> tuple[float, float, float]:
        """(alpha, sigma, affine amplitude) in pixels: the fractions times the elastic scale.

        CIFAR scales by the side; ImageNet by 244/224 of the side (the script's 244 at 224 px).
        """
        scale = self.side if self.table == "cifar" else IMAGENET_ELASTIC_SIDE * self.side / 224
        return tuple(scale * f for f in self.parameter("elastic_transform"))  # type: ignore[return-value]

    def fog_map_size(self) -> int:
        """Side of the plasma map: the smallest power of two >= the image side (32 / 256)."""
        return 1 << max(0, (self.side - 1).bit_length())

    def frost_scale(self) -> float:
        """Resize factor of the frost textures: 0.2 at 32 px (CIFAR), 1 up to 224 px (ImageNet).

        Other sides keep the texture's size relative to the image: 0.2 * side / 32 with the CIFAR
        table, max(1, side / 224) with the ImageNet one.
        """
        if self.table == "cifar":
            return CIFAR_FROST_SCALE if self.side == 32 else CIFAR_FROST_SCALE * self.side / 32
        return max(1.0, self.side / 224)


def table_for_side(side: int, table: str | None = None) -> str:
    """The parameter table for square images of ``side`` px: ``table`` if given, else by size.

    The CIFAR table for sides up to 64 px, the ImageNet table above.
    """
    if table is None:
        return "cifar" if side <= CIFAR_TABLE_MAX_SIDE else "imagenet"
    if table not in TABLES:
        raise ValueError(f"unknown parameter table {table!r}; choose from: {', '.join(TABLES)}")
    return table
