"""The AugMix augmentation operations, exactly as the reference implementation applies them.

Every op takes an RGB PIL image and a level ``u`` that the caller has already drawn
(``u ~ Uniform(0.1, severity)``), and returns a new RGB PIL image. The magnitude is derived from
``u`` with the reference's formulas (REFERENCE.md section 1):

- ``int_param(u, max) = int(u * max / 10)`` (truncation toward zero)
- ``float_param(u, max) = u * max / 10``

Signed ops (rotate, shears, translations) use the negated magnitude when ``negate`` is true; the
reference flips the sign with probability 1/2. ``fill`` is the value of the pixels that affine ops
move in from outside the image (0 in the reference code; 128 for the released ImageNet model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageOps

from ..errors import UserError


def int_param(level: float, maxval: float) -> int:
    """The reference's integer magnitude: ``int(level * maxval / 10)``."""
    return int(level * maxval / 10)


def float_param(level: float, maxval: float) -> float:
    """The reference's float magnitude: ``level * maxval / 10``."""
    return float(level) * maxval / 10.0


def _fillcolor(img: Image.Image, fill: int) -> tuple[int, ...]:
    return (int(fill),) * len(img.getbands())


def _affine(img: Image.Image, coeffs: tuple[float, ...], fill: int) -> Image.Image:
    return img.transform(
        img.size, Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=_fillcolor(img, fill)
    )


@dataclass(frozen=True)
class OpSpec:
    """One augmentation op.

    ``magnitude(level, side)`` maps a drawn level to the op's parameter (``None`` for ops without
    one); ``apply(img, magnitude, fill)`` runs it. ``signed`` ops draw a random sign.
    """

    name: str
    signed: bool
    magnitude: Callable[[float, int], float | int | None]
    apply: Callable[[Image.Image, float | int | None, int], Image.Image]

    @property
    def uses_level(self) -> bool:
        """Whether the op consumes a drawn level (autocontrast and equalize do not)."""
        return self.name not in ("autocontrast", "equalize")


def _enhance_factor(level: float, side: int) -> float:
    return float_param(level, 1.8) + 0.1


_SPECS = [
    OpSpec("autocontrast", False, lambda u, s: None, lambda im, p, f: ImageOps.autocontrast(im)),
    OpSpec("equalize", False, lambda u, s: None, lambda im, p, f: ImageOps.equalize(im)),
    OpSpec(
        "posterize",
        False,
        lambda u, s: 4 - int_param(u, 4),
        lambda im, bits, f: ImageOps.posterize(im, bits),
    ),
    OpSpec(
        "rotate",
        True,
        lambda u, s: int_param(u, 30),
        lambda im, deg, f: im.rotate(deg, resample=Image.BILINEAR, fillcolor=_fillcolor(im, f)),
    ),
    OpSpec(
        "solarize",
        False,
        lambda u, s: 256 - int_param(u, 256),
        lambda im, thr, f: ImageOps.solarize(im, thr),
    ),
    OpSpec(
        "shear_x",
        True,
        lambda u, s: float_param(u, 0.3),
        lambda im, v, f: _affine(im, (1, v, 0, 0, 1, 0), f),
    ),
    OpSpec(
        "shear_y",
        True,
        lambda u, s: float_param(u, 0.3),
        lambda im, v, f: _affine(im, (1, 0, 0, v, 1, 0), f),
    ),
    OpSpec(
        "translate_x",
        True,
        lambda u, s: int_param(u, s / 3),
        lambda im, t, f: _affine(im, (1, 0, t, 0, 1, 0), f),
    ),
    OpSpec(
        "translate_y",
        True,
        lambda u, s: int_param(u, s / 3),
        lambda im, t, f: _affine(im, (1, 0, 0, 0, 1, t), f),
    ),
    OpSpec("color", False, _enhance_factor, lambda im, v, f: ImageEnhance.Color(im).enhance(v)),
    OpSpec(
        "contrast", False, _enhance_factor, lambda im, v, f: ImageEnhance.Contrast(im).enhance(v)
    ),
    OpSpec(
        "brightness",
        False,
        _enhance_factor,
        lambda im, v, f: ImageEnhance.Brightness(im).enhance(v),
    ),
    OpSpec(
        "sharpness",
        False,
        _enhance_factor,
        lambda im, v, f: ImageEnhance.Sharpness(im).enhance(v),
    ),
]

OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}

#: The nine default AugMix ops, in the reference's order.
AUGMIX_OPS: tuple[str, ...] = (
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

#: The default ops followed by the four that overlap the test corruptions (``all_ops=true``).
ALL_OPS: tuple[str, ...] = AUGMIX_OPS + ("color", "contrast", "brightness", "sharpness")


def op_magnitude(name: str, level: float, side: int, negate: bool = False) -> float | int | None:
    """The parameter op ``name`` uses at drawn level ``level`` on a ``side`` x ``side`` image.

    The sign is applied for signed ops when ``negate`` is true; unsigned ops ignore ``negate``.
    """
    spec = get_op(name)
    value = spec.magnitude(level, side)
    if spec.signed and negate and value is not None:
        value = -value
    return value


def get_op(name: str) -> OpSpec:
    """The op called ``name``; a ``UserError`` naming the accepted ops otherwise."""
    try:
        return OPS[name]
    except KeyError:
        raise UserError(f"unknown augmentation op {name!r}; choose from: {', '.join(ALL_OPS)}") from None


def apply_op(
    img: Image.Image, name: str, level: float, negate: bool = False, fill: int = 0
) -> Image.Image:
    """Apply op ``name`` to ``img`` at the already drawn level ``level`` (and sign).

    Pixel-identical to the reference op once its random draws are fixed to ``level`` and
    ``negate``. Images must be square (the reference's affine ops assume it).
    """
    if img.size[0] != img.size[1]:
        raise UserError(f"augmentation ops need square images, got size {img.size}")
    spec = get_op(name)
    return spec.apply(img, op_magnitude(name, level, img.size[0], negate), fill)
