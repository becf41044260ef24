"""The 95% percentile bootstrap intervals over test images in results.json (``error_ci95``,
``mean_error_ci95``): against an independent resampling written here, on edge cases a wrong
implementation gets wrong, and through the real evaluation (clean, pooled -C blocks, shift sets)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import run_in_process, write_cifar, write_cifar_c, write_cifar_pickle
from test_shift_eval import PixelLogits, eval_args, pixel_logits, shift_root  # noqa: F401  (a fixture)

from augmix_bench.api import evaluate
from augmix_bench.data.names import CORRUPTIONS, SEVERITIES
from augmix_bench.evaluation.bootstrap import error_interval, paired_wrong


def independent_interval(wrong: np.ndarray, resamples: int = 1000, seed: int = 0) -> list[float]:
    """The percentile bootstrap written out: one ``integers(0, n, n)`` row per resample from
    ``default_rng(seed)``, the sorted means, and the 2.5th / 97.5th percentiles by linear interpolation
    between order statistics (position ``q (R - 1)``), in percent."""
    rng = np.random.default_rng(seed)
    n = len(wrong)
    means = sorted(sum(wrong[i] for i in rng.integers(0, n, n)) / n for _ in range(resamples))
    bounds = []
    for q in (0.025, 0.975):
        position = q * (resamples - 1)
        below = math.floor(position)
        above = min(below + 1, resamples - 1)
        bounds.append(100.0 * (means[below] + (position - below) * (means[above] - means[below])))
    return bounds


def test_all_correct_gives_zero_width_and_all_wrong_gives_100() -> None:
    assert error_interval(np.zeros(37)) == [0.0, 0.0]
    assert error_interval(np.ones(37)) == [100.0, 100.0]
    assert error_interval(np.zeros(0)) is None


def test_a_known_vector_gives_the_independent_percentiles() -> None:
    wrong = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], dtype=float)
    expected = independent_interval(wrong)
    assert error_interval(wrong) == pytest.approx(expected, abs=1e-12)
    assert expected[0] < 100.0 * wrong.mean() < expected[1]
    fractions = np.array([0.0, 0.2, 0.4, 1.0, 0.6, 0.0, 0.8, 0.2])  # a headline averaged over 5 blocks
    assert error_interval(fractions) == pytest.approx(independent_interval(fractions), abs=1e-12)
    many = np.random.default_rng(7).random(300)
    assert error_interval(many, seed=1) == pytest.approx(independent_interval(many, seed=1), abs=1e-12)
    assert error_interval(many, seed=1) != pytest.approx(error_interval(many), abs=1e-6)  # the seed matters


def test_the_width_is_that_of_the_mean_not_of_one_image() -> None:
    wrong = (np.arange(4000) % 4 == 0).astype(float)  # 25% wrong
    low, high = error_interval(wrong)
    normal = 2 * 1.959964 * 100.0 * math.sqrt(0.25 * 0.75 / 4000)  # 2.68 points
    assert low < 25.0 < high and abs((high - low) - normal) < 0.15 * normal


def test_paired_wrong_pairs_blocks_of_the_same_images_only() -> None:
    labels = np.array([3, 1, 2, 0])
    blocks = [np.array([True, True, False, False]), np.array([True, False, False, True])]
    assert paired_wrong(blocks, [labels, labels]).tolist() == [0.0, 0.5, 1.0, 0.5]
    assert paired_wrong(blocks, [labels, labels[::-1]]) is None  # different images
    assert paired_wrong([blocks[0], blocks[1][:3]], [labels, labels[:3]]) is None  # different sizes
    assert paired_wrong([], []) is None


def test_evaluation_stores_the_clean_and_the_joint_corruption_interval(tmp_path: Path) -> None:
    root = tmp_path / "data"
    test_x, test_y = write_cifar(root, "cifar10", n_train=10, n_test=30, seed=5)
    rng = np.random.default_rng(5)
    distinct = lambda count: np.stack([rng.permutation(256)[:10] for _ in range(count)])
    test_x[:, 0, :10, 0] = distinct(len(test_x))  # distinct logits per image: a unique argmax, whatever breaks ties
    write_cifar_pickle(root / "cifar-10-batches-py" / "test_batch", test_x, test_y, b"labels")
    write_cifar_c(root / "CIFAR-10-C", test_x, test_y, seed=5)
    for name in CORRUPTIONS:
        blocks = np.load(root / "CIFAR-10-C" / f"{name}.npy")
        blocks[:, 0, :10, 0] = distinct(len(blocks))
        np.save(root / "CIFAR-10-C" / f"{name}.npy", blocks)
    results = evaluate(PixelLogits(), "cifar10", root=root, suites=["clean", "corruptions"], device="cpu", progress=False)
    clean_wrong = (pixel_logits(test_x).argmax(axis=1) != test_y).astype(float)
    assert results["clean"]["error_ci95"] == pytest.approx(independent_interval(clean_wrong), abs=1e-9)
    blocks = np.concatenate([np.load(root / "CIFAR-10-C" / f"{c}.npy") for c in CORRUPTIONS])
    wrong = (pixel_logits(blocks).argmax(axis=1) != np.tile(test_y, len(CORRUPTIONS) * len(SEVERITIES)))
    per_image = wrong.reshape(len(CORRUPTIONS) * len(SEVERITIES), len(test_y)).mean(axis=0)  # images resampled jointly
    interval = results["corruptions"]["mean_error_ci95"]
    assert interval == pytest.approx(independent_interval(per_image), abs=1e-9)
    assert interval[0] <= results["corruptions"]["mean_error"] <= interval[1]
    assert interval != pytest.approx(independent_interval(wrong.astype(float)), abs=1e-3)  # not the pooled images


def test_augmix_eval_writes_each_shift_sets_interval(
    shift_root: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "eval.json"
    result = run_in_process("augmix-eval", *eval_args(shift_root, out, "eval.suites=[clean,shifts]"))
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    images, labels = shift_root["cifar10_1"]
    wrong = (pixel_logits(images).argmax(axis=1) != labels).astype(float)  # 5 of 20 wrong
    assert results["shifts"]["cifar10_1"]["error_ci95"] == pytest.approx(independent_interval(wrong), rel=1e-5)
    # CIFAR-10.2 here is a byte copy of the clean test set: the same images, the same interval
    assert results["shifts"]["cifar10_2"]["error_ci95"] == results["clean"]["error_ci95"]


def test_the_mce_interval_resamples_images_through_the_mce_formula() -> None:
    """ImageNet's headline: each resample recomputes mCE with ``metrics.mce`` from the resampled
    images' per-set errors (not via the linear shortcut the evaluator uses)."""
    from augmix_bench.evaluation.metrics import mce
    from augmix_bench.evaluation.suite import Evaluator, Predictions

    n, rng = 40, np.random.default_rng(3)
    labels = rng.integers(0, 10, n)
    correct = {(c, s): rng.random(n) < 0.3 + 0.1 * s for c in CORRUPTIONS for s in SEVERITIES}

    def predictions(right: np.ndarray) -> Predictions:
        predicted = np.where(right, labels, (labels + 1) % 10)
        return Predictions(np.full(n, 0.5), predicted, labels, predicted[:, None].astype(np.int32), np.zeros(n), np.zeros(n))

    pooled = [predictions(correct[c, s]) for c in CORRUPTIONS for s in SEVERITIES]
    per_corruption = {c: {} for c in CORRUPTIONS}
    interval = Evaluator._mce_interval(per_corruption, pooled, [])

    draws = np.random.default_rng(0)
    values = []
    for _ in range(1000):
        rows = draws.integers(0, n, n)
        values.append(mce({c: [1.0 - correct[c, s][rows].mean() for s in SEVERITIES] for c in CORRUPTIONS}))
    expected = np.percentile(values, [2.5, 97.5])
    assert interval == pytest.approx(list(expected), abs=1e-9)
    full = mce({c: [1.0 - correct[c, s].mean() for s in SEVERITIES] for c in CORRUPTIONS})
    assert interval[0] < full < interval[1]
    assert Evaluator._mce_interval({c: {} for c in CORRUPTIONS[:-1]}, pooled[:-5], []) is None  # not the 15
