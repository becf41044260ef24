"""The reference implementation's AllConvNet (Springenberg et al.) for CIFAR, quirks included.

Layer order and indices inside ``features`` follow the reference, so its checkpoints load without
renaming. Two behaviours of the reference are kept on purpose:

- the activation is the sigmoid approximation of GELU, ``x * sigmoid(1.702 x)``, not the exact GELU;
- the closing ``AvgPool2d(8)`` runs on a 10x10 map (the 3x3 conv without padding gives 6x6, each of
  the two 1x1 convs with padding 1 adds a border of 2), so on 32x32 inputs it averages only the
  top-left 8x8 window of that map.
"""

from __future__ import annotations

import torch
from torch import nn

from .init import reference_init
from .registry import register_model

#: Channels of the first and second stage.
STAGE_WIDTHS: tuple[int, int] = (96, 192)
#: Dropout after each of the two max-pooling layers.
DROPOUT = 0.5
#: Kernel of the closing average pooling (not a global pooling, see the module docstring).
FINAL_POOL = 8


class SigmoidGELU(nn.Module):
    """The reference's GELU approximation ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(1.702 * x) * x


def conv_bn_gelu(in_channels: int, out_channels: int, kernel_size: int, padding: int) -> list[nn.Module]:
    """A conv (with bias), BatchNorm and the GELU approximation, as three separate layers."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding),
        nn.BatchNorm2d(out_channels),
        SigmoidGELU(),
    ]


def pool_and_drop() -> list[nn.Module]:
    """2x2 max pooling followed by dropout."""
    return [nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=DROPOUT)]


class AllConvNet(nn.Module):
    """Three 3x3 convs of 96, pool, three 3x3 convs of 192, pool, a 3x3 conv without padding, two 1x1
    convs with padding 1, ``AvgPool2d(8)`` and a linear classifier (1,409,674 parameters for 10 classes).
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        narrow, wide = STAGE_WIDTHS
        self.features = nn.Sequential(
            *conv_bn_gelu(3, narrow, 3, 1),
            *conv_bn_gelu(narrow, narrow, 3, 1),
            *conv_bn_gelu(narrow, narrow, 3, 1),
            *pool_and_drop(),
            *conv_bn_gelu(narrow, wide, 3, 1),
            *conv_bn_gelu(wide, wide, 3, 1),
            *conv_bn_gelu(wide, wide, 3, 1),
            *pool_and_drop(),
            *conv_bn_gelu(wide, wide, 3, 0),
            *conv_bn_gelu(wide, wide, 1, 1),
            *conv_bn_gelu(wide, wide, 1, 1),
            nn.AvgPool2d(kernel_size=FINAL_POOL),
        )
        self.classifier = nn.Linear(wide, num_classes)
        reference_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


@register_model
def allconv(num_classes: int = 10) -> AllConvNet:
    """The AllConvNet of the AugMix paper (1,409,674 / 1,427,044 parameters for 10 / 100 classes)."""
    return AllConvNet(num_classes=num_classes)
