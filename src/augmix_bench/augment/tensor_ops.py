"""The AugMix ops on image batches held as tensors, reproducing Pillow's arithmetic.

Images are float32 tensors (N, 3, H, W) on any device holding whole numbers 0-255 ("pixel
tensors": the uint8 values, in a type that the arithmetic below needs anyway); every op returns a
new pixel tensor, rounded as Pillow rounds to uint8, so chains of ops compose as PIL chains do.
``magnitudes`` is a float64 tensor (N,) with each image's parameter (``op_magnitudes`` computes
them from drawn levels with the formulas of ``ops.py``): the images share the op, not its
magnitude. ``BatchedAugMix`` groups the images that drew an op.

The ops follow Pillow's C code step by step (Pillow 10-13), so they are pixel-identical to
``apply_op``:

- posterize, solarize: the bit mask / threshold lookup tables of ``ImageOps``.
- autocontrast: per channel, ``lut[i] = int(i * scale + offset)`` in double precision with
  ``scale = 255 / (max - min)``, ``offset = -min * scale``; identity when max <= min.
- equalize: per channel, ``step = (count - count of the last non-empty bin) // 255`` and
  ``lut[i] = (step // 2 + pixels below i) // step``, clipped to 255; identity when step is 0.
- rotate, shear, translate: ``Image.transform`` with an inverse affine map evaluated at pixel
  centres (``x + 0.5``) in double precision. A source point outside ``[0, W) x [0, H)`` gives the
  fill value; otherwise the four neighbours of ``(x - 0.5, y - 0.5)`` (clamped to the image) are
  interpolated bilinearly in double precision and truncated. Rotations use ``Image.rotate``'s
  matrix: counter-clockwise degrees about ``(W / 2, H / 2)``, coefficients rounded to 15 decimals.
- color, contrast, brightness, sharpness: ``Image.blend(degenerate, image, factor)`` in single
  precision, clipped and truncated; the degenerate image is the fixed-point ITU-R 601 grey of
  ``convert("L")``, the rounded mean of that grey, black, or the 3x3 ``SMOOTH`` filter (border
  pixels unchanged).

On whole images the arithmetic avoids ``torch.where`` and ``trunc`` (slow on CPU): masks are
folded into gather indices or blends, and values known to be non-negative are truncated with
``floor``. It never fuses a multiply and an add (a fused multiply-add rounds once, Pillow twice).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from .ops import OPS

Tensor = torch.Tensor
TensorOp = Callable[[Tensor, Tensor, int], Tensor]

#: Pillow's fixed-point RGB -> L weights (they sum to 2**16) and its rounding offset.
_GREY_WEIGHTS: tuple[int, int, int] = (19595, 38470, 7471)
_GREY_ROUNDING = 2**15
_GREY_SHIFT = 2**16


def _int_param(levels: Tensor, maxval: float) -> Tensor:
    return torch.floor(levels * maxval / 10)  # levels are positive: floor == int()


def _float_param(levels: Tensor, maxval: float) -> Tensor:
    return levels * maxval / 10.0


def _enhance_factor(levels: Tensor, side: int) -> Tensor:
    return _float_param(levels, 1.8) + 0.1


#: Tensor forms of the magnitude formulas of ``ops.py`` (positive float64 levels in, float64 out).
_MAGNITUDES: dict[str, Callable[[Tensor, int], Tensor]] = {
    "autocontrast": lambda u, s: torch.zeros_like(u),
    "equalize": lambda u, s: torch.zeros_like(u),
    "posterize": lambda u, s: 4 - _int_param(u, 4),
    "rotate": lambda u, s: _int_param(u, 30),
    "solarize": lambda u, s: 256 - _int_param(u, 256),
    "shear_x": lambda u, s: _float_param(u, 0.3),
    "shear_y": lambda u, s: _float_param(u, 0.3),
    "translate_x": lambda u, s: _int_param(u, s / 3),
    "translate_y": lambda u, s: _int_param(u, s / 3),
    "color": _enhance_factor,
    "contrast": _enhance_factor,
    "brightness": _enhance_factor,
    "sharpness": _enhance_factor,
}


def op_magnitudes(name: str, levels: Tensor, negate: Tensor, side: int) -> Tensor:
    """The parameter of op ``name`` for every drawn level (float64), as ``ops.op_magnitude``.

    ``negate`` (bool, same shape) flips the sign of signed ops; unsigned ops ignore it.
    """
    values = _MAGNITUDES[name](levels.to(torch.float64), side)
    if OPS[name].signed:
        values = values * (1.0 - 2.0 * negate.to(torch.float64))
    return values


def _per_image(values: Tensor) -> Tensor:
    return values.view(-1, 1, 1, 1)


def _at_least(values: Tensor, threshold: Tensor) -> Tensor:
    """1.0 where whole-number ``values`` >= ``threshold`` (whole numbers), else 0.0."""
    return (values - (threshold - 1.0)).clamp_(0.0, 1.0)


# ----------------------------------------------------------------------------- lookup-table ops


def posterize(images: Tensor, bits: Tensor, fill: int = 0) -> Tensor:
    """Keep the ``bits`` most significant bits of every channel value."""
    quantum = _per_image(torch.exp2(8.0 - bits).to(images.dtype))
    return (images / quantum).floor_().mul_(quantum)  # exact: quantum is a power of two


def solarize(images: Tensor, threshold: Tensor, fill: int = 0) -> Tensor:
    """Invert every channel value at or above ``threshold``."""
    inverted = _at_least(images, _per_image(threshold.to(images.dtype)))
    return inverted.mul_(images * -2.0 + 255.0).add_(images)  # whole numbers: exact


def autocontrast(images: Tensor, magnitudes: Tensor | None = None, fill: int = 0) -> Tensor:
    """Stretch every channel so its darkest value becomes 0 and its lightest 255."""
    flat = images.flatten(2)
    low = flat.amin(dim=2, keepdim=True).to(torch.float64)
    high = flat.amax(dim=2, keepdim=True).to(torch.float64)
    spread = high > low
    # True division (a Python scalar divided by a tensor would multiply by a reciprocal).
    scale = torch.full_like(low, 255.0).div((high - low).clamp(min=1.0))
    scale = torch.where(spread, scale, torch.ones_like(scale))
    offset = torch.where(spread, -low * scale, torch.zeros_like(scale))
    stretched = flat.to(torch.float64).mul_(scale).add_(offset).floor_()  # >= 0: floor == int()
    return stretched.to(images.dtype).view_as(images)


def count_values(values: Tensor, size: int, host_free: bool | None = None) -> Tensor:
    """How often each of ``0 .. size - 1`` occurs in the int tensor ``values`` (int64, (size,)).

    ``bincount`` on the CPU; ``index_add_`` elsewhere (``host_free``, the default off the CPU),
    because ``bincount`` reads the largest value back to the host.
    """
    if host_free is None:
        host_free = values.device.type != "cpu"
    if not host_free:
        return torch.bincount(values, minlength=size)
    ones = torch.ones_like(values, dtype=torch.int64)
    return torch.zeros(size, dtype=torch.int64, device=values.device).index_add_(0, values, ones)


def equalize(images: Tensor, magnitudes: Tensor | None = None, fill: int = 0) -> Tensor:
    """Equalize every channel's histogram with Pillow's lookup table."""
    n, c = images.shape[:2]
    # One bin index per value: 256 bins for every (image, channel); also the lookup index.
    channel = torch.arange(0, n * c * 256, 256, device=images.device, dtype=torch.int32).view(n, c, 1)
    bins = (images.flatten(2).to(torch.int32) + channel).flatten()
    histogram = count_values(bins, n * c * 256).view(n, c, 256)
    last_bin = 255 - (histogram.flip(-1) > 0).to(torch.int8).argmax(dim=-1, keepdim=True)
    step = (images[0, 0].numel() - histogram.gather(-1, last_bin)) // 255
    below = histogram.cumsum(-1) - histogram
    lut = ((step // 2 + below) // step.clamp(min=1)).clamp(max=255)
    identity = torch.arange(256, device=images.device).expand_as(lut)
    lut = torch.where(step > 0, lut, identity).to(images.dtype)
    return lut.flatten().index_select(0, bins).view_as(images)


# ----------------------------------------------------------------------------- affine ops


def _lerp(start: Tensor, end: Tensor, weight: Tensor) -> Tensor:
    """Pillow's ``start + (end - start) * weight``; float64 ``weight`` makes it double precision.

    ``end - start`` of two pixel tensors is exact in single precision, and the sum is the same
    whichever operand comes first.
    """
    return ((end - start) * weight).add_(start)


@functools.lru_cache(maxsize=64)
def _centres(size: int, device: torch.device) -> Tensor:
    """Pixel centres ``0.5, 1.5, ...`` (float64), cached per size and device."""
    return torch.arange(size, device=device, dtype=torch.float64) + 0.5


def _neighbours(position: Tensor, size: int) -> tuple[Tensor, Tensor, Tensor]:
    """Pillow's bilinear set-up along one axis for source ``position`` (pixel-centre coordinates).

    Returns the lower neighbour (int64, unclamped), the interpolation weight (float64) and
    whether the position lies inside ``[0, size)``.
    """
    inside = (position >= 0) & (position < size)
    shifted = position - 0.5
    lower = torch.floor(shifted)
    return lower.to(torch.int64), shifted - lower, inside


def _pad_last(images: Tensor, fill: int) -> Tensor:
    """``images`` with one more element of value ``fill`` at the end of the last axis."""
    return torch.cat((images, images.new_full((*images.shape[:-1], 1), float(fill))), dim=-1)


def _gather_last(source: Tensor, index: Tensor) -> Tensor:
    """``source`` (N, C, ..., L) gathered along its last axis by a per-image ``index``.

    ``index`` (N, ..., M) is shared by the C channels.
    """
    n, c = source.shape[:2]
    return source.gather(-1, index.unsqueeze(1).expand(n, c, *index.shape[1:]))


def _resample_rows(images: Tensor, position: Tensor, fill: int, interpolate: bool) -> Tensor:
    """Resample every row of ``images`` (N, C, H, W) at source ``position`` along the row.

    ``position`` (N, H or 1, W), float64, is the x that each output pixel's centre maps to
    (Pillow's affine map, before its -0.5); y stays at the pixel centre. Outside ``[0, W)``
    gives ``fill``. Without ``interpolate`` the positions must be pixel centres (whole-pixel
    shifts).
    """
    n, c, height, width = images.shape
    lower, weight, inside = _neighbours(position, width)
    # Rows laid out as [first, row..., last, fill]: Pillow's clamped neighbours lower and
    # lower + 1 of an inside position are at lower + 1 and lower + 2; outside reads the fill.
    fill_column = images.new_full((n, c, height, 1), float(fill))
    padded = torch.cat((images[..., :1], images, images[..., -1:], fill_column), dim=3)
    first = ((lower + 1) * inside + ~inside * (width + 2)).expand(n, height, width)

    def sample(index: Tensor) -> Tensor:
        return padded.gather(3, index.unsqueeze(1).expand(n, c, height, width))

    if not interpolate:
        return sample(first)
    value = _lerp(sample(first), sample(first + inside), weight.unsqueeze(1))
    return value.floor_().to(images.dtype)


def _resample_columns(images: Tensor, position: Tensor, fill: int, interpolate: bool) -> Tensor:
    """``_resample_rows`` along columns: ``position`` (N, W or 1, H) is indexed [image, x, y].

    Runs on the transposed images, where the gathers are faster than along dimension 2.
    """
    columns = _resample_rows(images.transpose(2, 3).contiguous(), position, fill, interpolate)
    return columns.transpose(2, 3).contiguous()


def _bilinear_plan(coefficients: Tensor, height: int, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """Where ``Image.transform(AFFINE, BILINEAR)`` reads for each of N coefficient rows.

    Returns the flat indices (N, 4 * H * W) of every output pixel's four neighbours in the order
    top-left, bottom-left, top-right, bottom-right (blocks of H * W; index H * W, an appended
    fill pixel, where the source point is outside the image) and the weights along x and y,
    (N, H * W) each, float64.
    """
    n = coefficients.shape[0]
    a = coefficients.to(torch.float64).view(n, 6, 1, 1)
    xs = _centres(width, coefficients.device).view(1, width)
    ys = _centres(height, coefficients.device).view(height, 1)
    left, dx, inside_x = _neighbours(a[:, 0] * xs + a[:, 1] * ys + a[:, 2], width)
    top, dy, inside_y = _neighbours(a[:, 3] * xs + a[:, 4] * ys + a[:, 5], height)
    inside = (inside_x & inside_y).unsqueeze(1)
    rows = torch.stack((top, top + 1), dim=1).clamp(0, height - 1) * width
    cols = torch.stack((left, left + 1), dim=1).clamp(0, width - 1)
    corners = rows.unsqueeze(1) + cols.unsqueeze(2)  # (N, x neighbour, y neighbour, H, W)
    corners = corners.view(n, 4, height, width) * inside + ~inside * (height * width)
    return corners.view(n, -1), dx.view(n, -1), dy.view(n, -1)


def _bilinear_sample(images: Tensor, plan: tuple[Tensor, Tensor, Tensor], fill: int) -> Tensor:
    """Sample every image at its ``_bilinear_plan``: Pillow's bilinear filter, truncated."""
    n, c = images.shape[:2]
    index, dx, dy = plan
    source = _pad_last(images.flatten(2).to(torch.float64), fill)  # the lerps run in double
    corners = _gather_last(source, index).view(n, c, 2, 2, -1)
    columns = _lerp(corners[:, :, 0], corners[:, :, 1], dx.view(n, 1, 1, -1))  # upper, lower rows
    value = _lerp(columns[:, :, 0], columns[:, :, 1], dy.view(n, 1, -1)).floor_()
    return value.to(images.dtype).view_as(images)


def affine(images: Tensor, coefficients: Tensor, fill: int = 0) -> Tensor:
    """``Image.transform(size, AFFINE, coefficients, BILINEAR, fillcolor=fill)`` per image.

    ``coefficients`` (N, 6) float64 map an output pixel centre ``(x, y)`` to the source point
    ``(a x + b y + c, d x + e y + f)``, evaluated in Pillow's order.
    """
    plan = _bilinear_plan(coefficients.to(images.device), images.shape[2], images.shape[3])
    return _bilinear_sample(images, plan, fill)


def shear_x(images: Tensor, amount: Tensor, fill: int = 0) -> Tensor:
    """Affine ``(1, v, 0, 0, 1, 0)``: source x = x + v * y; rows are resampled, y is kept."""
    h, w = images.shape[2:]
    xs, ys = _centres(w, images.device).view(1, 1, w), _centres(h, images.device).view(1, h, 1)
    return _resample_rows(images, xs + _per_image(amount)[:, 0] * ys, fill, interpolate=True)


def shear_y(images: Tensor, amount: Tensor, fill: int = 0) -> Tensor:
    """Affine ``(1, 0, 0, v, 1, 0)``: source y = v * x + y; columns are resampled, x is kept."""
    h, w = images.shape[2:]
    xs, ys = _centres(w, images.device).view(1, w, 1), _centres(h, images.device).view(1, 1, h)
    return _resample_columns(images, _per_image(amount)[:, 0] * xs + ys, fill, interpolate=True)


def translate_x(images: Tensor, pixels: Tensor, fill: int = 0) -> Tensor:
    """Affine ``(1, 0, t, 0, 1, 0)``: the content moves ``t`` (whole) pixels to the left."""
    xs = _centres(images.shape[3], images.device).view(1, 1, -1)
    return _resample_rows(images, xs + _per_image(pixels)[:, 0], fill, interpolate=False)


def translate_y(images: Tensor, pixels: Tensor, fill: int = 0) -> Tensor:
    """Affine ``(1, 0, 0, 0, 1, t)``: the content moves ``t`` (whole) pixels up."""
    ys = _centres(images.shape[2], images.device).view(1, 1, -1)
    return _resample_columns(images, ys + _per_image(pixels)[:, 0], fill, interpolate=False)


@functools.lru_cache(maxsize=16)
def _rotation_coefficients(width: int, height: int, device: torch.device) -> Tensor:
    """``Image.rotate``'s inverse affine coefficients for every whole degree -360..360 (721, 6)."""
    rows = []
    cx, cy = width / 2, height / 2
    for degrees in range(-360, 361):
        angle = -math.radians(degrees % 360.0)
        cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
        a, b, d, e = cos, sin, round(-math.sin(angle), 15), cos
        rows.append((a, b, a * -cx + b * -cy + 0.0 + cx, d, e, d * -cx + e * -cy + 0.0 + cy))
    return torch.tensor(rows, dtype=torch.float64).to(device)


def rotation_coefficients(degrees: Tensor, width: int, height: int) -> Tensor:
    """``Image.rotate``'s affine coefficients (N, 6) for whole ``degrees`` (N,), on their device.

    Degrees outside -360..360 are clamped (``rotate`` rejects them on the CPU).
    """
    table = _rotation_coefficients(width, height, degrees.device)
    return table.index_select(0, degrees.to(torch.int64).clamp(-360, 360) + 360)


#: (height, width, device) -> (reach, bilinear plans of the rotations by -reach..reach degrees).
_ROTATION_PLANS: dict[tuple[int, int, torch.device], tuple[int, tuple[Tensor, Tensor, Tensor]]] = {}


def _rotation_plans(
    height: int, width: int, reach: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Bilinear plans of the whole-degree rotations from ``-reach`` to ``reach``, in that order.

    One set per image size and device is kept, rebuilt only when a larger angle is asked for.
    """
    key = (height, width, device)
    cached = _ROTATION_PLANS.get(key)
    if cached is None or cached[0] < reach:
        coefficients = _rotation_coefficients(width, height, device)[360 - reach : 361 + reach]
        cached = (reach, _bilinear_plan(coefficients, height, width))
        _ROTATION_PLANS[key] = cached
    kept, plans = cached
    start = kept - reach
    return tuple(plan[start : start + 2 * reach + 1] for plan in plans)  # type: ignore[return-value]


def rotate(images: Tensor, degrees: Tensor, fill: int = 0) -> Tensor:
    """Counter-clockwise rotation by whole ``degrees`` (-360..360) about the image centre.

    On the CPU the sampling plan of each angle is computed once per image size and kept, for
    angles up to the largest magnitude seen (rounded up to a power of two). On other devices,
    where reading the largest angle back would wait for the device, every call computes the
    plans of its angles (``affine`` with ``rotation_coefficients``): the same pixels.
    """
    height, width = images.shape[2:]
    if images.device.type != "cpu":
        return affine(images, rotation_coefficients(degrees, width, height), fill)
    steps = degrees.to(torch.int64)
    largest = int(steps.abs().max()) if steps.numel() else 0
    if largest > 360:
        raise ValueError(f"rotate takes whole degrees in -360..360, got {largest}")
    reach = min(1 << max(largest - 1, 0).bit_length(), 360)
    index, dx, dy = _rotation_plans(height, width, reach, images.device)
    rows = steps + reach
    plan = (index.index_select(0, rows), dx.index_select(0, rows), dy.index_select(0, rows))
    return _bilinear_sample(images, plan, fill)


# ----------------------------------------------------------------------------- enhance ops


def _blend(degenerate: Tensor, images: Tensor, factor: Tensor) -> Tensor:
    """``Image.blend(degenerate, images, factor)``: single precision, clipped, truncated."""
    alpha = _per_image(factor.to(torch.float32))
    return torch.floor((degenerate + alpha * (images - degenerate)).clamp(0.0, 255.0))


def grey(images: Tensor) -> Tensor:
    """Pillow's RGB -> L conversion (N, 1, H, W); exact in float32 (every sum is below 2**24)."""
    r, g, b = _GREY_WEIGHTS
    weighted = images[:, 0:1] * r + images[:, 1:2] * g + images[:, 2:3] * b + _GREY_ROUNDING
    return torch.floor(weighted / _GREY_SHIFT)


def color(images: Tensor, factor: Tensor, fill: int = 0) -> Tensor:
    """``ImageEnhance.Color``: blend with the greyscale image."""
    return _blend(grey(images), images, factor)


def contrast(images: Tensor, factor: Tensor, fill: int = 0) -> Tensor:
    """``ImageEnhance.Contrast``: blend with the rounded mean grey level."""
    luminance = grey(images).flatten(1).to(torch.float64)
    mean = luminance.sum(dim=1) / luminance.shape[1]
    return _blend(_per_image(torch.floor(mean + 0.5).to(images.dtype)), images, factor)


def brightness(images: Tensor, factor: Tensor, fill: int = 0) -> Tensor:
    """``ImageEnhance.Brightness``: blend with black."""
    return _blend(torch.zeros_like(images), images, factor)


def smooth(images: Tensor) -> Tensor:
    """``ImageFilter.SMOOTH`` (kernel 1 1 1 / 1 5 1 / 1 1 1 over 13), border pixels unchanged.

    Summed in Pillow's order and single precision: 0.5, then the rows below, at and above.
    """
    divisor = torch.tensor(13.0)
    edge = float(torch.tensor(1.0) / divisor)
    centre = float(torch.tensor(5.0) / divisor)
    height = images.shape[2]

    def row(offset: int, middle: float) -> Tensor:
        rows = images[:, :, 1 + offset : height - 1 + offset]
        return rows[..., :-2] * edge + rows[..., 1:-1] * middle + rows[..., 2:] * edge

    total = torch.full_like(images[:, :, 1:-1, 1:-1], 0.5)
    total = total + row(1, edge)
    total = total + row(0, centre)
    total = total + row(-1, edge)
    out = images.clone()
    out[:, :, 1:-1, 1:-1] = torch.floor(total.clamp(0.0, 255.0))
    return out


def sharpness(images: Tensor, factor: Tensor, fill: int = 0) -> Tensor:
    """``ImageEnhance.Sharpness``: blend with the smoothed image."""
    return _blend(smooth(images), images, factor)


#: Op name -> tensor implementation ``(pixel tensor, magnitudes, fill) -> pixel tensor``.
TENSOR_OPS: dict[str, TensorOp] = {
    "autocontrast": autocontrast,
    "equalize": equalize,
    "posterize": posterize,
    "rotate": rotate,
    "solarize": solarize,
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
    "color": color,
    "contrast": contrast,
    "brightness": brightness,
    "sharpness": sharpness,
}


def apply_tensor_op(
    images: Tensor, name: str, levels: Tensor, negate: Tensor, fill: int = 0
) -> Tensor:
    """Op ``name`` on every image of a pixel tensor at its drawn level and sign.

    The batch form of ``apply_op``: ``levels`` (float64) and ``negate`` (bool) hold one entry
    per image.
    """
    magnitudes = op_magnitudes(name, levels, negate, images.shape[-1])
    return TENSOR_OPS[name](images, magnitudes, fill)
