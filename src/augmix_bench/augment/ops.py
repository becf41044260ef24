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
from typing import Any

from PIL import Image, ImageEnhance, ImageOps

from ..errors import UserError

Magnitude = float | int | None


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


def _no_magnitude(level: float, side: int) -> None:
    return None


def _posterize_bits(level: float, side: int) -> int:
    return 4 - int_param(level, 4)


def _rotate_degrees(level: float, side: int) -> int:
    return int_param(level, 30)


def _solarize_threshold(level: float, side: int) -> int:
    return 256 - int_param(level, 256)


def _shear(level: float, side: int) -> float:
    return float_param(level, 0.3)


def _translate_pixels(level: float, side: int) -> int:
    return int_param(level, side / 3)


def _enhance_factor(level: float, side: int) -> float:
    return float_param(level, 1.8) + 0.1


def _apply_autocontrast(img: Image.Image, magnitude: Magnitude, fill: int) -> Image.Image:
    return ImageOps.autocontrast(img)


def _apply_equalize(img: Image.Image, magnitude: Magnitude, fill: int) -> Image.Image:
    return ImageOps.equalize(img)


def _apply_posterize(img: Image.Image, bits: int, fill: int) -> Image.Image:
    return ImageOps.posterize(img, bits)


def _apply_rotate(img: Image.Image, degrees: int, fill: int) -> Image.Image:
    return img.rotate(degrees, resample=Image.BILINEAR, fillcolor=_fillcolor(img, fill))


def _apply_solarize(img: Image.Image, threshold: int, fill: int) -> Image.Image:
    return ImageOps.solarize(img, threshold)


def _apply_shear_x(img: Image.Image, v: float, fill: int) -> Image.Image:
    return _affine(img, (1, v, 0, 0, 1, 0), fill)


def _apply_shear_y(img: Image.Image, v: float, fill: int) -> Image.Image:
    return _affine(img, (1, 0, 0, v, 1, 0), fill)


def _apply_translate_x(img: Image.Image, t: int, fill: int) -> Image.Image:
    return _affine(img, (1, 0, t, 0, 1, 0), fill)


def _apply_translate_y(img: Image.Image, t: int, fill: int) -> Image.Image:
    return _affine(img, (1, 0, 0, 0, 1, t), fill)


def _apply_color(img: Image.Image, factor: float, fill: int) -> Image.Image:
    return ImageEnhance.Color(img).enhance(factor)


def _apply_contrast(img: Image.Image, factor: float, fill: int) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(factor)


def _apply_brightness(img: Image.Image, factor: float, fill: int) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def _apply_sharpness(img: Image.Image, factor: float, fill: int) -> Image.Image:
    return ImageEnhance.Sharpness(img).enhance(factor)


@dataclass(frozen=True)
class OpSpec:
    """One augmentation op.

    ``magnitude(level, side)`` maps a drawn level to the op's parameter (``None`` for ops without
    one); ``apply(img, magnitude, fill)`` runs it with that parameter. ``signed`` ops draw a
    random sign.
    """

    name: str
    signed: bool
    magnitude: Callable[[float, int], Magnitude]
    apply: Callable[[Image.Image, Any, int], Image.Image]

    @property
    def uses_level(self) -> bool:
        """Whether the op consumes a drawn level (autocontrast and equalize do not)."""
        return self.magnitude is not _no_magnitude


_SPECS = (
    OpSpec("autocontrast", False, _no_magnitude, _apply_autocontrast),
    OpSpec("equalize", False, _no_magnitude, _apply_equalize),
    OpSpec("posterize", False, _posterize_bits, _apply_posterize),
    OpSpec("rotate", True, _rotate_degrees, _apply_rotate),
    OpSpec("solarize", False, _solarize_threshold, _apply_solarize),
    OpSpec("shear_x", True, _shear, _apply_shear_x),
    OpSpec("shear_y", True, _shear, _apply_shear_y),
    OpSpec("translate_x", True, _translate_pixels, _apply_translate_x),
    OpSpec("translate_y", True, _translate_pixels, _apply_translate_y),
    OpSpec("color", False, _enhance_factor, _apply_color),
    OpSpec("contrast", False, _enhance_factor, _apply_contrast),
    OpSpec("brightness", False, _enhance_factor, _apply_brightness),
    OpSpec("sharpness", False, _enhance_factor, _apply_sharpness),
)

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


def op_magnitude(name: str, level: float, side: int, negate: bool = False) -> Magnitude:
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


def apply_op(img: Image.Image, name: str, level: float, negate: bool = False, fill: int = 0) -> Image.Image:
    """Apply op ``name`` to ``img`` at the already drawn level ``level`` (and sign).

    Pixel-identical to the reference op once its random draws are fixed to ``level`` (the
    reference draws it from [0.1, severity), severity <= 10) and ``negate``. Images must be square
    (the reference's affine ops assume it).
    """
    if img.size[0] != img.size[1]:
        raise UserError(f"augmentation ops need square images, got size {img.size}")
    spec = get_op(name)
    return spec.apply(img, op_magnitude(name, level, img.size[0], negate), fill)
