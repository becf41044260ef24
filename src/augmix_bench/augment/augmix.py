"""AugmentAndMix on single PIL images, as the reference implementation does it.

``AugMix`` draws, for every image, Dirichlet chain weights, a Beta skip weight, a depth per chain
(1-3 when ``depth=-1``) and, for every chain step, an op (uniform, with replacement), a level
``u ~ Uniform(0.1, severity)`` and a sign; then mixes the chains in float space:

    mixed = (1 - m) * normalize(x) + m * sum_i w_i * normalize(chain_i(x))

Because the weights are convex and ``normalize`` is affine, the mixture is computed on the 0-255
scale and normalized once; the result equals the reference's order of operations to float rounding.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import get_worker_info

from ..data.constants import CIFAR_MEAN, CIFAR_STD
from ..schema import check
from .ops import ALL_OPS, AUGMIX_OPS, OpSpec, apply_op, get_op

#: A modern NumPy generator, or a legacy ``RandomState`` (to replay the reference's global stream).
RandomSource = np.random.Generator | np.random.RandomState



def to_normalized_tensor(
    image: Image.Image | np.ndarray, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """HWC image on the 0-255 scale (PIL or array) -> normalized float32 tensor (C, H, W)."""
    array = np.asarray(image, dtype=np.float32)
    mean_255 = np.asarray(mean, dtype=np.float32) * 255.0
    std_255 = np.asarray(std, dtype=np.float32) * 255.0
    normalized = (array - mean_255) / std_255
    return torch.from_numpy(np.ascontiguousarray(normalized.transpose(2, 0, 1)))


@functools.lru_cache(maxsize=32)
def _scaled_statistics(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``255 mean`` and ``255 std`` as float32 (1, C, 1, 1) on ``device``, made once per device."""
    mean_255 = torch.tensor(mean, dtype=torch.float32, device=device) * 255.0
    std_255 = torch.tensor(std, dtype=torch.float32, device=device) * 255.0
    return mean_255.view(1, -1, 1, 1), std_255.view(1, -1, 1, 1)


def normalize_pixels(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(B, C, H, W) on the 0-255 scale -> normalized float32, with ``to_normalized_tensor``'s
    arithmetic: ``(x - 255 mean) / (255 std)`` in single precision."""
    mean_255, std_255 = _scaled_statistics(
        tuple(float(m) for m in mean), tuple(float(s) for s in std), images.device
    )
    return (images.to(torch.float32) - mean_255).div_(std_255)


class Normalize:
    """Picklable preprocess: PIL image -> normalized float tensor (ToTensor + Normalize)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, image: Image.Image | np.ndarray) -> torch.Tensor:
        return to_normalized_tensor(image, self.mean, self.std)


@dataclass(frozen=True)
class ChainStep:
    """One drawn op of a chain: its name, level ``u`` (None if unused) and sign."""

    op: str
    level: float | None
    negate: bool


@dataclass(frozen=True)
class AugMixDraw:
    """Every random choice AugMix makes for one image."""

    weights: np.ndarray  # (width,) float32, Dirichlet(alpha)
    skip: float  # m ~ Beta(alpha, alpha), float32 precision
    chains: tuple[tuple[ChainStep, ...], ...]


def check_chain_options(severity: float, depth: int, fill: int) -> None:
    """Refuse op-chain settings outside their ranges (the schema's rules, a ``UserError``)."""
    check("augmentation.severity", severity)
    check("augmentation.depth", depth)
    check("augmentation.fill", fill)


def draw_chain(
    rng: RandomSource, specs: Sequence[OpSpec], depth: int, severity: float
) -> tuple[ChainStep, ...]:
    """Draw one op chain in the reference's order: its length (1-3 when ``depth`` is -1), then
    per op its index, level ``Uniform(0.1, severity)`` (ops that use one) and sign (signed ops)."""
    integers = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    length = depth if depth > 0 else int(integers(1, 4))
    steps = []
    for _ in range(length):
        spec = specs[int(integers(0, len(specs)))]
        level = float(rng.uniform(0.1, severity)) if spec.uses_level else None
        negate = bool(rng.uniform() > 0.5) if spec.signed else False
        steps.append(ChainStep(spec.name, level, negate))
    return tuple(steps)


def apply_chain(img: Image.Image, chain: Sequence[ChainStep], fill: int = 0) -> Image.Image:
    """``img`` through every op of ``chain`` in turn."""
    for step in chain:
        img = apply_op(img, step.op, step.level or 0.0, step.negate, fill)
    return img


class AugMix:
    """AugmentAndMix: PIL image -> normalized float tensor (C, H, W).

    Args:
        severity: upper bound of the drawn op level (1-10; 3 on CIFAR, 1 on ImageNet).
        width: number of chains mixed.
        depth: ops per chain; -1 draws 1, 2 or 3 per chain.
        alpha: Dirichlet and Beta concentration.
        all_ops: also use color, contrast, brightness and sharpness, which overlap the
            test corruptions.
        mean, std: normalization (CIFAR: 0.5 each; ImageNet: torchvision's statistics).
        fill: value moved in by rotate/shear/translate (reference 0; released ImageNet model 128).
        seed: seed of the generator used when a call passes no ``rng`` (see ``rng``).

    Training datasets pass a per-sample generator to every call (``AugMixViews``); used as a plain
    transform, the instance draws from its own per-process stream.
    """

    def __init__(
        self,
        severity: float = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        all_ops: bool = False,
        mean: Sequence[float] = CIFAR_MEAN,
        std: Sequence[float] = CIFAR_STD,
        fill: int = 0,
        seed: int | None = None,
    ) -> None:
        check_chain_options(severity, depth, fill)
        check("augmentation.width", width)
        check("augmentation.alpha", alpha)
        self.severity = float(severity)
        self.width = int(width)
        self.depth = int(depth)
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.ops: tuple[str, ...] = ALL_OPS if all_ops else AUGMIX_OPS
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.fill = int(fill)
        self.seed = seed
        self._specs: tuple[OpSpec, ...] = tuple(get_op(name) for name in self.ops)
        self._stream = np.random.default_rng(seed)
        self._stream_owner: int | None = None

    @property
    def rng(self) -> np.random.Generator:
        """The generator used when a call passes none: one stream per process.

        In the main process it is seeded with ``seed``; in a data-loader worker it is re-seeded
        from ``seed`` and the worker's torch seed (different for every worker and epoch), so
        workers never repeat each other's augmentations.
        """
        worker = get_worker_info()
        owner = None if worker is None else worker.seed
        if owner is not None and owner != self._stream_owner:
            entropy = [owner] if self.seed is None else [self.seed, owner]
            self._stream = np.random.default_rng(entropy)
            self._stream_owner = owner
        return self._stream

    def draw(self, rng: RandomSource | None = None) -> AugMixDraw:
        """Draw every random choice for one image, in the reference's order.

        ``rng`` is a ``numpy.random.Generator``, or a legacy ``numpy.random.RandomState``: seeded
        like the reference's global NumPy generator, the latter reproduces the reference code's
        draws exactly.
        """
        rng = self.rng if rng is None else rng
        weights = np.float32(rng.dirichlet([self.alpha] * self.width))
        skip = float(np.float32(rng.beta(self.alpha, self.alpha)))
        chains = tuple(draw_chain(rng, self._specs, self.depth, self.severity) for _ in range(self.width))
        return AugMixDraw(weights=weights, skip=skip, chains=chains)

    def mix(self, img: Image.Image, draw: AugMixDraw) -> np.ndarray:
        """The mixed image for ``draw``, as float32 HWC on the 0-255 scale (not normalized)."""
        mix = np.zeros((img.size[1], img.size[0], 3), dtype=np.float32)
        for weight, chain in zip(draw.weights, draw.chains, strict=True):
            mix += weight * np.asarray(apply_chain(img, chain, self.fill), dtype=np.float32)
        clean = np.asarray(img, dtype=np.float32)
        return np.float32(1.0 - draw.skip) * clean + np.float32(draw.skip) * mix

    def __call__(self, img: Image.Image, rng: RandomSource | None = None) -> torch.Tensor:
        """One AugMix view of ``img``: a normalized float tensor (C, H, W)."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        return to_normalized_tensor(self.mix(img, self.draw(rng)), self.mean, self.std)
