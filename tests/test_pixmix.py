"""PixMix against an independent transcription of the authors' code (tests/reference_pixmix.py).

Tolerances: with the same draws (a legacy RandomState replayed as the reference's global NumPy
generator) outputs are bit-identical (the transcription computes in NumPy float32 but rounds ``pow``
with torch, as the reference does; NumPy's own float32 ``power`` would differ by up to ~1.3e-6 after
four rounds). Statistics over 1000 images agree with the transcription within 5 standard errors of
the difference.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augmix_bench.augment.ops import ALL_OPS, AUGMIX_OPS, get_op
from augmix_bench.augment.pixmix import (
    MIXINGS,
    PIXMIX_SETTINGS,
    MixingSet,
    PixMix,
    PixMixDraw,
    apply_pixmix,
    draw_pixmix,
    draw_weights,
    mix_add,
    mix_multiply,
)
from reference_augmix import structured_image
from reference_pixmix import reference_mixing_picture, reference_pixmix


def _specs(all_ops: bool) -> tuple:
    return tuple(get_op(name) for name in (ALL_OPS if all_ops else AUGMIX_OPS))


def test_settings_are_the_references() -> None:
    # andyzoujm/pixmix@f867e87: cifar.py --beta 3 --k 4 --aug-severity 3, mixing set Resize(36) +
    # RandomCrop(32), Normalize([0.5]*3, [0.5]*3); imagenet.py --beta 4 --k 4 --aug-severity 1,
    # Resize(256) + RandomCrop(224), ImageNet mean/std; README recipes pass --all-ops.
    cifar, imagenet = PIXMIX_SETTINGS["cifar"], PIXMIX_SETTINGS["imagenet"]
    assert (cifar.image_size, cifar.mixing_resize, cifar.severity, cifar.beta, cifar.k, cifar.all_ops) == (
        32, 36, 3, 3, 4, True
    )
    assert (cifar.mean, cifar.std) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert (imagenet.image_size, imagenet.mixing_resize, imagenet.severity, imagenet.beta, imagenet.k) == (
        224, 256, 1, 4, 4
    )
    assert imagenet.all_ops is True
    assert (imagenet.mean, imagenet.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert set(PIXMIX_SETTINGS) == {"cifar", "imagenet"}


def test_op_sets_and_mixings_are_the_references() -> None:
    # pixmix_utils.augmentations / augmentations_all and mixings = [add, multiply], in that order.
    assert MIXINGS == ("add", "multiply")
    folder_free = PixMix.__new__(PixMix)
    PixMix.__init__(folder_free, mixing_set=None, all_ops=False)  # type: ignore[arg-type]
    assert folder_free.ops == (
        "autocontrast", "equalize", "posterize", "rotate", "solarize", "shear_x", "shear_y",
        "translate_x", "translate_y",
    )
    PixMix.__init__(folder_free, mixing_set=None, all_ops=True)  # type: ignore[arg-type]
    assert folder_free.ops[9:] == ("color", "contrast", "brightness", "sharpness")
    assert (folder_free.k, folder_free.beta, folder_free.severity) == (4, 3.0, 3.0)


def test_mixings_by_hand() -> None:
    x1 = torch.tensor([0.8, 0.0, 1.0])
    x2 = torch.tensor([0.2, 0.5, 0.0])
    # add: (a (2 x1 - 1) + b (2 x2 - 1) + 1) / 2
    added = mix_add(x1, x2, 0.5, 0.25)
    assert added.tolist() == pytest.approx([(0.5 * 0.6 + 0.25 * -0.6 + 1) / 2, (0.5 * -1 + 0 + 1) / 2,
                                            (0.5 + 0.25 * -1 + 1) / 2])
    # multiply: (2 x1)^a * max(2 x2, 1e-37)^b / 2; a zero partner with b < 0 stays finite
    product = mix_multiply(x1, x2, 1.5, -0.5)
    assert product[0].item() == pytest.approx(1.6**1.5 * 0.4**-0.5 / 2, rel=1e-6)
    assert product[1].item() == 0.0
    assert product[2].item() == pytest.approx(2.0**1.5 * (1e-37) ** -0.5 / 2, rel=1e-5)
    assert math.isfinite(product[2].item())


def test_weights_regimes() -> None:
    # get_ab: half the time a ~ Beta(beta, 1), b ~ Beta(1, beta) (both in (0, 1)); otherwise
    # a = 1 + Beta(1, beta) in (1, 2) and b = -Beta(1, beta) in (-1, 0).
    rng = np.random.default_rng(0)
    pairs = np.array([draw_weights(rng, 3.0) for _ in range(4000)])
    first = pairs[:, 1] > 0
    assert 0.46 < first.mean() < 0.54
    assert np.all((pairs[first, 0] > 0) & (pairs[first, 0] < 1))
    assert np.all((pairs[~first, 0] > 1) & (pairs[~first, 0] < 2) & (pairs[~first, 1] < 0))
    # E[Beta(3, 1)] = 3/4, E[Beta(1, 3)] = 1/4
    assert pairs[first, 0].mean() == pytest.approx(0.75, abs=0.02)
    assert pairs[first, 1].mean() == pytest.approx(0.25, abs=0.02)
    assert pairs[~first, 0].mean() == pytest.approx(1.25, abs=0.02)
    assert pairs[~first, 1].mean() == pytest.approx(-0.25, abs=0.02)
    assert all(np.float32(v) == v for v in pairs[:50].ravel())  # float32 values


@pytest.mark.parametrize("setting,draws", [("cifar", 120), ("imagenet", 16)])
def test_same_draws_same_output_as_the_transcription(setting: str, draws: int) -> None:
    s = PIXMIX_SETTINGS[setting]
    orig = structured_image(s.image_size, 1)
    picture = structured_image(s.image_size, 7).transpose(Image.ROTATE_90)
    multiplied = 0
    for seed in range(draws):
        draw = draw_pixmix(np.random.RandomState(seed), s.k, s.beta, s.severity, _specs(s.all_ops))
        ours = apply_pixmix(orig, picture, draw, s.mean, s.std)
        theirs, _, trace = reference_pixmix(
            orig, picture, np.random.RandomState(seed), s.k, s.beta, s.severity, s.all_ops, s.mean, s.std
        )
        assert [step.mixing for step in draw.rounds] == trace.mixings
        assert [("mixing" if step.partner is None else "augmented") for step in draw.rounds] == trace.partners
        assert (draw.start is not None) == trace.start_augmented
        assert ours.dtype == torch.float32 and ours.shape == (3, s.image_size, s.image_size)
        assert torch.equal(ours, torch.from_numpy(theirs)), (seed, (ours - torch.from_numpy(theirs)).abs().max())
        multiplied += "multiply" in trace.mixings
    assert multiplied >= draws // 4


def _image_statistics(rounds: list[int], starts: list[bool], partners: list[str], mixings: list[str],
                      changes: list[float]) -> dict[str, np.ndarray]:
    stats = {f"rounds={n}": np.array([r == n for r in rounds], dtype=float) for n in range(5)}
    stats["start_augmented"] = np.array(starts, dtype=float)
    stats["partner_is_mixing_picture"] = np.array([p == "mixing" for p in partners], dtype=float)
    stats["mixing_is_multiply"] = np.array([m == "multiply" for m in mixings], dtype=float)
    stats["mean_abs_change"] = np.array(changes)
    return stats


def test_statistics_match_the_transcription_over_1000_images() -> None:
    s = PIXMIX_SETTINGS["cifar"]
    orig = structured_image(32, 3)
    picture = structured_image(32, 9).transpose(Image.FLIP_TOP_BOTTOM)
    clean = np.asarray(orig, dtype=np.float32) / 255
    images = 1000
    rng = np.random.default_rng(5)
    rounds, starts, partners, mixings, changes = [], [], [], [], []
    for _ in range(images):
        draw = draw_pixmix(rng, s.k, s.beta, s.severity, _specs(True))
        unit = apply_pixmix(orig, picture, draw, s.mean, s.std).numpy().transpose(1, 2, 0) * 0.5 + 0.5
        rounds.append(len(draw.rounds))
        starts.append(draw.start is not None)
        partners += ["mixing" if step.partner is None else "augmented" for step in draw.rounds]
        mixings += [step.mixing for step in draw.rounds]
        changes.append(float(np.abs(unit - clean).mean()))
    mine = _image_statistics(rounds, starts, partners, mixings, changes)
    np_random = np.random.RandomState(17)
    rounds, starts, partners, mixings, changes = [], [], [], [], []
    for _ in range(images):
        _, unit, trace = reference_pixmix(orig, picture, np_random, s.k, s.beta, s.severity, True, s.mean, s.std)
        rounds.append(len(trace.mixings))
        starts.append(trace.start_augmented)
        partners += trace.partners
        mixings += trace.mixings
        changes.append(float(np.abs(unit - clean).mean()))
    theirs = _image_statistics(rounds, starts, partners, mixings, changes)
    for name in mine:
        a, b = mine[name], theirs[name]
        error = math.sqrt(a.var() / len(a) + b.var() / len(b))
        assert abs(a.mean() - b.mean()) < 5 * error, (name, a.mean(), b.mean(), error)
    for n in range(5):  # rounds ~ Uniform{0..4}: 1/5 each
        assert abs(mine[f"rounds={n}"].mean() - 0.2) < 5 * math.sqrt(0.16 / images)
    assert mine["mean_abs_change"].mean() > 0.05


def _write_images(folder: Path) -> dict[str, Image.Image]:
    written = {}
    pictures = {
        "a.png": structured_image(50, 1).resize((60, 45)),
        "deep/er/b.JPG": structured_image(40, 2),
        "deep/c.bmp": structured_image(30, 3).resize((40, 80)),
        "d.webp": structured_image(48, 4),
        "e.tif": structured_image(36, 5).convert("L"),
        "f.gif": structured_image(44, 6).convert("P"),
    }
    for name, img in pictures.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=95) if name.endswith(("JPG", "webp")) else img.save(path)
        written[str(path)] = Image.open(path)
    (folder / "notes.txt").write_text("not an image")
    (folder / "deep" / "labels.csv").write_text("x,y")
    return written


def test_mixing_set_reads_every_image_recursively_and_preprocesses_like_the_reference(tmp_path: Path) -> None:
    written = _write_images(tmp_path)
    mixing_set = MixingSet(tmp_path, 32)
    assert sorted(mixing_set.paths) == sorted(written) and len(mixing_set) == 6
    assert mixing_set.resize == 36
    for index, path in enumerate(mixing_set.paths):
        for seed in range(3):
            picture = mixing_set.load(index, np.random.default_rng(seed))
            replay = np.random.default_rng(seed)
            source = written[path]
            short = min(source.size)
            full_w, full_h = (36, int(36 * source.size[1] / short)) if source.size[0] <= source.size[1] else (
                int(36 * source.size[0] / short), 36)
            top = int(replay.integers(0, full_h - 32 + 1))
            left = int(replay.integers(0, full_w - 32 + 1))
            expected = reference_mixing_picture(source, 36, 32, top, left)
            assert picture.mode == "RGB" and picture.size == (32, 32)
            assert np.array_equal(np.asarray(picture), np.asarray(expected)), (path, seed)
    imagenet_set = MixingSet(tmp_path, 224)
    assert imagenet_set.resize == 256 and imagenet_set.sample(np.random.default_rng(0)).size == (224, 224)


def test_mixing_set_draws_pictures_and_crops_uniformly(tmp_path: Path) -> None:
    structured_image(40, 1).save(tmp_path / "one.png")
    structured_image(40, 2).save(tmp_path / "two.png")
    structured_image(40, 3).save(tmp_path / "three.png")
    mixing_set = MixingSet(tmp_path, 32)
    rng = np.random.default_rng(8)
    counts = np.zeros(3)
    tops = np.zeros(5)  # Resize(36) of a 40x40 image: offsets 0..4
    for _ in range(1500):
        replay_state = rng.bit_generator.state
        mixing_set.sample(rng)
        replay = np.random.default_rng()
        replay.bit_generator.state = replay_state
        counts[int(replay.integers(0, 3))] += 1
        tops[int(replay.integers(0, 5))] += 1
    assert np.all(np.abs(counts / 1500 - 1 / 3) < 5 * math.sqrt(2 / 9 / 1500))
    assert np.all(np.abs(tops / 1500 - 1 / 5) < 5 * math.sqrt(4 / 25 / 1500))


def _one_line_error(folder: str | os.PathLike[str], fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        MixingSet(folder, 32)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"augmentation.mixing_set={str(folder)!r}: ")
    assert fragment in message


def test_bad_mixing_sets_are_refused_in_one_line(tmp_path: Path) -> None:
    _one_line_error(tmp_path / "missing", "no such folder")
    (tmp_path / "file.png").write_bytes(b"x")
    _one_line_error(tmp_path / "file.png", "not a folder")
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no pictures here")
    _one_line_error(empty, "holds no image files")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"\x89PNG but not really")
    _one_line_error(broken, "cannot be read as an image")


def test_pixmix_callable_draws_the_picture_then_the_mixing(tmp_path: Path) -> None:
    for seed in range(3):
        structured_image(40, seed).save(tmp_path / f"{seed}.png")
    mixing_set = MixingSet(tmp_path, 32)
    pixmix = PixMix.from_settings(mixing_set, PIXMIX_SETTINGS["cifar"])
    orig = structured_image(32, 11)
    for seed in range(10):
        out = pixmix(orig, np.random.default_rng(seed))
        replay = np.random.default_rng(seed)
        picture = mixing_set.sample(replay)
        draw = pixmix.draw(replay)
        assert isinstance(draw, PixMixDraw)
        assert torch.equal(out, apply_pixmix(orig, picture, draw, (0.5,) * 3, (0.5,) * 3))
        assert out.min() >= -1 and out.max() <= 1
    assert pixmix(orig.convert("L"), np.random.default_rng(0)).shape == (3, 32, 32)


def test_bad_pixmix_options_are_refused(tmp_path: Path) -> None:
    structured_image(40, 0).save(tmp_path / "a.png")
    mixing_set = MixingSet(tmp_path, 32)
    with pytest.raises(ValueError, match=r"augmentation.k=-1 is invalid"):
        PixMix(mixing_set, k=-1)
    with pytest.raises(ValueError, match=r"augmentation.beta=0 is invalid"):
        PixMix(mixing_set, beta=0)
    with pytest.raises(ValueError, match=r"augmentation.severity=11 is invalid; accepted: a number in \(0.1, 10\]"):
        PixMix(mixing_set, severity=11)
    with pytest.raises(ValueError, match=r"no reference resize; pass resize="):
        MixingSet(tmp_path, 64)
    with pytest.raises(ValueError, match=r"one size"):
        apply_pixmix(structured_image(32, 0), structured_image(40, 0), PixMixDraw(None, ()), (0.5,) * 3, (0.5,) * 3)
