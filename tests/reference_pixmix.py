"""An independent transcription of the reference PixMix for the tests.

From andyzoujm/pixmix@f867e873d5c7be53c5b92668bb9dd09a6db18280 (cifar.py / imagenet.py ``pixmix`` and
``augment_input``, pixmix_utils.py ``get_ab``, ``add``, ``multiply``), written without the package's
code: the random calls are made on a legacy ``RandomState`` exactly where the reference calls the
global NumPy generator (``random``, ``randint``, ``choice``, ``beta``; the ops draw their own level
and sign through ``reference_augmix.reference_sampling_op``), and the mixings are computed on
channel-last float32 NumPy arrays instead of torch tensors (only ``pow`` is torch's, to round as the
reference rounds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from reference_augmix import DEFAULT_OPS, EXTRA_OPS, reference_sampling_op

F32 = np.float32


def unit_array(img: Image.Image) -> np.ndarray:
    """ToTensor, channel-last: uint8 / 255 in float32, shape (H, W, 3)."""
    return np.asarray(img, dtype=np.uint8).astype(F32) / F32(255)


def reference_add(x1: np.ndarray, x2: np.ndarray, a: np.float32, b: np.float32) -> np.ndarray:
    """pixmix_utils.add with its weights given: images to [-1, 1], weighted sum, back to [0, 1]."""
    s1 = x1 * F32(2) - F32(1)
    s2 = x2 * F32(2) - F32(1)
    total = a * s1 + b * s2
    return (total + F32(1)) / F32(2)


def float32_power(base: np.ndarray, exponent: np.float32) -> np.ndarray:
    """``base ** exponent`` rounded as the reference's torch ``pow`` rounds it (NumPy's float32
    ``power`` differs from it by an ulp on some inputs)."""
    return torch.from_numpy(np.ascontiguousarray(base)).pow(float(exponent)).numpy()


def reference_multiply(x1: np.ndarray, x2: np.ndarray, a: np.float32, b: np.float32) -> np.ndarray:
    """pixmix_utils.multiply with its weights given: images to [0, 2], weighted geometric mean."""
    d1 = x1 * F32(2)
    d2 = np.maximum(x2 * F32(2), F32(1e-37))
    return (float32_power(d1, a) * float32_power(d2, b)) / F32(2)


def reference_get_ab(np_random: np.random.RandomState, beta: float) -> tuple[np.float32, np.float32]:
    """pixmix_utils.get_ab: two regimes, each weight drawn as its own float32."""
    if np_random.random() < 0.5:
        first = F32(np_random.beta(beta, 1))
        second = F32(np_random.beta(1, beta))
        return first, second
    first = 1 + F32(np_random.beta(1, beta))
    second = -F32(np_random.beta(1, beta))
    return F32(first), F32(second)


@dataclass
class Trace:
    """What the transcription did: start augmented?, the rounds' partners and mixings."""

    start_augmented: bool = False
    partners: list[str] = field(default_factory=list)  # "augmented" or "mixing"
    mixings: list[str] = field(default_factory=list)  # "add" or "multiply"


def reference_pixmix(
    orig: Image.Image,
    mixing_pic: Image.Image,
    np_random: np.random.RandomState,
    k: int,
    beta: float,
    severity: float,
    all_ops: bool,
    mean: Sequence[float],
    std: Sequence[float],
) -> tuple[np.ndarray, np.ndarray, Trace]:
    """The reference's ``pixmix(orig, mixing_pic, preprocess)``.

    Returns the normalized result (C, H, W), the unnormalized [0, 1] result (H, W, C) and a trace.
    """
    names = DEFAULT_OPS + (EXTRA_OPS if all_ops else ())
    aug_list = [reference_sampling_op(name, 0, np_random) for name in names]
    mixings = ["add", "multiply"]
    trace = Trace()

    def augment_input(image: Image.Image) -> Image.Image:
        op = np_random.choice(aug_list)
        return op(image.copy(), severity)

    if np_random.random() < 0.5:
        trace.start_augmented = True
        mixed = unit_array(augment_input(orig))
    else:
        mixed = unit_array(orig)
    for _ in range(np_random.randint(k + 1)):
        if np_random.random() < 0.5:
            trace.partners.append("augmented")
            other = unit_array(augment_input(orig))
        else:
            trace.partners.append("mixing")
            other = unit_array(mixing_pic)
        which = mixings[np_random.choice(len(mixings))]
        trace.mixings.append(which)
        a, b = reference_get_ab(np_random, beta)
        mixed = reference_add(mixed, other, a, b) if which == "add" else reference_multiply(mixed, other, a, b)
        mixed = np.clip(mixed, F32(0), F32(1))
    normalized = (mixed - np.asarray(mean, dtype=F32)) / np.asarray(std, dtype=F32)
    return np.ascontiguousarray(normalized.transpose(2, 0, 1)), mixed, trace


def reference_mixing_picture(img: Image.Image, resize: int, crop: int, top: int, left: int) -> Image.Image:
    """The reference's mixing-set transform, ``Resize(resize)`` then ``RandomCrop(crop)`` at the
    given offsets: RGB, shorter side scaled to ``resize`` (bilinear), the longer one to
    ``int(resize * long / short)``."""
    img = img.convert("RGB")
    width, height = img.size
    if width <= height:
        size = (resize, int(resize * height / width))
    else:
        size = (int(resize * width / height), resize)
    img = img.resize(size, Image.BILINEAR)
    return img.crop((left, top, left + crop, top + crop))
