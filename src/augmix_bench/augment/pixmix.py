"""PixMix (Hendrycks, Zou et al., CVPR 2022) on single PIL images, as the authors' code does it.

Reference: github.com/andyzoujm/pixmix at f867e873d5c7be53c5b92668bb9dd09a6db18280, ``cifar.py`` and
``imagenet.py`` (``pixmix``, ``augment_input``, the argparse defaults and the mixing-set transforms)
and ``pixmix_utils.py`` (the ops, ``get_ab``, ``add``, ``multiply``).

For every training image the reference draws, from one generator and in this order:

1. with probability 1/2 the start is one random op applied to the image, else the image itself;
2. a number of mixing rounds ``n ~ Uniform{0, ..., k}``;
3. per round: the partner (probability 1/2 one random op applied to the *original* image, else the
   mixing picture), the mixing (additive or multiplicative, 1/2 each) and its weights ``(a, b)``:
   with probability 1/2 ``a ~ Beta(beta, 1)``, ``b ~ Beta(1, beta)``, else
   ``a = 1 + Beta(1, beta)``, ``b = -Beta(1, beta)`` (two separate draws), each a float32;
   then ``mixed = clip(mixing(mixed, partner, a, b), 0, 1)``.

Each op is drawn as an AugMix chain step of length one (op uniformly, level
``Uniform(0.1, severity)``, sign): ``draw_chain`` with depth 1 makes exactly the reference's draws.
The result is normalized with the dataset's mean and std. Images are float32 tensors in [0, 1]
(``ToTensor``) while they are mixed, as in the reference.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import functional as tvf

from ..errors import UserError
from ..data.constants import CIFAR_MEAN, CIFAR_STD, IMAGENET_MEAN, IMAGENET_STD
from ..data.image_files import IMAGE_SUFFIXES, to_rgb
from .augmix import (
    ChainStep,
    RandomSource,
    apply_chain,
    check_chain_options,
    draw_chain,
)
from .ops import ALL_OPS, AUGMIX_OPS, OpSpec, get_op

#: The two mixings of the reference's ``pixmix_utils.mixings``, in its order (index drawn 0 or 1).
MIXINGS: tuple[str, ...] = ("add", "multiply")


@dataclass(frozen=True)
class PixMixSettings:
    """One dataset's PixMix settings as the reference trains with them.

    ``severity`` is the ops' ``--aug-severity``; ``beta`` and ``k`` are ``--beta`` and ``--k``;
    ``all_ops`` is ``--all-ops``; the mixing pictures are resized (shorter side) to
    ``mixing_resize`` and randomly cropped to ``image_size``; ``mean``/``std`` normalize the result.
    """

    image_size: int
    mixing_resize: int
    severity: int
    beta: int
    k: int
    all_ops: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


#: Re-typed from andyzoujm/pixmix@f867e87: cifar.py (argparse: --beta 3, --k 4, --aug-severity 3;
#: mixing set ``Resize(36)`` + ``RandomCrop(32)``; Normalize([0.5]*3, [0.5]*3)) and imagenet.py
#: (--beta 4, --k 4, --aug-severity 1; ``Resize(256)`` + ``RandomCrop(224)``; ImageNet statistics).
#: ``all_ops`` is off by argparse default in both scripts, but the README's "training recipes used in
#: our paper" pass ``--all-ops`` for CIFAR and for ImageNet, so the table has it on.
PIXMIX_SETTINGS: dict[str, PixMixSettings] = {
    "cifar": PixMixSettings(
        image_size=32, mixing_resize=36, severity=3, beta=3, k=4, all_ops=True, mean=CIFAR_MEAN, std=CIFAR_STD
    ),
    "imagenet": PixMixSettings(
        image_size=224, mixing_resize=256, severity=1, beta=4, k=4, all_ops=True, mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    ),
}


@dataclass(frozen=True)
class MixStep:
    """One mixing round: the partner (an op applied to the original image, or ``None`` for the
    mixing picture), the mixing (``"add"`` or ``"multiply"``) and its float32 weights ``a``, ``b``."""

    partner: ChainStep | None
    mixing: str
    a: float
    b: float


@dataclass(frozen=True)
class PixMixDraw:
    """Every random choice PixMix makes for one image: the start (an op, or ``None`` for the image
    itself) and the mixing rounds."""

    start: ChainStep | None
    rounds: tuple[MixStep, ...]


def _integer(rng: RandomSource, high: int) -> int:
    """``Uniform{0, ..., high - 1}``: ``integers`` of a Generator, ``randint`` of a RandomState (the
    reference's ``np.random.choice`` of a list and ``np.random.randint(n)`` draw as the latter)."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, high))
    return int(rng.randint(0, high))


def draw_weights(rng: RandomSource, beta: float) -> tuple[float, float]:
    """The reference's ``get_ab(beta)``: ``(a, b)`` as float32 values (returned as floats)."""
    if rng.random() < 0.5:
        a = np.float32(rng.beta(beta, 1))
        b = np.float32(rng.beta(1, beta))
    else:
        a = np.float32(1) + np.float32(rng.beta(1, beta))
        b = -np.float32(rng.beta(1, beta))
    return float(a), float(b)


def draw_pixmix(
    rng: RandomSource, k: int, beta: float, severity: float, specs: Sequence[OpSpec]
) -> PixMixDraw:
    """Draw every choice for one image in the reference's order (see the module docstring).

    ``rng`` is a ``numpy.random.Generator`` or a legacy ``RandomState``; seeded like the reference's
    global NumPy generator, the latter reproduces the reference's draws exactly.
    """
    start = draw_chain(rng, specs, 1, severity)[0] if rng.random() < 0.5 else None
    rounds = []
    for _ in range(_integer(rng, k + 1)):
        partner = draw_chain(rng, specs, 1, severity)[0] if rng.random() < 0.5 else None
        mixing = MIXINGS[_integer(rng, len(MIXINGS))]
        a, b = draw_weights(rng, beta)
        rounds.append(MixStep(partner, mixing, a, b))
    return PixMixDraw(start, tuple(rounds))


def to_unit_tensor(image: Image.Image) -> torch.Tensor:
    """torchvision's ``ToTensor`` for an RGB image: float32 (C, H, W), ``uint8 / 255``."""
    array = np.array(image, dtype=np.uint8, copy=True)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous().to(torch.float32).div(255)


def mix_add(img1: torch.Tensor, img2: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The reference's additive mixing on [0, 1] images: ``(a (2 x1 - 1) + b (2 x2 - 1) + 1) / 2``."""
    out = a * (img1 * 2 - 1) + b * (img2 * 2 - 1)
    return (out + 1) / 2


def mix_multiply(img1: torch.Tensor, img2: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The reference's multiplicative (geometric) mixing: ``(2 x1)^a (max(2 x2, 1e-37))^b / 2``."""
    out = (img1 * 2) ** a * (img2 * 2).clip(1e-37) ** b
    return out / 2


_MIX_FUNCTIONS = {"add": mix_add, "multiply": mix_multiply}


def normalize_unit(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """torchvision's ``Normalize`` of a [0, 1] float32 image: ``(x - mean) / std`` per channel."""
    mean_t = torch.as_tensor(tuple(mean), dtype=torch.float32).view(-1, 1, 1)
    std_t = torch.as_tensor(tuple(std), dtype=torch.float32).view(-1, 1, 1)
    return (image - mean_t) / std_t


def apply_pixmix(
    orig: Image.Image,
    mixing_pic: Image.Image,
    draw: PixMixDraw,
    mean: Sequence[float],
    std: Sequence[float],
    fill: int = 0,
) -> torch.Tensor:
    """The PixMix image for ``draw``: a normalized float32 tensor (C, H, W).

    ``orig`` and ``mixing_pic`` are RGB PIL images of the same size (the training image after its
    flip/crop, and a preprocessed mixing picture, e.g. from ``MixingSet``).
    """
    if orig.size != mixing_pic.size:
        raise ValueError(
            f"PixMix needs the image and the mixing picture of one size, got {orig.size} and {mixing_pic.size}"
        )
    start = orig if draw.start is None else apply_chain(orig, (draw.start,), fill)
    mixed = to_unit_tensor(start)
    for step in draw.rounds:
        partner = mixing_pic if step.partner is None else apply_chain(orig, (step.partner,), fill)
        mixed = _MIX_FUNCTIONS[step.mixing](mixed, to_unit_tensor(partner), step.a, step.b)
        mixed = torch.clip(mixed, 0, 1)
    return normalize_unit(mixed, mean, std)


def check_pixmix_options(k: int, beta: float) -> None:
    """Refuse a negative ``k`` or a non-positive ``beta`` (a ``UserError`` naming the accepted ones)."""
    if int(k) != k or k < 0:
        raise UserError(f"augmentation.k={k} is invalid; accepted: an integer >= 0 (the most mixing rounds)")
    if not beta > 0:
        raise UserError(f"augmentation.beta={beta} is invalid; accepted: a number > 0")


def _mixing_set_error(folder: str, problem: str) -> UserError:
    return UserError(
        f"augmentation.mixing_set={folder!r}: {problem}; accepted: a folder (searched recursively) of images "
        "Pillow can read, e.g. the PixMix authors' fractals and feature visualizations"
    )


def list_mixing_images(folder: str) -> tuple[str, ...]:
    """Every image file under ``folder`` (recursively, sorted); a ``UserError`` naming
    ``augmentation.mixing_set`` when the folder is empty, missing, not a folder or unreadable."""
    if not str(folder).strip():
        raise _mixing_set_error(str(folder), "empty path")
    root = Path(folder).expanduser()
    if not root.exists():
        raise _mixing_set_error(str(folder), "no such folder")
    if not root.is_dir():
        raise _mixing_set_error(str(folder), "not a folder")
    found: list[str] = []

    def refuse(error: OSError) -> None:
        raise _mixing_set_error(str(folder), f"cannot be read ({error.strerror or error})")

    for directory, subdirectories, files in os.walk(root, onerror=refuse, followlinks=True):
        subdirectories.sort()
        images = (name for name in sorted(files) if name.lower().endswith(IMAGE_SUFFIXES))
        found.extend(os.path.join(directory, name) for name in images)
    if not found:
        raise _mixing_set_error(str(folder), "holds no image files")
    return tuple(found)


def check_mixing_set(folder: str) -> None:
    """Refuse a mixing set that ``MixingSet`` could not use (``list_mixing_images``, and its first
    image must open), in one line naming ``augmentation.mixing_set``; reads nothing else."""
    first = list_mixing_images(folder)[0]
    try:
        with Image.open(first) as opened:
            opened.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise _mixing_set_error(str(folder), f"{first!r} cannot be read as an image ({error})") from None


class MixingSet:
    """The mixing pictures: every image under ``folder`` (recursively, any extension Pillow opens),
    preprocessed as the reference does: resized (shorter side) to ``resize``, randomly cropped to
    ``image_size`` x ``image_size``, RGB.

    Args:
        folder: the image folder (subfolders are searched; their names do not matter).
        image_size: the crop side: 32 on CIFAR, 224 on ImageNet.
        resize: the shorter side after resizing; default: the reference's for ``image_size`` (36 for
            32, 256 for 224); other image sizes must name it.

    A missing, empty or unreadable folder raises a ``UserError`` (a ``ValueError``) naming
    ``augmentation.mixing_set`` and the folder, in one line.
    """

    def __init__(self, folder: str | os.PathLike[str], image_size: int, resize: int | None = None) -> None:
        self.folder = str(folder)
        self.image_size = int(image_size)
        if resize is None:
            known = {s.image_size: s.mixing_resize for s in PIXMIX_SETTINGS.values()}
            if self.image_size not in known:
                raise UserError(
                    f"MixingSet image_size={image_size} has no reference resize; pass resize= "
                    f"(the reference uses {', '.join(f'{v} for {k}' for k, v in known.items())})"
                )
            resize = known[self.image_size]
        if resize < self.image_size:
            raise UserError(
                f"MixingSet resize={resize} is smaller than image_size={image_size}; accepted: >= image_size"
            )
        self.resize = int(resize)
        self.paths: tuple[str, ...] = list_mixing_images(self.folder)
        self.load(0, np.random.default_rng(0))  # fail now, not in a data-loader worker, if it cannot be read

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int, rng: np.random.Generator) -> Image.Image:
        """Picture ``index``, resized and randomly cropped (the crop offsets drawn from ``rng``)."""
        path = self.paths[index]
        try:
            with Image.open(path) as opened:
                image = to_rgb(opened)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise _mixing_set_error(self.folder, f"{path!r} cannot be read as an image ({error})") from None
        image = tvf.resize(image, self.resize)
        width, height = image.size
        top = int(rng.integers(0, height - self.image_size + 1))
        left = int(rng.integers(0, width - self.image_size + 1))
        return image.crop((left, top, left + self.image_size, top + self.image_size))

    def sample(self, rng: np.random.Generator) -> Image.Image:
        """A uniformly drawn picture, preprocessed (the reference's ``np.random.choice(len(set))``)."""
        return self.load(int(rng.integers(0, len(self.paths))), rng)


class PixMix:
    """PixMix: PIL image -> normalized float tensor (C, H, W), drawing from the passed generator.

    Args:
        mixing_set: the mixing pictures (``MixingSet``); one is drawn per call.
        k: the most mixing rounds (the number is uniform in 0..k).
        beta: the mixing weights' Beta parameter.
        severity: the ops' level bound (levels ``Uniform(0.1, severity)``).
        all_ops: also use color, contrast, brightness and sharpness (the reference recipes do).
        mean, std: normalization of the result.
        fill: value rotate/shear/translate move in (the reference: 0).

    ``PixMix.from_settings(mixing_set, PIXMIX_SETTINGS["cifar"])`` takes a settings row.
    """

    def __init__(
        self,
        mixing_set: MixingSet,
        k: int = 4,
        beta: float = 3,
        severity: float = 3,
        all_ops: bool = True,
        mean: Sequence[float] = CIFAR_MEAN,
        std: Sequence[float] = CIFAR_STD,
        fill: int = 0,
    ) -> None:
        check_chain_options(severity, 1, fill)
        check_pixmix_options(k, beta)
        self.mixing_set = mixing_set
        self.k = int(k)
        self.beta = float(beta)
        self.severity = float(severity)
        self.all_ops = bool(all_ops)
        self.ops: tuple[str, ...] = ALL_OPS if all_ops else AUGMIX_OPS
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.fill = int(fill)
        self._specs: tuple[OpSpec, ...] = tuple(get_op(name) for name in self.ops)

    @classmethod
    def from_settings(cls, mixing_set: MixingSet, settings: PixMixSettings, fill: int = 0) -> PixMix:
        """PixMix with a ``PIXMIX_SETTINGS`` row's k, beta, severity, ops and normalization."""
        s = settings
        return cls(mixing_set, s.k, s.beta, s.severity, s.all_ops, s.mean, s.std, fill)

    def draw(self, rng: RandomSource) -> PixMixDraw:
        """Every choice for one image (not the mixing picture), in the reference's order."""
        return draw_pixmix(rng, self.k, self.beta, self.severity, self._specs)

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> torch.Tensor:
        """One PixMix image of ``img``: a mixing picture is drawn, then the mixing choices."""
        if img.mode != "RGB":
            img = img.convert("RGB")
        picture = self.mixing_set.sample(rng)
        return apply_pixmix(img, picture, self.draw(rng), self.mean, self.std, self.fill)
