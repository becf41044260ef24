"""An independent transcription of the reference AugMix for the tests, from REFERENCE.md sections 1-2.

Written without the package's code: every op draws its own level (and sign) from ``np_random``
exactly where the reference code draws from the global NumPy generator, the magnitude formulas
are spelled out per op, and the chains are mixed after ToTensor + Normalize per chain (torch),
as the reference's ``aug()`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps


def _affine_kwargs(fill: int) -> dict:
    # The reference passes no fill (black); the released ImageNet model used grey (128).
    return {} if fill == 0 else {"fillcolor": (fill, fill, fill)}


def reference_op(img: Image.Image, name: str, level: float, negate: bool, fill: int) -> Image.Image:
    """One op at a fixed level and sign, with the reference's formulas written out."""
    side = img.size[0]
    sign = -1 if negate else 1
    if name == "autocontrast":
        return ImageOps.autocontrast(img)
    if name == "equalize":
        return ImageOps.equalize(img)
    if name == "posterize":
        return ImageOps.posterize(img, 4 - int(level * 4 / 10))
    if name == "rotate":
        return img.rotate(sign * int(level * 30 / 10), resample=Image.BILINEAR, **_affine_kwargs(fill))
    if name == "solarize":
        return ImageOps.solarize(img, 256 - int(level * 256 / 10))
    if name == "shear_x":
        v = sign * (float(level) * 0.3 / 10.0)
        return img.transform(
            (side, side), Image.AFFINE, (1, v, 0, 0, 1, 0), resample=Image.BILINEAR, **_affine_kwargs(fill)
        )
    if name == "shear_y":
        v = sign * (float(level) * 0.3 / 10.0)
        return img.transform(
            (side, side), Image.AFFINE, (1, 0, 0, v, 1, 0), resample=Image.BILINEAR, **_affine_kwargs(fill)
        )
    if name == "translate_x":
        t = sign * int(level * (side / 3) / 10)
        return img.transform(
            (side, side), Image.AFFINE, (1, 0, t, 0, 1, 0), resample=Image.BILINEAR, **_affine_kwargs(fill)
        )
    if name == "translate_y":
        t = sign * int(level * (side / 3) / 10)
        return img.transform(
            (side, side), Image.AFFINE, (1, 0, 0, 0, 1, t), resample=Image.BILINEAR, **_affine_kwargs(fill)
        )
    factor = float(level) * 1.8 / 10.0 + 0.1
    enhancers = {
        "color": ImageEnhance.Color,
        "contrast": ImageEnhance.Contrast,
        "brightness": ImageEnhance.Brightness,
        "sharpness": ImageEnhance.Sharpness,
    }
    return enhancers[name](img).enhance(factor)


DEFAULT_OPS = (
    "autocontrast",
    "equalize",
    "posterize",
    "rotate",
    "solarize",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
EXTRA_OPS = ("color", "contrast", "brightness", "sharpness")
UNSIGNED_WITHOUT_LEVEL = ("autocontrast", "equalize")
SIGNED = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")


def reference_sampling_op(name: str, fill: int, np_random: np.random.RandomState):
    """The reference's op function ``op(pil_img, severity)``: it samples its own level and sign."""

    def op(img: Image.Image, severity: float) -> Image.Image:
        if name in UNSIGNED_WITHOUT_LEVEL:
            return reference_op(img, name, 0.0, False, fill)
        level = np_random.uniform(low=0.1, high=severity)
        negate = bool(np_random.uniform() > 0.5) if name in SIGNED else False
        return reference_op(img, name, level, negate, fill)

    op.__name__ = name
    return op


def reference_preprocess(img: Image.Image, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """ToTensor + Normalize, the torchvision way: uint8 / 255, then (x - mean) / std."""
    x = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).float().div(255)
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


def reference_augment_and_mix(
    img: Image.Image,
    np_random: np.random.RandomState,
    severity: float = 3,
    width: int = 3,
    depth: int = -1,
    alpha: float = 1.0,
    all_ops: bool = False,
    mean: Sequence[float] = (0.5, 0.5, 0.5),
    std: Sequence[float] = (0.5, 0.5, 0.5),
    fill: int = 0,
) -> torch.Tensor:
    """The reference's ``aug(image, preprocess)``, drawing from ``np_random`` in its order."""
    names = DEFAULT_OPS + (EXTRA_OPS if all_ops else ())
    aug_list = [reference_sampling_op(name, fill, np_random) for name in names]
    ws = np.float32(np_random.dirichlet([alpha] * width))
    m = np.float32(np_random.beta(alpha, alpha))
    mix = torch.zeros_like(reference_preprocess(img, mean, std))
    for i in range(width):
        image_aug = img.copy()
        chain_depth = depth if depth > 0 else np_random.randint(1, 4)
        for _ in range(chain_depth):
            op = np_random.choice(aug_list)
            image_aug = op(image_aug, severity)
        mix += ws[i] * reference_preprocess(image_aug, mean, std)
    return (1 - m) * reference_preprocess(img, mean, std) + m * mix


def reference_mix_given_draw(img: Image.Image, draw, mean, std, fill: int) -> torch.Tensor:
    """Mix the chains of an ``AugMixDraw`` the reference's way (normalize per chain, then mix)."""
    mix = torch.zeros_like(reference_preprocess(img, mean, std))
    for weight, chain in zip(draw.weights, draw.chains, strict=True):
        image_aug = img.copy()
        for step in chain:
            image_aug = reference_op(image_aug, step.op, step.level or 0.0, step.negate, fill)
        mix += np.float32(weight) * reference_preprocess(image_aug, mean, std)
    m = np.float32(draw.skip)
    return (1 - m) * reference_preprocess(img, mean, std) + m * mix


def structured_image(side: int, seed: int = 0) -> Image.Image:
    """A test image with gradients, edges and noise, so that every op and magnitude changes it."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:side, 0:side] / side
    base = np.stack([rows * 200 + 20, cols * 180 + 40, (rows + cols) * 90 + 30], axis=-1)
    base[side // 4 : side // 2, side // 3 : (2 * side) // 3] = (230, 40, 90)
    base += rng.normal(0, 12, size=base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
