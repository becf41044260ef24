"""Per-image augmentations beyond AugMix: any outside transform, and the paper's "Random AA".

Training datasets hand every sample its own ``numpy.random.Generator`` (``views.sample_rng``).
Outside transforms (torchvision's ``TrivialAugmentWide``, ``RandAugment``, a user's class) draw
from torch's and Python's global generators instead; ``SeededTransform`` seeds both from the
sample's generator for the duration of one call and restores them afterwards, so a sample stays
a function of (seed, epoch, index), whatever the number of workers, and the training process's
own random streams are untouched.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from .augmix import (
    RandomSource,
    apply_chain,
    check_chain_options,
    draw_chain,
    to_normalized_tensor,
)
from .ops import ALL_OPS, AUGMIX_OPS, get_op
from ..errors import UserError


def transform_name(transform: Callable[..., Any]) -> str:
    """A transform's dotted class (or function) name, for messages."""
    kind = transform if inspect.isroutine(transform) or isinstance(transform, type) else type(transform)
    return f"{getattr(kind, '__module__', None) or '?'}.{getattr(kind, '__qualname__', repr(kind))}"


def to_pil(image: Any, transform: Callable[..., Any]) -> Image.Image:
    """What ``transform`` returned, as an RGB PIL image (PIL images pass; uint8 CHW tensors are
    converted); a ``UserError`` naming the transform and what it returned otherwise."""
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, torch.Tensor) and image.dtype == torch.uint8 and image.ndim == 3:
        return Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())
    returned = (
        f"a {str(image.dtype).removeprefix('torch.')} tensor of shape {tuple(image.shape)}"
        if isinstance(image, torch.Tensor)
        else f"a {type(image).__name__}"
    )
    raise UserError(
        f"augmentation.transform {transform_name(transform)} returned {returned}; accepted: a transform that "
        "returns a PIL image or a uint8 tensor (C, H, W) (leave out ToTensor/Normalize: the tool normalizes)"
    )


class SeededTransform:
    """``transform(img)`` run with torch's and Python's generators seeded from the sample's ``rng``.

    Args:
        transform: a callable on a PIL image returning a PIL image (or a uint8 tensor (C, H, W)).
    """

    def __init__(self, transform: Callable[[Image.Image], Any]) -> None:
        if not callable(transform):
            raise TypeError(f"augmentation.transform must be callable, got {type(transform).__name__}")
        self.transform = transform

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """The transformed image, drawn from ``rng`` alone."""
        seed = int(rng.integers(2**63))
        python_state = random.getstate()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            random.seed(seed)
            try:
                return to_pil(self.transform(img), self.transform)
            finally:
                random.setstate(python_state)


class RandomChain:
    """One random chain of AugMix ops applied to the image, without mixing (the paper's "Random AA").

    The chain is drawn as one AugMix chain: 1-3 ops (``depth=-1``) from the AugMix op set, each at
    a level drawn from ``Uniform(0.1, severity)``; the chained image is the result (no Dirichlet
    mix, no skip connection). This is our reading of the ablation row, not the reference's code.
    """

    def __init__(self, severity: float = 3, depth: int = -1, all_ops: bool = False, fill: int = 0) -> None:
        check_chain_options(severity, depth, fill)
        self.severity = float(severity)
        self.depth = int(depth)
        self.fill = int(fill)
        self._specs = tuple(get_op(name) for name in (ALL_OPS if all_ops else AUGMIX_OPS))

    def __call__(self, img: Image.Image, rng: RandomSource) -> Image.Image:
        """``img`` through one freshly drawn chain."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        return apply_chain(img, draw_chain(rng, self._specs, self.depth, self.severity), self.fill)


class TransformView:
    """A view maker: ``transform(img, rng)`` then normalization -> float tensor (C, H, W)."""

    def __init__(
        self,
        transform: Callable[[Image.Image, np.random.Generator], Image.Image],
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        self.transform = transform
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> torch.Tensor:
        """One normalized transformed view of ``img``."""
        return to_normalized_tensor(self.transform(img, rng), self.mean, self.std)
