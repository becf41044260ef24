"""PRIME (Modas et al., ECCV 2022): random chains of max-entropy primitives, mixed AugMix-style.

Reference code: github.com/amodas/PRIME-augmentations, commit
0290f6be3771215bac78693b3a27d3e2da341a55 (``GeneralizedPRIMEModule`` and ``PRIMEAugModule`` in
utils/prime.py; the parameter sets in config/*_cfg.py; the wiring in train.py:137-170). For every
image, ``mixture_width`` chains each apply ``depth ~ U{1..max_depth}`` steps; each step applies one
primitive drawn uniformly from diffeo, color and filter (``prime_primitives``); then

    out = (1 - m) x + m sum_i w_i chain_i(x),   w ~ Dirichlet(1, ..., 1),  m ~ Beta(1, 1).

Inputs and outputs are float batches (B, C, S, S) in [0, 1], not normalized: the reference
normalizes the clean image and every chain before mixing; normalization is affine and the weights
are convex, so normalizing the output afterwards gives the same values (to float rounding).
With ``jsd`` the call returns (clean, aug1, aug2), the two augmented views drawn independently, as
the reference's ``no_jsd=False`` path (utils/prime.py:46-51).

Every image (and chain) draws its own primitive parameters from the caller's ``torch.Generator``;
the reference draws the per-call ones (the whole diffeo, colour cut/T, filter sigma) once per
batch and step: ``shared_draws=True`` does that instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .prime_primitives import (
    ColorDraw,
    ColorParameters,
    DiffeoDraw,
    DiffeoParameters,
    FilterDraw,
    FilterParameters,
    diffeo,
    draw_color,
    draw_diffeo,
    draw_filter,
    random_filter,
    smooth_color,
)
from .tensor_random import sample_beta, sample_dirichlet

Tensor = torch.Tensor
PrimitiveDraw = DiffeoDraw | ColorDraw | FilterDraw

#: The primitives in the reference's order (train.py:139-162): chains index them by position.
PRIMITIVES: tuple[str, ...] = ("diffeo", "color", "filter")

#: Each primitive as a function of (images, its draw).
APPLY: dict[str, Callable[[Tensor, Any], Tensor]] = {
    "diffeo": diffeo,
    "color": smooth_color,
    "filter": random_filter,
}


@dataclass(frozen=True)
class PrimeParameters:
    """The three primitives' parameters: one entry of ``PRIME_PARAMETERS``."""

    diffeo: DiffeoParameters
    color: ColorParameters
    filter: FilterParameters


#: The reference's parameter sets, re-typed from PRIME-augmentations @ 0290f6b.
PRIME_PARAMETERS: dict[str, PrimeParameters] = {
    # config/cifar10_cfg.py:49-62 (config/cifar100_cfg.py:49-62 holds the same values):
    # diffeo sT=1 rT=1 scut=1 rcut=1 cutmin=2 cutmax=100 alpha=1; color_jit cut=100 T=0.01
    # max_freqs=None; rand_filter kernel_size=3 sigma=4.
    "cifar": PrimeParameters(
        diffeo=DiffeoParameters(1.0, 1.0, 1.0, 1.0, cut_min=2, cut_max=100, alpha=1.0),
        color=ColorParameters(cut=100, temperature=0.01, freq_bandwidth=None),
        filter=FilterParameters(kernel_size=3, sigma=4.0),
    ),
    # config/imagenet_cfg.py:51-64 (config/imagenet100_cfg.py:49-62 holds the same values):
    # diffeo sT=1 rT=1 scut=1 rcut=1 cutmin=2 cutmax=500 alpha=1; color_jit cut=500 T=0.05
    # max_freqs=20; rand_filter kernel_size=3 sigma=4.
    "imagenet": PrimeParameters(
        diffeo=DiffeoParameters(1.0, 1.0, 1.0, 1.0, cut_min=2, cut_max=500, alpha=1.0),
        color=ColorParameters(cut=500, temperature=0.05, freq_bandwidth=20),
        filter=FilterParameters(kernel_size=3, sigma=4.0),
    ),
}

#: Whether the reference trains with the JSD views: config/cifar10_cfg.py:71 and
#: config/cifar100_cfg.py:71 (no_jsd=False), config/imagenet_cfg.py:74 (no_jsd=True).
REFERENCE_JSD: dict[str, bool] = {"cifar": True, "imagenet": False}


@dataclass(frozen=True)
class StepDraw:
    """One chain step: for every primitive, the chain instances that apply it (int64 indices)
    and their draws. Instances whose chain is shorter than the step are in no list."""

    members: tuple[Tensor, ...]
    draws: tuple[PrimitiveDraw, ...]


@dataclass(frozen=True)
class PrimeDraw:
    """Every random choice of one PRIME view of a batch of B images.

    Chain instance k is chain ``k // B`` of image ``k % B`` (the reference's '(m b)' order).
    ``ops`` holds the primitive drawn at every step, also past a chain's depth (as the reference
    draws them); only steps below ``depths`` are applied.
    """

    primitives: tuple[str, ...]
    weights: Tensor  # (B, width) float32, Dirichlet(1)
    skip: Tensor  # (B,) float32, Beta(1, 1)
    depths: Tensor  # (width * B,) int64, U{1..max_depth}
    ops: Tensor  # (width * B, steps) int64, U{0..len(primitives) - 1}
    steps: tuple[StepDraw, ...]


class PRIME:
    """PRIME augmentation of float batches (B, C, S, S) in [0, 1], on the batch's device.

    ``parameters``: a ``PrimeParameters`` or a key of ``PRIME_PARAMETERS`` ("cifar", "imagenet").
    ``mixture_width``: chains per image. ``max_depth``: chains have U{1..max_depth} steps.
    ``mixture_depth``: -1 for that random depth; k in 1..max_depth runs only k steps, so a chain
    has min(U{1..max_depth}, k) steps (the reference's behaviour, utils/prime.py:42, 68-78).
    ``jsd``: return (clean, aug1, aug2) instead of one augmented batch. ``primitives``: the enabled
    families (the reference's ``enable_aug``). ``shared_draws``: draw each primitive's parameters
    once per step for the whole batch, as the reference does, instead of per image.
    """

    def __init__(
        self,
        parameters: PrimeParameters | str = "cifar",
        mixture_width: int = 3,
        mixture_depth: int = -1,
        max_depth: int = 3,
        jsd: bool = True,
        primitives: Sequence[str] = PRIMITIVES,
        shared_draws: bool = False,
    ) -> None:
        if isinstance(parameters, str):
            if parameters not in PRIME_PARAMETERS:
                raise ValueError(
                    f"unknown PRIME parameter set {parameters!r}; accepted: {sorted(PRIME_PARAMETERS)}"
                )
            parameters = PRIME_PARAMETERS[parameters]
        if not isinstance(parameters, PrimeParameters):
            raise TypeError(
                f"parameters must be a PrimeParameters or a name, got {type(parameters).__name__}"
            )
        if not (isinstance(mixture_width, int) and mixture_width >= 1):
            raise ValueError(f"mixture_width must be an integer >= 1, got {mixture_width!r}")
        if not (isinstance(max_depth, int) and max_depth >= 1):
            raise ValueError(f"max_depth must be an integer >= 1, got {max_depth!r}")
        if not (isinstance(mixture_depth, int) and (mixture_depth == -1 or 1 <= mixture_depth <= max_depth)):
            raise ValueError(
                f"mixture_depth must be -1 (random depth) or an integer in 1..max_depth ({max_depth}), "
                f"got {mixture_depth!r}"
            )
        primitives = tuple(primitives)
        if not primitives or len(set(primitives)) != len(primitives) or not set(primitives) <= set(PRIMITIVES):
            raise ValueError(
                f"primitives must be distinct names from {PRIMITIVES} (at least one), got {primitives}"
            )
        self.parameters = parameters
        self.mixture_width = mixture_width
        self.mixture_depth = mixture_depth
        self.max_depth = max_depth
        self.jsd = bool(jsd)
        self.primitives = primitives
        self.shared_draws = bool(shared_draws)

    @property
    def steps(self) -> int:
        """How many chain steps run (utils/prime.py:42)."""
        return self.mixture_depth if self.mixture_depth > 0 else self.max_depth

    # -- draws ------------------------------------------------------------------------------------

    def draw_mixing(self, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Mixing weights (B, width), skip weights (B,), depths (width B,) and ops (width B, steps).

        utils/prime.py:55-59 (Dirichlet(1), Beta(1, 1)), 43 and 68-69 (a row of the lower
        triangular max_depth² ones matrix, uniform: depth U{1..max_depth}), 75 (ops, uniform).
        """
        device = generator.device
        instances = self.mixture_width * batch
        weights = sample_dirichlet(batch, self.mixture_width, 1.0, generator).to(torch.float32)
        skip = sample_beta(batch, 1.0, generator).to(torch.float32)
        depths = torch.randint(1, self.max_depth + 1, (instances,), device=device, generator=generator)
        ops = torch.randint(
            0, len(self.primitives), (instances, self.steps), device=device, generator=generator
        )
        return weights, skip, depths, ops

    def draw_step(
        self, step: int, depths: Tensor, ops: Tensor, channels: int, size: int, generator: torch.Generator
    ) -> StepDraw:
        """Step ``step``'s primitive draws for the instances that apply one there."""
        active = depths > step
        members = []
        draws: list[PrimitiveDraw] = []
        for index, name in enumerate(self.primitives):
            chosen = torch.nonzero(active & (ops[:, step] == index)).flatten()
            count = int(chosen.numel())
            if name == "diffeo":
                draw: PrimitiveDraw = draw_diffeo(
                    count, size, self.parameters.diffeo, generator, self.shared_draws
                )
            elif name == "color":
                draw = draw_color(count, channels, self.parameters.color, generator, self.shared_draws)
            else:
                draw = draw_filter(count, self.parameters.filter, generator, self.shared_draws)
            members.append(chosen)
            draws.append(draw)
        return StepDraw(tuple(members), tuple(draws))

    def draw(self, shape: Sequence[int], generator: torch.Generator) -> PrimeDraw:
        """Every random choice of one view of a batch of ``shape`` (B, C, S, S)."""
        batch, channels, size, _ = shape
        weights, skip, depths, ops = self.draw_mixing(batch, generator)
        steps = tuple(
            self.draw_step(step, depths, ops, channels, size, generator) for step in range(self.steps)
        )
        return PrimeDraw(self.primitives, weights, skip, depths, ops, steps)

    # -- application ------------------------------------------------------------------------------

    def apply_step(self, chains: Tensor, step: StepDraw) -> Tensor:
        """Run one step on the chain instances (width B, C, S, S), in place."""
        for name, members, draw in zip(self.primitives, step.members, step.draws, strict=True):
            if members.numel() == 0:
                continue
            outputs = APPLY[name](chains.index_select(0, members), draw)
            chains.index_copy_(0, members, outputs)
        return chains

    def mix(self, images: Tensor, chains: Tensor, weights: Tensor, skip: Tensor) -> Tensor:
        """(1 - m) x + m sum_i w_i chain_i (utils/prime.py:80-83), float32."""
        batch = images.shape[0]
        chains = chains.view(self.mixture_width, batch, *images.shape[1:])
        mixed = torch.einsum("bm,mbchw->bchw", weights, chains)
        m = skip.view(-1, 1, 1, 1)
        return (1.0 - m) * images + m * mixed

    def apply(self, images: Tensor, draw: PrimeDraw) -> Tensor:
        """One PRIME view of ``images`` for the given draw (same dtype and device)."""
        check_batch(images)
        work = images.to(torch.float32)
        chains = work.repeat(self.mixture_width, 1, 1, 1)
        for step in draw.steps:
            self.apply_step(chains, step)
        return self.mix(work, chains, draw.weights, draw.skip).to(images.dtype)

    def augment(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """One PRIME view of ``images``: equals ``apply(images, draw(images.shape, generator))``
        but draws each step just before running it (one step's draws in memory at a time)."""
        check_batch(images)
        check_generator(generator, images)
        batch, channels, size, _ = images.shape
        weights, skip, depths, ops = self.draw_mixing(batch, generator)
        work = images.to(torch.float32)
        chains = work.repeat(self.mixture_width, 1, 1, 1)
        for step in range(self.steps):
            self.apply_step(chains, self.draw_step(step, depths, ops, channels, size, generator))
        return self.mix(work, chains, weights, skip).to(images.dtype)

    @torch.no_grad()
    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor | tuple[Tensor, Tensor, Tensor]:
        """The augmented batch, or (clean, aug1, aug2) with ``jsd``; draws come from ``generator``,
        which must live on the images' device."""
        if not self.jsd:
            return self.augment(images, generator)
        first = self.augment(images, generator)
        return images, first, self.augment(images, generator)

    def __repr__(self) -> str:
        return (
            f"PRIME(width={self.mixture_width}, depth={self.mixture_depth}, max_depth={self.max_depth}, "
            f"jsd={self.jsd}, primitives={self.primitives}, shared_draws={self.shared_draws})"
        )


def check_batch(images: object) -> None:
    """A ``TypeError``/``ValueError`` unless ``images`` is a float tensor (B, C, S, S)."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        kind = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise TypeError(f"PRIME takes a float tensor batch in [0, 1], got {kind}")
    if images.dim() != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(
            f"PRIME takes square batches (B, C, S, S) (the diffeo needs S x S), got shape {tuple(images.shape)}"
        )


def check_generator(generator: object, images: Tensor) -> None:
    """A ``TypeError``/``ValueError`` unless ``generator`` is a torch.Generator on the images' device."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"PRIME needs a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != images.device.type:
        raise ValueError(
            f"the generator is on {generator.device} but the images are on {images.device}; "
            f"pass torch.Generator(device={str(images.device)!r})"
        )
