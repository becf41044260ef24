"""The host-sync-free code paths that BatchedAugMix takes off the CPU, checked on the CPU.

Off the CPU, rotations compute their sampling plans per call, histograms and the op count table
use ``index_add_``, and Gamma draws come from ``torch._standard_gamma``; each must give what the
CPU path gives (the same pixels, the same counts, the same distribution). A GPU test holds the
whole call to at most one host synchronization. Evaluation's one-batch-ahead copy keeps every
batch in order.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from test_batched import pixel_tensor, sample_images

from augmix_bench.augment import BatchedAugMix
from augmix_bench.augment.tensor_ops import (
    affine,
    count_values,
    rotate,
    rotation_coefficients,
)
from augmix_bench.augment.tensor_random import sample_log_gamma_on_device
from augmix_bench.augment.tensor_views import TensorViews
from augmix_bench.evaluation.suite import prefetched


@pytest.mark.parametrize(("side", "fill"), [(32, 0), (33, 128)])
def test_rotations_from_coefficients_equal_the_cached_plans(side: int, fill: int) -> None:
    images = pixel_tensor(sample_images(40, side, seed=side))
    degrees = torch.arange(-20, 20, dtype=torch.float64) * 9  # -180..171, every 9 degrees
    cached = rotate(images, degrees, fill)
    per_call = affine(images, rotation_coefficients(degrees, side, side), fill)
    assert torch.equal(per_call, cached)
    assert not torch.equal(cached[21], images[21])  # 9 degrees changes the image


def test_index_add_counts_equal_bincount() -> None:
    values = torch.from_numpy(np.random.default_rng(0).integers(0, 300, size=5000))
    counted = count_values(values, 310, host_free=True)
    assert torch.equal(counted, torch.bincount(values, minlength=310))
    assert counted[300:].sum() == 0 and counted.sum() == 5000


@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0, 2.5])
def test_sync_free_gamma_draws_follow_the_gamma_distribution(alpha: float) -> None:
    generator = torch.Generator().manual_seed(7)
    log_gamma = sample_log_gamma_on_device((6000,), alpha, generator)
    assert log_gamma.dtype == torch.float64 and torch.isfinite(log_gamma).all()
    assert stats.kstest(log_gamma.exp().numpy(), stats.gamma(alpha).cdf).pvalue > 0.01
    # A different concentration is told apart.
    assert stats.kstest(log_gamma.exp().numpy(), stats.gamma(alpha * 1.3).cdf).pvalue < 1e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run pytest -m gpu on one)")
def test_a_warm_cuda_call_synchronizes_with_the_host_at_most_once() -> None:
    images = torch.from_numpy(sample_images(128, 32, seed=3)).permute(0, 3, 1, 2).contiguous().cuda()
    views = TensorViews((0.5,) * 3, (0.5,) * 3, BatchedAugMix(all_ops=True), jsd=True)
    generator = torch.Generator(device="cuda").manual_seed(0)
    views(images, generator)  # warm-up: caches of constants and coefficients
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            views(images, generator)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message).lower()]
    assert len(syncs) <= 1, syncs


def test_evaluation_prefetch_keeps_every_batch_in_order() -> None:
    batches = [(torch.full((2, 3, 4, 4), i, dtype=torch.uint8), torch.tensor([i, -i])) for i in range(5)]
    moved = list(prefetched(iter(batches), torch.device("cpu")))
    assert len(moved) == 5
    for (images, labels), (want_images, want_labels) in zip(moved, batches, strict=True):
        assert torch.equal(images, want_images) and torch.equal(labels, want_labels)
    assert list(prefetched(iter([]), torch.device("cpu"))) == []
