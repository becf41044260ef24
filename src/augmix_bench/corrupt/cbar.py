"""The -C-bar corruptions of Mintun et al. (NeurIPS 2021), "On Interaction Between Augmentations
and Corruptions in Natural Corruption Robustness": CIFAR-10-C-bar and ImageNet-C-bar.

Each corruption is a callable ``(image uint8 (S, S, 3), parameter, rng) -> uint8 (S, S, 3)``.
``parameter`` is the reference's severity on its 0-10 scale; the released sets use five values per
corruption (``CBAR_PARAMETERS``), which ``corrupt_cbar`` looks up by severity 1-5. The two sets
share five corruptions and have five of their own each (``CBAR_CORRUPTIONS``).

Faithful to facebookresearch/augmentation-corruption, imagenet_c_bar/corrupt.py (commit
ba4d5a5e9132fe98fcd4be1ac90abedbbb188794): the same formulas, vectorised; the random numbers come
from the given generator (same distributions as the reference's ``np.random`` / seeded
``RandomState`` draws, not the same streams). The image side plays the reference's ``im_size``
(32 for CIFAR, 224 for ImageNet).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import cbar_noise, cbar_overlay, cbar_warp
from .cbar_common import check_image

#: The parameter tables' names: CIFAR-10-C-bar and ImageNet-C-bar.
CBAR_TABLES: tuple[str, ...] = ("cifar", "imagenet")

#: Per set, per corruption, the five parameters (severities 1-5), in the order of the reference's
#: csv files: imagenet_c_bar/cifar10_c_bar.csv and imagenet_c_bar/imagenet_c_bar.csv
#: (facebookresearch/augmentation-corruption @ ba4d5a5e9132fe98fcd4be1ac90abedbbb188794).
CBAR_PARAMETERS: dict[str, dict[str, tuple[float, ...]]] = {
    "cifar": {
        "blue_noise_sample": (0.7, 1.4, 2.1, 3.5, 4.2),
        "checkerboard_cutout": (1.0, 2.0, 3.0, 4.0, 5.0),
        "inverse_sparkles": (1.0, 1.5, 2.5, 4.5, 5.0),
        "pinch_and_twirl": (5.5, 6.0, 6.5, 8.5, 10.0),
        "ripple": (5.5, 6.0, 6.5, 7.5, 8.0),
        "brownish_noise": (2.5, 4.0, 5.5, 6.5, 7.0),
        "circular_motion_blur": (2.8, 3.6, 4.4, 5.2, 6.0),
        "lines": (0.5, 1.0, 1.5, 2.0, 2.5),
        "sparkles": (0.7, 3.5, 5.6, 6.3, 7.0),
        "transverse_chromatic_abberation": (1.0, 2.0, 5.0, 9.0, 10.0),
    },
    "imagenet": {
        "caustic_refraction": (2.35, 3.2, 4.9, 6.6, 9.15),
        "inverse_sparkles": (1.0, 2.0, 4.0, 9.0, 10.0),
        "sparkles": (1.0, 2.0, 3.0, 5.0, 6.0),
        "perlin_noise": (4.6, 5.2, 5.8, 7.6, 8.8),
        "blue_noise_sample": (0.8, 1.6, 2.4, 4.0, 5.6),
        "plasma_noise": (4.75, 7.0, 8.5, 9.25, 10.0),
        "checkerboard_cutout": (2.0, 3.0, 4.0, 5.0, 6.0),
        "cocentric_sine_waves": (3.0, 5.0, 8.0, 9.0, 10.0),
        "single_frequency_greyscale": (1.0, 1.5, 2.0, 4.5, 5.0),
        "brownish_noise": (1.0, 2.0, 3.0, 4.0, 5.0),
    },
}

#: Per set, its ten corruption names in the reference's order.
CBAR_CORRUPTIONS: dict[str, tuple[str, ...]] = {table: tuple(names) for table, names in CBAR_PARAMETERS.items()}


@dataclass(frozen=True)
class CbarCorruption:
    """A -C-bar corruption: ``draw(rng, side, parameter)`` gives its random numbers as keyword
    arguments of ``render(image, parameter, **draws)``; calling it does both."""

    name: str
    draw: Callable[[np.random.Generator, int, float], dict[str, Any]]
    render: Callable[..., np.ndarray]

    def __call__(self, image: np.ndarray, parameter: float, rng: np.random.Generator) -> np.ndarray:
        """Corrupt one uint8 (S, S, 3) image with ``parameter`` (0-10 scale), drawing from ``rng``."""
        side = check_image(image)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return self.render(image, parameter, **self.draw(rng, side, parameter))


def _corruption(name: str, module: Any) -> CbarCorruption:
    return CbarCorruption(name, getattr(module, f"draw_{name}"), getattr(module, f"render_{name}"))


blue_noise_sample = _corruption("blue_noise_sample", cbar_noise)
brownish_noise = _corruption("brownish_noise", cbar_noise)
perlin_noise = _corruption("perlin_noise", cbar_noise)
plasma_noise = _corruption("plasma_noise", cbar_noise)
cocentric_sine_waves = _corruption("cocentric_sine_waves", cbar_noise)
single_frequency_greyscale = _corruption("single_frequency_greyscale", cbar_noise)
checkerboard_cutout = _corruption("checkerboard_cutout", cbar_overlay)
lines = _corruption("lines", cbar_overlay)
sparkles = _corruption("sparkles", cbar_overlay)
inverse_sparkles = _corruption("inverse_sparkles", cbar_overlay)
pinch_and_twirl = _corruption("pinch_and_twirl", cbar_warp)
ripple = _corruption("ripple", cbar_warp)
caustic_refraction = _corruption("caustic_refraction", cbar_warp)
circular_motion_blur = _corruption("circular_motion_blur", cbar_warp)
transverse_chromatic_abberation = _corruption("transverse_chromatic_abberation", cbar_warp)

#: Every -C-bar corruption by name (the 15 of both sets).
CBAR_FUNCTIONS: dict[str, CbarCorruption] = {
    c.name: c
    for c in (
        blue_noise_sample, brownish_noise, perlin_noise, plasma_noise, cocentric_sine_waves,
        single_frequency_greyscale, checkerboard_cutout, lines, sparkles, inverse_sparkles,
        pinch_and_twirl, ripple, caustic_refraction, circular_motion_blur, transverse_chromatic_abberation,
    )
}

#: The -C-bar corruptions that draw no random numbers.
CBAR_DETERMINISTIC: frozenset[str] = frozenset({"circular_motion_blur"})


def cbar_parameter(name: str, severity: int, table: str = "cifar") -> float:
    """The parameter of corruption ``name`` at ``severity`` (1-5) in set ``table`` (``cifar`` / ``imagenet``)."""
    if table not in CBAR_PARAMETERS:
        raise ValueError(f"unknown -C-bar table {table!r}; choose from: {', '.join(CBAR_TABLES)}")
    names = CBAR_PARAMETERS[table]
    if name not in names:
        other = [t for t in CBAR_TABLES if name in CBAR_PARAMETERS[t]]
        where = f" (it belongs to the {other[0]} set)" if other else ""
        raise ValueError(f"{name!r} is not a corruption of the {table} -C-bar set{where}; choose from: {', '.join(names)}")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    return names[name][int(severity) - 1]


def corrupt_cbar(
    image: np.ndarray, name: str, severity: int, rng: np.random.Generator, table: str = "cifar"
) -> np.ndarray:
    """Corrupt one uint8 (S, S, 3) image with -C-bar corruption ``name`` at ``severity`` (1-5) of
    set ``table`` (``cifar``: CIFAR-10-C-bar; ``imagenet``: ImageNet-C-bar), drawing from ``rng``."""
    parameter = cbar_parameter(name, severity, table)
    return CBAR_FUNCTIONS[name](image, parameter, rng)
