"""NLL, Brier score and ECE: hand-computed examples, torch / torchmetrics / a NumPy loop as oracles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassCalibrationError

from augmix_bench.data.arrays import ArrayTensorDataset
from augmix_bench.data.shifts import cifar10_1
from augmix_bench.evaluation.uncertainty import (
    brier_per_sample,
    brier_score,
    expected_calibration_error,
    negative_log_likelihood,
    nll_per_sample,
    uncertainty_summary,
)


def random_logits(samples: int, classes: int, scale: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(samples, classes, generator=generator) * scale
    return logits, torch.randint(0, classes, (samples,), generator=generator)


# ---------------------------------------------------------------- hand-computed


def test_nll_of_a_hand_computed_example() -> None:
    # logits (0, ln 3) -> softmax (1/4, 3/4); label 1 costs -ln(3/4) = ln(4/3), label 0 costs ln 4:
    # mean (ln(4/3) + ln 4) / 2 = ln(16/3) / 2
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)]], dtype=torch.float64)
    labels = torch.tensor([1, 0])
    assert negative_log_likelihood(logits, labels) == pytest.approx(math.log(16 / 3) / 2, rel=1e-12)
    assert nll_per_sample(logits, labels).tolist() == pytest.approx([math.log(4 / 3), math.log(4)], rel=1e-12)
    # from probabilities: -(ln 0.75 + ln 0.5) / 2
    probs = np.array([[0.25, 0.75], [0.5, 0.5]])
    assert negative_log_likelihood(probs, np.array([1, 0]), kind="probs") == pytest.approx(
        -(math.log(0.75) + math.log(0.5)) / 2, rel=1e-12
    )
    # a label of probability 0 is infinitely surprising
    assert negative_log_likelihood(np.array([[1.0, 0.0]]), np.array([1]), kind="probs") == math.inf


def test_brier_score_of_a_hand_computed_example() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    labels = np.array([0, 2, 1])
    # label 0: 0.3^2 + 0.2^2 + 0.1^2 = 0.09 + 0.04 + 0.01 = 0.14
    # label 2: 0.7^2 + 0.2^2 + 0.9^2 = 0.49 + 0.04 + 0.81 = 1.34
    # certain and wrong: 1^2 + 1^2 = 2
    assert brier_per_sample(probs, labels).tolist() == pytest.approx([0.14, 1.34, 2.0], abs=1e-12)
    assert brier_score(probs, labels) == pytest.approx((0.14 + 1.34 + 2.0) / 3, abs=1e-12)
    assert brier_score(np.array([[0.0, 1.0]]), np.array([1])) == 0.0


def test_ece_of_a_hand_computed_example() -> None:
    confidences = [0.1, 0.3, 0.9, 0.9]
    correct = [True, False, True, False]
    # 15 bins of width 1/15: 0.1 lies in [1/15, 2/15), 0.3 in [4/15, 5/15), both 0.9 in [13/15, 14/15).
    # ECE = (1 * |1 - 0.1| + 1 * |0 - 0.3| + 2 * |0.5 - 0.9|) / 4 = (0.9 + 0.3 + 0.8) / 4 = 0.5
    assert expected_calibration_error(confidences, correct) == pytest.approx(0.5, abs=1e-12)
    # one bin: |accuracy 0.5 - mean confidence 0.55| = 0.05
    assert expected_calibration_error(confidences, correct, bins=1) == pytest.approx(0.05, abs=1e-12)
    # perfectly calibrated: confidence 0.75, three of four right
    assert expected_calibration_error([0.75] * 4, [1, 1, 1, 0]) == 0.0


def test_ece_bins_are_closed_on_the_left_as_torchmetrics_does() -> None:
    confidences = torch.tensor([0.25, 0.5, 0.75])
    correct = torch.tensor([True, False, True])
    # 2 bins [0, 0.5) and [0.5, 1): 0.5 joins 0.75 ->
    #   (1 * |1 - 0.25| + 2 * |0.5 - 0.625|) / 3 = (0.75 + 0.25) / 3 = 1/3
    # (Guo et al.'s (0, 0.5], (0.5, 1] would give (2 * |0.5 - 0.375| + 1 * |1 - 0.75|) / 3 = 1/6)
    assert expected_calibration_error(confidences, correct, bins=2) == pytest.approx(1 / 3, abs=1e-12)
    oracle = MulticlassCalibrationError(num_classes=2, n_bins=2, norm="l1")
    probs = torch.stack([confidences, 1 - confidences], dim=1)
    targets = torch.where(correct, 0, 1)
    assert float(oracle(probs, targets)) == pytest.approx(1 / 3, abs=1e-6)


def test_ece_compares_confidences_with_float32_edges_as_torchmetrics_does() -> None:
    # The 9th float32 edge, linspace(0, 1, 16)[8] = 0.53333330154..., lies below 8/15 = 0.53333333...
    edge = float(torch.linspace(0, 1, 16, dtype=torch.float32)[8])
    assert edge == 0.5333333015441895 < 8 / 15
    # a confidence equal to it opens bin 8 (a float64 edge 8/15 would leave it in bin 7 with 0.5):
    # (|1 - edge| + |0 - 0.5|) / 2, not |1 - (edge + 0.5)| / 2
    expected = ((1 - edge) + 0.5) / 2
    assert expected_calibration_error([edge, 0.5], [True, False]) == pytest.approx(expected, abs=1e-12)
    probs = torch.tensor([[edge, 1 - edge], [0.5, 0.5]])
    oracle = MulticlassCalibrationError(num_classes=2, n_bins=15, norm="l1")
    assert float(oracle(probs, torch.tensor([0, 1]))) == pytest.approx(expected, abs=1e-6)


def test_ece_puts_a_confidence_of_exactly_one_in_a_bin_of_its_own() -> None:
    # 1.0 (wrong) and 0.95 (right): own bins (|0 - 1| + |1 - 0.95|) / 2 = 0.525;
    # sharing the last bin would give |0.5 - 0.975| = 0.475
    assert expected_calibration_error([1.0, 0.95], [False, True]) == pytest.approx(0.525, abs=1e-12)
    probs = torch.tensor([[1.0, 0.0], [0.95, 0.05]])
    oracle = MulticlassCalibrationError(num_classes=2, n_bins=15, norm="l1")
    assert float(oracle(probs, torch.tensor([1, 0]))) == pytest.approx(0.525, abs=1e-6)


# ---------------------------------------------------------------- oracles


@pytest.mark.parametrize(("classes", "scale"), [(3, 1.0), (10, 3.0), (200, 4.0), (10, 60.0)])
def test_ece_equals_torchmetrics(classes: int, scale: float) -> None:
    logits, labels = random_logits(3000, classes, scale, seed=classes)
    oracle = MulticlassCalibrationError(num_classes=classes, n_bins=15, norm="l1")
    expected = float(oracle(logits, labels))
    summary = uncertainty_summary(logits, labels)
    assert summary["ece"] == pytest.approx(100.0 * expected, abs=1e-4)
    probs = torch.softmax(logits, dim=1)
    confidence, predicted = probs.max(dim=1)
    assert expected_calibration_error(confidence, predicted == labels) == pytest.approx(expected, abs=1e-6)
    if scale == 60.0:  # saturated: many confidences are exactly 1.0 in float32
        assert int((confidence == 1.0).sum()) > 100


def test_nll_equals_torch_cross_entropy() -> None:
    logits, labels = random_logits(500, 7, 2.5, seed=1)
    expected = float(torch.nn.functional.cross_entropy(logits.double(), labels))
    assert negative_log_likelihood(logits, labels) == pytest.approx(expected, rel=1e-12)
    assert negative_log_likelihood(logits.numpy(), labels.numpy()) == pytest.approx(expected, rel=1e-12)
    probs = torch.softmax(logits.double(), dim=1)
    assert negative_log_likelihood(probs, labels, kind="probs") == pytest.approx(expected, rel=1e-10)
    assert uncertainty_summary(logits, labels)["nll"] == pytest.approx(expected, rel=1e-12)


def test_brier_equals_a_numpy_loop() -> None:
    logits, labels = random_logits(300, 5, 1.5, seed=2)
    probs = torch.softmax(logits.double(), dim=1).numpy()
    total = 0.0
    for row, label in zip(probs, labels.tolist()):
        for c, p in enumerate(row):
            total += (p - (1.0 if c == label else 0.0)) ** 2
    assert brier_score(probs, labels) == pytest.approx(total / len(probs), rel=1e-12)
    assert uncertainty_summary(logits, labels)["brier"] == pytest.approx(total / len(probs), rel=1e-9)


def test_a_shift_set_equal_to_the_clean_set_gives_identical_numbers(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 40)
    (tmp_path / "CIFAR-10.1").mkdir()
    np.save(tmp_path / "CIFAR-10.1" / "cifar10.1_v6_data.npy", images)
    np.save(tmp_path / "CIFAR-10.1" / "cifar10.1_v6_labels.npy", labels.astype(np.int32))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(4, 10))

    def summary(dataset) -> dict[str, float]:
        outputs, targets = [], []
        with torch.no_grad():
            for batch, batch_labels in dataset.batches(16):
                outputs.append(model(batch.float() / 255 - 0.5))
                targets.append(batch_labels)
        return uncertainty_summary(torch.cat(outputs), torch.cat(targets))

    clean = summary(ArrayTensorDataset(images, labels.astype(np.int64)))
    shifted = summary(cifar10_1(tmp_path))
    assert shifted == clean
    assert set(clean) == {"nll", "brier", "ece"} and 0 <= clean["ece"] <= 100 and 0 <= clean["brier"] <= 2


# ---------------------------------------------------------------- refusals


def test_bad_inputs_are_refused_in_plain_words() -> None:
    logits = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="kind='log' is invalid; accepted: logits, probs"):
        negative_log_likelihood(logits, torch.tensor([0, 1]), kind="log")
    with pytest.raises(ValueError, match=r"labels range 0\.\.3; expected 0\.\.2"):
        negative_log_likelihood(logits, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\) are invalid; expected \(2,\)"):
        negative_log_likelihood(logits, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="expected integer class indices"):
        negative_log_likelihood(logits, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="were logits passed"):
        brier_score(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="must sum to 1"):
        brier_score(torch.tensor([[0.2, 0.2]]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"logits of shape \(0, 3\) are invalid"):
        uncertainty_summary(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="bins=0 is invalid"):
        expected_calibration_error([0.5], [True], bins=0)
    with pytest.raises(ValueError, match="no samples"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match=r"confidences must lie in \[0, 1\]"):
        expected_calibration_error([1.5], [True])
    with pytest.raises(ValueError, match="2 correctness values for 1 confidences"):
        expected_calibration_error([0.5], [True, False])
