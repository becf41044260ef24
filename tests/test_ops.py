"""apply_op against independent, hand-written PIL computations of the reference formulas."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps
from reference_augmix import (
    DEFAULT_OPS,
    EXTRA_OPS,
    SIGNED,
    reference_op,
    structured_image,
)

from augmix_bench.augment import ALL_OPS, AUGMIX_OPS, apply_op
from augmix_bench.augment.ops import OPS, get_op, op_magnitude
from augmix_bench.errors import UserError

# Levels spanning [0.1, 10), with the truncation edges of every integer formula on both sides:
# rotate int(u * 3) (2.999 | 3.0), posterize int(u * 0.4) (2.4999 | 2.5), solarize int(u * 25.6)
# (3.9 | 3.90625), translate at 32 px int(u * 32 / 30) (2.8124 | 2.8125) and at 224 px
# int(u * 224 / 30) (4.0178 | 4.0179).
LEVELS = (
    0.1,
    0.33,
    1.0,
    2.4999,
    2.5,
    2.8124,
    2.8125,
    2.999,
    3.0,
    3.9,
    3.90625,
    4.0178,
    4.0179,
    5.55,
    7.5,
    9.999,
)
AFFINE = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")


@pytest.fixture(scope="module")
def images() -> dict[int, Image.Image]:
    return {32: structured_image(32, seed=1), 224: structured_image(224, seed=2)}


def test_op_lists_are_the_references() -> None:
    assert AUGMIX_OPS == DEFAULT_OPS
    assert ALL_OPS == DEFAULT_OPS + EXTRA_OPS
    assert set(OPS) == set(ALL_OPS)
    assert {name for name in ALL_OPS if get_op(name).signed} == set(SIGNED)
    assert {name for name in ALL_OPS if not get_op(name).uses_level} == {"autocontrast", "equalize"}


@pytest.mark.parametrize(
    ("name", "level", "side", "expected"),
    [
        ("rotate", 2.999, 32, 8),
        ("rotate", 3.0, 32, 9),
        ("rotate", 9.999, 32, 29),
        ("posterize", 2.4999, 32, 4),
        ("posterize", 2.5, 32, 3),
        ("posterize", 9.999, 32, 1),
        ("solarize", 3.0, 32, 180),
        ("solarize", 0.1, 32, 254),
        ("solarize", 3.9, 32, 157),
        ("solarize", 3.90625, 32, 156),
        ("translate_x", 2.8124, 32, 2),
        ("translate_x", 2.8125, 32, 3),
        ("translate_y", 9.999, 32, 10),
        ("translate_x", 3.0, 224, 22),
        ("translate_y", 4.0178, 224, 29),
        ("translate_y", 4.0179, 224, 30),
        ("shear_x", 5.0, 32, 0.15),
        ("shear_y", 2.0, 224, 0.06),
        ("color", 5.0, 32, 1.0),
        ("sharpness", 0.1, 32, 0.118),
        ("brightness", 9.999, 32, 1.8998200000000001),
        ("autocontrast", 5.0, 32, None),
    ],
)
def test_magnitudes_follow_the_formulas(name: str, level: float, side: int, expected: float | None) -> None:
    value = op_magnitude(name, level, side)
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected, abs=1e-12)
        assert type(value) is type(expected)
    negated = op_magnitude(name, level, side, negate=True)
    if name in SIGNED:
        assert negated == -value
    else:
        assert negated == value


@pytest.mark.parametrize("side", [32, 224])
@pytest.mark.parametrize("name", ALL_OPS)
def test_apply_op_is_pixel_identical_to_the_reference(
    name: str, side: int, images: dict[int, Image.Image]
) -> None:
    img = images[side]
    fills = (0, 128) if name in AFFINE else (0,)
    signs = (False, True)
    for level in LEVELS:
        for negate in signs:
            for fill in fills:
                ours = np.asarray(apply_op(img, name, level, negate, fill))
                expected = np.asarray(reference_op(img, name, level, negate, fill))
                assert ours.dtype == np.uint8 and ours.shape == (side, side, 3)
                assert np.array_equal(ours, expected), (name, side, level, negate, fill)


@pytest.mark.parametrize(
    ("name", "below", "at"),
    [
        ("rotate", 2.999, 3.0),
        ("posterize", 2.4999, 2.5),
        ("solarize", 3.9, 3.90625),
        ("translate_x", 2.8124, 2.8125),
    ],
)
def test_truncation_edges_change_the_output(
    name: str, below: float, at: float, images: dict[int, Image.Image]
) -> None:
    """The edge levels give different images, so the exactness test above can tell them apart."""
    img = images[32]
    assert not np.array_equal(np.asarray(apply_op(img, name, below)), np.asarray(apply_op(img, name, at)))


@pytest.mark.parametrize("name", AFFINE)
def test_signs_and_fills_change_affine_ops(name: str, images: dict[int, Image.Image]) -> None:
    img = images[32]
    plus = np.asarray(apply_op(img, name, 5.0, False))
    minus = np.asarray(apply_op(img, name, 5.0, True))
    grey = np.asarray(apply_op(img, name, 5.0, False, fill=128))
    assert not np.array_equal(plus, minus)
    assert not np.array_equal(plus, grey)


def test_translate_moves_by_whole_pixels_and_fills(images: dict[int, Image.Image]) -> None:
    img = images[32]
    source = np.asarray(img)
    shifted = np.asarray(apply_op(img, "translate_x", 3.0, fill=128))  # t = int(3.0 * 32 / 30) = 3
    assert np.array_equal(shifted[:, :-3], source[:, 3:])
    assert (shifted[:, -3:] == 128).all()
    shifted = np.asarray(apply_op(img, "translate_y", 3.0, negate=True))  # t = -3
    assert np.array_equal(shifted[3:], source[:-3])
    assert (shifted[:3] == 0).all()


def test_unsigned_ops_ignore_the_sign(images: dict[int, Image.Image]) -> None:
    img = images[32]
    for name in set(ALL_OPS) - set(SIGNED):
        assert np.array_equal(
            np.asarray(apply_op(img, name, 4.2, False)), np.asarray(apply_op(img, name, 4.2, True))
        )


def test_solarize_and_posterize_values() -> None:
    """Hand-checked pixel values: solarize at threshold 180 and posterize to 3 bits."""
    img = Image.fromarray(np.array([[[0, 179, 180], [200, 255, 100]]] * 2, dtype=np.uint8))
    assert np.array_equal(np.asarray(apply_op(img, "solarize", 3.0))[0], [[0, 179, 75], [55, 0, 100]])
    assert np.array_equal(np.asarray(apply_op(img, "posterize", 2.5))[0], [[0, 160, 160], [192, 224, 96]])
    assert np.array_equal(
        np.asarray(apply_op(img, "autocontrast", 1.0)), np.asarray(ImageOps.autocontrast(img))
    )


def test_bad_input_is_a_user_error(images: dict[int, Image.Image]) -> None:
    with pytest.raises(UserError, match="unknown augmentation op 'blur'; choose from: autocontrast"):
        apply_op(images[32], "blur", 1.0)
    with pytest.raises(UserError, match="square"):
        apply_op(Image.new("RGB", (32, 16)), "rotate", 1.0)
