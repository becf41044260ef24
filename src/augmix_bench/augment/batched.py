"""AugMix on uint8 tensor batches (CPU or GPU), every image with its own random draws.

``BatchedAugMix`` draws, for every image of the batch and from a ``torch.Generator`` on the batch's
device, exactly what ``AugMix.draw`` draws for one image: Dirichlet chain weights, a Beta skip
weight, a depth per chain (1-3 when ``depth=-1``) and, per chain step, an op (uniform, with
replacement), a level ``Uniform(0.1, severity)`` and a sign. The chains then run step by step:
at each step the chain instances (all images' chains together) are grouped by the op they drew,
each op runs once on its group only (``tensor_ops``, pixel-identical to ``apply_op``) and the
results are scattered back; chains shorter than the step are left alone. Intermediate images keep
uint8 values (float32 "pixel tensors" rounded after every op as PIL rounds), and the mixing
repeats ``AugMix.mix``'s float32 arithmetic, so for the same draw the output equals the PIL path's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import UserError
from .augmix import (
    CIFAR_MEAN,
    CIFAR_STD,
    AugMix,
    AugMixDraw,
    ChainStep,
    normalize_pixels,
)
from .ops import get_op
from .tensor_ops import apply_tensor_op, count_values
from .tensor_random import sample_beta, sample_dirichlet

Tensor = torch.Tensor

#: Chain depth drawn when ``depth=-1``: uniform over 1..MAX_RANDOM_DEPTH, as the reference.
MAX_RANDOM_DEPTH = 3


@dataclass(frozen=True)
class BatchedDraw:
    """Every random choice ``BatchedAugMix`` makes for a batch, one row per image.

    ``ops`` index ``op_names``; steps beyond a chain's depth hold -1. ``levels`` and ``negate``
    are drawn for every step; ops without a level or a sign ignore them.
    """

    op_names: tuple[str, ...]
    weights: Tensor  # (B, width) float32, Dirichlet(alpha)
    skip: Tensor  # (B,) float32, Beta(alpha, alpha)
    ops: Tensor  # (B, width, max_depth) int64
    levels: Tensor  # (B, width, max_depth) float64, Uniform(0.1, severity)
    negate: Tensor  # (B, width, max_depth) bool

    @property
    def depths(self) -> Tensor:
        """Depth of every chain (B, width)."""
        return (self.ops >= 0).sum(dim=2)

    def image_draw(self, index: int) -> AugMixDraw:
        """Image ``index``'s draw in ``AugMix``'s form (for ``AugMix.mix``)."""
        chains = []
        for chain_ops, chain_levels, chain_negate in zip(
            self.ops[index].tolist(), self.levels[index].tolist(), self.negate[index].tolist(), strict=True
        ):
            steps = []
            for op, level, negate in zip(chain_ops, chain_levels, chain_negate, strict=True):
                if op < 0:
                    break
                spec = get_op(self.op_names[op])
                steps.append(
                    ChainStep(spec.name, level if spec.uses_level else None, negate and spec.signed)
                )
            chains.append(tuple(steps))
        return AugMixDraw(
            weights=self.weights[index].cpu().numpy(),
            skip=float(self.skip[index]),
            chains=tuple(chains),
        )


class BatchedAugMix:
    """AugmentAndMix on a batch: uint8 tensor (B, 3, H, W) -> normalized float32 (B, 3, H, W).

    Takes ``AugMix``'s arguments (see there) and the same distribution of draws, but draws them
    per image from a ``torch.Generator`` on the batch's device and runs the ops on tensors.
    ``seed`` seeds the generator used on each device when a call passes none (fresh entropy when
    None). The CPU and CUDA generators give different streams for the same seed.
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
        # The per-image AugMix with the same settings: it validates them and defines the draws.
        self.reference = AugMix(severity, width, depth, alpha, all_ops, mean, std, fill)
        self.severity = self.reference.severity
        self.width = self.reference.width
        self.depth = self.reference.depth
        self.alpha = self.reference.alpha
        self.ops = self.reference.ops
        self.mean = self.reference.mean
        self.std = self.reference.std
        self.fill = self.reference.fill
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    @property
    def max_depth(self) -> int:
        """The longest chain that can be drawn."""
        return self.depth if self.depth > 0 else MAX_RANDOM_DEPTH

    def generator(self, device: torch.device | str) -> torch.Generator:
        """This instance's generator on ``device`` (created, and seeded, on first use)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if device not in self._generators:
            generator = torch.Generator(device=device)
            if self.seed is None:
                generator.seed()
            else:
                generator.manual_seed(int(self.seed))
            self._generators[device] = generator
        return self._generators[device]

    def draw(self, batch: int, generator: torch.Generator) -> BatchedDraw:
        """Draw every random choice for ``batch`` images on ``generator``'s device."""
        device = generator.device
        shape = (batch, self.width, self.max_depth)
        weights = sample_dirichlet(batch, self.width, self.alpha, generator).to(torch.float32)
        skip = sample_beta(batch, self.alpha, generator).to(torch.float32)
        if self.depth > 0:
            depths = torch.full((batch, self.width), self.depth, device=device)
        else:
            depths = torch.randint(
                1, MAX_RANDOM_DEPTH + 1, (batch, self.width), device=device, generator=generator
            )
        ops = torch.randint(0, len(self.ops), shape, device=device, generator=generator)
        steps = torch.arange(self.max_depth, device=device)
        ops = torch.where(steps < depths[..., None], ops, -1)
        uniform = torch.rand(shape, dtype=torch.float64, device=device, generator=generator)
        levels = 0.1 + uniform * (self.severity - 0.1)
        negate = torch.rand(shape, dtype=torch.float64, device=device, generator=generator) > 0.5
        return BatchedDraw(self.ops, weights, skip, ops, levels, negate)

    def chains(self, images: Tensor, draw: BatchedDraw) -> Tensor:
        """Every image's augmented chains as a pixel tensor (float32 whole numbers 0-255).

        ``images`` is uint8 or a pixel tensor (B, 3, H, W); the result is (width, B, 3, H, W).
        The chain instances (one per image and chain) run together, step by step: at each step
        the instances that drew op k are gathered, op k runs on them only, and the results are
        put back; instances whose chain is shorter than the step are left alone.
        """
        batch = images.shape[0]
        pixels = images.to(torch.float32)
        # Instance k is chain k // batch of image k % batch (chain-major, so chains are blocks).
        ops = draw.ops.transpose(0, 1).reshape(self.width * batch, -1)
        levels = draw.levels.transpose(0, 1).reshape(self.width * batch, -1)
        negate = draw.negate.transpose(0, 1).reshape(self.width * batch, -1)
        chained = pixels.new_empty((self.width * batch, *pixels.shape[1:]))
        # How many instances drew each op (or none) at each step: one table, read back once.
        groups = len(self.ops) + 1
        cells = ops + 1 + torch.arange(0, ops.shape[1] * groups, groups, device=ops.device)
        table = count_values(cells.flatten(), ops.shape[1] * groups).view(-1, groups).tolist()
        for step, sizes in enumerate(table):
            order = torch.argsort(ops[:, step], stable=True)
            for name, members in zip(self.ops, torch.split(order, sizes)[1:], strict=True):
                if members.numel() == 0:
                    continue
                if step == 0:  # every chain has a first op: read it straight from its image
                    inputs = pixels.index_select(0, members % batch)
                else:
                    inputs = chained.index_select(0, members)
                updated = apply_tensor_op(
                    inputs,
                    name,
                    levels[:, step].index_select(0, members),
                    negate[:, step].index_select(0, members),
                    self.fill,
                )
                chained.index_copy_(0, members, updated)
        return chained.view(self.width, batch, *images.shape[1:])

    def mix(self, images: Tensor, draw: BatchedDraw) -> Tensor:
        """The mixed images for ``draw``: float32 (B, 3, H, W) on the 0-255 scale, not normalized."""
        pixels = images.to(torch.float32)
        chained = self.chains(pixels, draw)
        weights = draw.weights.view(-1, self.width, 1, 1, 1)
        mix = weights[:, 0] * chained[0]  # AugMix.mix adds this to zeros: the same value
        for chain in range(1, self.width):
            mix += weights[:, chain] * chained[chain]
        keep = (1.0 - draw.skip.to(torch.float64)).to(torch.float32).view(-1, 1, 1, 1)
        return (keep * pixels).add_(mix.mul_(draw.skip.view(-1, 1, 1, 1)))

    def normalize(self, images: Tensor) -> Tensor:
        """0-255 scale (uint8 or float) -> normalized float32, as ``to_normalized_tensor``."""
        return normalize_pixels(images, self.mean, self.std)

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One AugMix view of every image: normalized float32 (B, 3, H, W) on the images' device."""
        check_image_batch(images)
        if generator is None:
            generator = self.generator(images.device)
        return self.normalize(self.mix(images, self.draw(images.shape[0], generator)))


def check_image_batch(images: Tensor) -> None:
    """A ``UserError`` unless ``images`` is a uint8 tensor (B, 3, S, S)."""
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        kind = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise UserError(f"BatchedAugMix takes a uint8 tensor batch, got {kind}; accepted: torch.uint8")
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3]:
        raise UserError(
            f"BatchedAugMix takes square RGB batches, got shape {tuple(images.shape)}; accepted: (B, 3, S, S)"
        )

