"""Metrics against hand-computed values and independent hand-written versions of the reference algorithms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from augmix_bench.evaluation import alexnet
from augmix_bench.data import CORRUPTIONS
from augmix_bench.errors import UserError
from augmix_bench.evaluation.metrics import (
    calibration_bins,
    corruption_errors,
    flip_probability,
    mce,
    normalized_mean,
    relative_corruption_errors,
    relative_mce,
    rms_calibration_error,
    top5_distance,
)


def reference_rms(
    confidence: np.ndarray, correct: np.ndarray, beta: int = 100, skip_last: bool = False
) -> float:
    """Hendrycks' calib_err(p='2'), written out: sort, beta-sized bins, last bin extended to N.

    The reference loop runs over all bins but the last (``skip_last``); with fewer than beta samples
    it has no bin at all and crashes, where the project uses one bin of everything.
    """
    order = np.argsort(confidence)
    conf, corr = confidence[order], correct[order].astype(float)
    n = len(conf)
    bins = [[i * beta, (i + 1) * beta] for i in range(n // beta)] or [[0, n]]
    bins[-1][1] = n
    total = 0.0
    for lo, hi in bins[:-1] if skip_last else bins:
        total += (hi - lo) / n * (np.mean(conf[lo:hi]) - np.mean(corr[lo:hi])) ** 2
    return math.sqrt(total)


@pytest.mark.parametrize("size", [1, 37, 99, 100, 250, 1000, 1234])
@pytest.mark.parametrize("quirk", [False, True])
def test_rms_equals_reference_algorithm(size: int, quirk: bool) -> None:
    rng = np.random.default_rng(size)
    confidence = rng.uniform(0.1, 1.0, size)
    correct = rng.uniform(size=size) < confidence**2
    expected = reference_rms(confidence, correct, skip_last=quirk)
    assert rms_calibration_error(confidence, correct, reference_quirk=quirk) == pytest.approx(
        expected, rel=1e-12, abs=1e-15
    )


def test_rms_hand_computed() -> None:
    confidence = np.array([0.9, 0.6, 0.8, 0.7])
    correct = np.array([True, False, False, True])
    # sorted: conf (0.6, 0.7 | 0.8, 0.9), correct (0, 1 | 0, 1): gaps 0.15 and 0.35
    assert rms_calibration_error(confidence, correct, bin_size=2) == pytest.approx(
        math.sqrt(0.5 * 0.15**2 + 0.5 * 0.35**2)
    )
    assert rms_calibration_error(confidence, correct, bin_size=2, reference_quirk=True) == pytest.approx(
        math.sqrt(0.5 * 0.15**2)
    )
    assert rms_calibration_error(np.zeros(0), np.zeros(0, dtype=bool)) == 0.0


def test_calibration_bins_are_the_rms_bins() -> None:
    confidence = np.array([0.9, 0.6, 0.8, 0.7, 0.95])
    correct = np.array([True, False, False, True, True])
    # sorted: (0.6, 0.7 | 0.8, 0.9, 0.95), correct (0, 1 | 0, 1, 1): the last bin takes the remainder
    bins = calibration_bins(confidence, correct, bin_size=2)
    assert bins["count"] == [2, 3]
    assert bins["confidence"] == pytest.approx([0.65, (0.8 + 0.9 + 0.95) / 3])
    assert bins["accuracy"] == pytest.approx([0.5, 2 / 3])
    rms = math.sqrt(sum(n / 5 * (c - a) ** 2 for c, a, n in zip(bins["confidence"], bins["accuracy"], bins["count"])))
    assert rms_calibration_error(confidence, correct, bin_size=2) == pytest.approx(rms)
    assert calibration_bins(confidence, correct) == {"confidence": [pytest.approx(0.79)], "accuracy": [0.6], "count": [5]}
    assert calibration_bins(np.zeros(0), np.zeros(0, dtype=bool)) == {"confidence": [], "accuracy": [], "count": []}
    with pytest.raises(ValueError, match="bin_size=0"):
        calibration_bins(confidence, correct, bin_size=0)


def alexnet_severity_errors(scale: float = 1.0) -> dict[str, list[float]]:
    """Five unequal severity errors per corruption whose mean is AlexNet's (times ``scale``)."""
    spread = np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    return {c: list(scale * alexnet.CORRUPTION_ERRORS[c] * spread) for c in CORRUPTIONS}


def test_mce_of_alexnet_is_100_and_of_half_is_50() -> None:
    assert mce(alexnet_severity_errors()) == pytest.approx(100.0)
    assert mce(alexnet_severity_errors(0.5)) == pytest.approx(50.0)


def test_mce_ignores_extra_corruptions_and_refuses_missing_ones() -> None:
    errors = {**alexnet_severity_errors(), "spatter": [1.0] * 5}
    assert mce(errors) == pytest.approx(100.0)
    del errors["fog"]
    with pytest.raises(UserError, match="no errors for corruption 'fog'"):
        mce(errors)
    with pytest.raises(UserError, match="expected 5 severity errors"):
        mce({**alexnet_severity_errors(), "fog": [0.5] * 4})


def test_corruption_error_hand_computed() -> None:
    errors = {c: [0.5] * 5 for c in CORRUPTIONS}
    errors["gaussian_noise"] = [0.1, 0.2, 0.3, 0.4, 0.5]
    ce = corruption_errors(errors)
    assert ce["gaussian_noise"] == pytest.approx(100 * 1.5 / (5 * 0.886428))
    assert ce["brightness"] == pytest.approx(100 * 2.5 / (5 * 0.564592))
    assert list(ce) == list(CORRUPTIONS)


def test_relative_mce() -> None:
    # AlexNet relative to itself is 100; no degradation from the clean error is 0.
    assert relative_mce(alexnet_severity_errors(), alexnet.CLEAN_ERROR) == pytest.approx(100.0)
    assert relative_mce({c: [0.3] * 5 for c in CORRUPTIONS}, 0.3) == pytest.approx(0.0)
    relative = relative_corruption_errors({"fog": [0.4, 0.5, 0.6, 0.7, 0.8]}, 0.25, {"fog": 0.8}, 0.4)
    assert relative == {"fog": pytest.approx(100 * (3.0 - 5 * 0.25) / (5 * (0.8 - 0.4)))}


def reference_flip_probability(predictions: np.ndarray, noise: bool) -> float:
    """The reference loop at difficulty 1: compare with the previous frame, or always the first."""
    result = 0.0
    for sequence in predictions:
        flips = []
        previous = sequence[0]
        for prediction in sequence[1:]:
            flips.append(int(previous != prediction))
            if not noise:
                previous = prediction
        result += np.mean(flips) / len(predictions)
    return result


def test_flip_probability_hand_computed() -> None:
    predictions = np.array([[3, 1, 3, 3], [2, 2, 2, 2]])
    # sequence 1: 3->1, 1->3 flip, 3->3 not (2/3); noise: 1 != 3, 3, 3 (1/3); sequence 2 never flips
    assert flip_probability(predictions) == pytest.approx((2 / 3 + 0) / 2)
    assert flip_probability(predictions, noise=True) == pytest.approx((1 / 3 + 0) / 2)


@pytest.mark.parametrize("noise", [False, True])
def test_flip_probability_equals_reference_loop(noise: bool) -> None:
    predictions = np.random.default_rng(3).integers(0, 4, size=(23, 31))
    assert flip_probability(predictions, noise) == pytest.approx(
        reference_flip_probability(predictions, noise)
    )


def test_flip_probability_needs_two_frames() -> None:
    with pytest.raises(UserError, match="at least 2 frames"):
        flip_probability(np.zeros((4, 1), dtype=int))


def reference_top5_distance(logits: np.ndarray, noise: bool) -> float:
    """T5D from full rankings, as the reference computes it: ranks per frame (1 = best), sigma =
    later ranks of the earlier frame's classes in its rank order, d = sum_{i<=5} |min(i, 6) - min(sigma_i, 6)|
    (the cumulative sum of [0, 1, 1, 1, 1, 1, 0, ...] evaluated at i - 1 and sigma_i - 1)."""
    classes = logits.shape[-1]
    capped = np.cumsum([0] + [1] * 5 + [0] * (classes - 6))
    result = 0.0
    for sequence in logits:
        ranks = np.argsort(np.argsort(-sequence, axis=1, kind="stable"), axis=1) + 1
        distances = []
        earlier = ranks[0]
        for later in ranks[1:]:
            sigma = later[np.argsort(earlier)]
            distances.append(np.abs(capped[:5] - capped[sigma - 1][:5]).sum())
            if not noise:
                earlier = later
        result += np.mean(distances) / len(logits)
    return result


def test_top5_distance_hand_computed() -> None:
    top5 = np.array([[[0, 1, 2, 3, 4], [1, 0, 2, 3, 4], [5, 6, 7, 8, 9], [4, 3, 2, 1, 0]]])
    # consecutive: a swap of ranks 1 and 2 costs 2; disjoint top-5s cost 5+4+3+2+1 = 15 (twice)
    assert top5_distance(top5) == pytest.approx((2 + 15 + 15) / 3)
    # against the first frame: 2, 15, and the reversal 4+2+0+2+4 = 12
    assert top5_distance(top5, noise=True) == pytest.approx((2 + 15 + 12) / 3)


@pytest.mark.parametrize("noise", [False, True])
def test_top5_distance_equals_full_ranking_reference(noise: bool) -> None:
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(9, 12, 10)).cumsum(axis=1)  # drifting logits: rankings change gradually
    top5 = np.argsort(-logits, axis=2, kind="stable")[..., :5]
    assert top5_distance(top5, noise) == pytest.approx(reference_top5_distance(logits, noise))


def test_top5_distance_refuses_other_shapes() -> None:
    with pytest.raises(UserError, match=r"shape \(sequences, frames, 5\)"):
        top5_distance(np.zeros((2, 3, 4), dtype=int))


def test_normalized_mean() -> None:
    assert normalized_mean({"a": 0.2, "b": 0.3, "c": 9.0}, {"a": 0.4, "b": 0.6}) == pytest.approx(50.0)
    with pytest.raises(UserError, match="no value for 'b'"):
        normalized_mean({"a": 0.2}, {"a": 0.4, "b": 0.6})


def test_results_report_all_bins_and_the_reference_value() -> None:
    """results.json's clean/corruptions entries hold both RMS values: 250 samples are bins of
    100, 150; the reference's loop keeps only the first."""
    from augmix_bench.evaluation.suite import Predictions, summarize

    confidence = np.concatenate([np.full(100, 0.5), np.full(150, 0.9)])
    labels = np.zeros(250, dtype=np.int64)
    predicted = np.zeros(250, dtype=np.int64)
    predicted[:20] = 1  # bin 1: accuracy 0.8 (gap -0.3); bin 2: accuracy 1.0 (gap -0.1)
    entry = summarize(Predictions(confidence, predicted, labels, np.zeros((250, 1), dtype=np.int32), np.zeros(250), np.zeros(250)))
    assert entry["error"] == pytest.approx(8.0)
    assert entry["rms_calibration_error"] == pytest.approx(100 * math.sqrt(0.4 * 0.3**2 + 0.6 * 0.1**2))
    assert entry["rms_calibration_error_reference"] == pytest.approx(100 * math.sqrt(0.4 * 0.3**2))
