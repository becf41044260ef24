"""Uncertainty metrics of a classifier's predicted distribution: NLL, Brier score and ECE.

Units: ``negative_log_likelihood`` is in nats (natural log), ``brier_score`` is the multi-class
Brier score in [0, 2], ``expected_calibration_error`` is a fraction in [0, 1] (like
``metrics.rms_calibration_error``). ``uncertainty_summary`` returns what ``results.json`` stores:
NLL in nats, Brier as is, and ECE in percent (results.json keeps errors and calibration errors
in percent).

Everything is computed in float64 on the inputs' device; inputs may be torch tensors or NumPy arrays.
For a set too large to hold all logits, ``nll_per_sample`` and ``brier_per_sample`` give per-image
values to keep batch by batch; their means are the NLL and the Brier score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: Equal-width bins of the ECE (Guo et al. 2017).
ECE_BINS = 15
#: How far from 1 a row of probabilities may sum (float16/float32 softmax rounding is far smaller).
PROBABILITY_TOLERANCE = 1e-3


def _tensor(values: Any, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach()
    try:
        return torch.as_tensor(np.asarray(values))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a torch tensor or a NumPy array ({exc})") from None


def _checked(scores: Any, labels: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``scores`` (N, C) as float64 and ``labels`` (N,) as int64 on the same device, or a ValueError."""
    scores, labels = _tensor(scores, name), _tensor(labels, "labels")
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"{name} of shape {tuple(scores.shape)} are invalid; expected (samples >= 1, classes >= 1)")
    if labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
        raise ValueError(f"labels of shape {tuple(labels.shape)} are invalid; expected ({scores.shape[0]},)")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise ValueError(f"labels of dtype {labels.dtype} are invalid; expected integer class indices")
    labels = labels.to(device=scores.device, dtype=torch.int64)
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= scores.shape[1]:
        raise ValueError(f"labels range {low}..{high}; expected 0..{scores.shape[1] - 1}")
    scores = scores.to(torch.float64)
    if not torch.isfinite(scores).all():
        raise ValueError(f"{name} contain NaN or infinite values; expected finite numbers")
    return scores, labels


def _checked_probabilities(probs: torch.Tensor) -> torch.Tensor:
    if (probs < 0).any() or (probs > 1).any():
        raise ValueError("probabilities must lie in [0, 1] (were logits passed? use kind='logits')")
    worst = float((probs.sum(dim=1) - 1).abs().max())
    if worst > PROBABILITY_TOLERANCE:
        raise ValueError(f"probability rows must sum to 1; one is off by {worst:.3g} (were logits passed?)")
    return probs


def nll_per_sample(logits: Any, labels: Any) -> torch.Tensor:
    """``-log softmax(logits)[label]`` for each row of ``logits`` (N, C): float64 (N,), in nats."""
    logits, labels = _checked(logits, labels, "logits")
    return -torch.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]


def brier_per_sample(probs: Any, labels: Any) -> torch.Tensor:
    """``sum_c (probs[c] - onehot(label)[c])^2`` for each row of ``probs`` (N, C): float64 (N,) in [0, 2]."""
    probs, labels = _checked(probs, labels, "probs")
    probs = _checked_probabilities(probs)
    onehot = torch.nn.functional.one_hot(labels, probs.shape[1]).to(probs.dtype)
    return ((probs - onehot) ** 2).sum(dim=1)


def negative_log_likelihood(scores: Any, labels: Any, kind: str = "logits") -> float:
    """Mean negative log-likelihood of ``labels`` (natural log, nats) under ``scores`` (N, C).

    ``kind="logits"`` (the default) takes unnormalized scores and applies log-softmax, which equals
    ``torch.nn.functional.cross_entropy``; ``kind="probs"`` takes probabilities (rows summing to 1)
    and averages ``-log p[label]``, which is infinite where a label has probability 0.
    """
    if kind == "logits":
        return float(nll_per_sample(scores, labels).mean())
    if kind == "probs":
        probs, labels = _checked(scores, labels, "probs")
        probs = _checked_probabilities(probs)
        return float(-torch.log(probs.gather(1, labels[:, None])).mean())
    raise ValueError(f"kind={kind!r} is invalid; accepted: logits, probs")


def brier_score(probs: Any, labels: Any) -> float:
    """Multi-class Brier score: the mean over samples of ``sum_c (p_c - onehot_c)^2``, in [0, 2].

    ``probs`` (N, C) are probabilities (rows summing to 1); 0 is a certain correct prediction, 2 a
    certain wrong one.
    """
    return float(brier_per_sample(probs, labels).mean())


def expected_calibration_error(confidences: Any, correct: Any, bins: int = ECE_BINS) -> float:
    """Expected calibration error (Guo et al. 2017) as a fraction in [0, 1].

    ``ECE = sum_b (n_b / N) * |acc_b - conf_b|`` over ``bins`` equal-width confidence bins, where
    ``conf_b`` is the mean confidence and ``acc_b`` the fraction correct of the ``n_b`` samples in
    bin ``b`` (empty bins add nothing). ``confidences`` are usually the max softmax probabilities
    and ``correct`` whether the argmax equals the label.

    Binning follows torchmetrics' ``MulticlassCalibrationError`` (norm ``l1``) exactly: the edges
    are ``torch.linspace(0, 1, bins + 1)`` in float32, the confidences are compared as float32, and
    a bin holds ``edge_k <= confidence < edge_k+1`` (closed on the left, unlike the paper's
    ``((k-1)/M, k/M]``); a confidence of exactly 1.0 forms a bin of its own. Bin means are averaged
    in float64.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins={bins!r} is invalid; accepted: an integer >= 1")
    confidence = _tensor(confidences, "confidences").reshape(-1).to(torch.float64)
    hits = _tensor(correct, "correct").reshape(-1).to(device=confidence.device, dtype=torch.float64)
    if confidence.numel() == 0:
        raise ValueError("no samples: expected at least one confidence")
    if hits.numel() != confidence.numel():
        raise ValueError(f"{hits.numel()} correctness values for {confidence.numel()} confidences; expected as many")
    if not ((confidence >= 0) & (confidence <= 1)).all():
        raise ValueError("confidences must lie in [0, 1]")
    if not ((hits == 0) | (hits == 1)).all():
        raise ValueError("correct must hold booleans or 0/1")
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float32, device=confidence.device)
    index = torch.bucketize(confidence.to(torch.float32), edges, right=True) - 1
    confidence_sums = torch.zeros(bins + 1, dtype=torch.float64, device=confidence.device)
    hit_sums = torch.zeros_like(confidence_sums)
    confidence_sums.index_add_(0, index, confidence)
    hit_sums.index_add_(0, index, hits)
    # n_b / N * |acc_b - conf_b| = |sum of hits_b - sum of confidences_b| / N
    return float((hit_sums - confidence_sums).abs().sum() / confidence.numel())


def uncertainty_summary(logits: Any, labels: Any) -> dict[str, float]:
    """``{"nll": nats, "brier": [0, 2], "ece": percent}`` of ``logits`` (N, C) against ``labels``.

    Probabilities are the float64 softmax of ``logits``; the ECE uses their maximum as confidence
    and their argmax (first one on ties) as prediction. For ImageNet-R/-A, pass the restricted
    logits and labels (``data.shifts.restrict_logits``/``restrict_labels``).
    """
    logits, labels = _checked(logits, labels, "logits")
    log_probs = torch.log_softmax(logits, dim=1)
    probs = log_probs.exp()
    confidence, predicted = probs.max(dim=1)
    onehot = torch.nn.functional.one_hot(labels, probs.shape[1]).to(probs.dtype)
    return {
        "nll": float(-log_probs.gather(1, labels[:, None]).mean()),
        "brier": float(((probs - onehot) ** 2).sum(dim=1).mean()),
        "ece": 100.0 * expected_calibration_error(confidence, predicted == labels),
    }
