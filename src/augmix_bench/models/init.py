"""The reference implementation's weight initialization, shared by the CIFAR architectures."""

from __future__ import annotations

import math

from torch import nn


def reference_init(model: nn.Module) -> None:
    """Convs ~ N(0, sqrt(2 / (k_h * k_w * out_channels))), BN weight 1 / bias 0, Linear bias 0.

    Linear weights keep PyTorch's default initialization, as in the reference.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
