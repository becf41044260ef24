"""The Jensen-Shannon consistency loss of AugMix (REFERENCE.md section 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def jensen_shannon(
    logits_clean: torch.Tensor, logits_aug1: torch.Tensor, logits_aug2: torch.Tensor
) -> torch.Tensor:
    """JS divergence among the three views' predictive distributions (the reference's form).

    ``M = clamp((p_c + p_1 + p_2) / 3, 1e-7, 1)`` and
    ``JS = (KL(p_c || M) + KL(p_1 || M) + KL(p_2 || M)) / 3``, each KL summed over classes and
    averaged over the batch. No gradient is stopped. The caller multiplies by ``jsd_lambda``.
    """
    p_clean = F.softmax(logits_clean.float(), dim=1)
    p_aug1 = F.softmax(logits_aug1.float(), dim=1)
    p_aug2 = F.softmax(logits_aug2.float(), dim=1)
    log_mixture = torch.clamp((p_clean + p_aug1 + p_aug2) / 3.0, 1e-7, 1.0).log()
    return (
        F.kl_div(log_mixture, p_clean, reduction="batchmean")
        + F.kl_div(log_mixture, p_aug1, reduction="batchmean")
        + F.kl_div(log_mixture, p_aug2, reduction="batchmean")
    ) / 3.0
