"""ResNeXt-29 (Xie et al.) for CIFAR as in the reference implementation.

The reference trains, and released checkpoints for, cardinality 4 with base width 32 (4 groups of
32 channels in the first stage), although some catalogues call that model "32x4d". Module names
follow the reference, so its checkpoints load without renaming.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UserError
from .init import reference_init
from .registry import register_model

#: Output channels of a block relative to its ``planes``.
EXPANSION = 4
#: Bottleneck blocks a stage: 3 stages x 3 blocks x 3 convs, the stem and the classifier make depth 29.
BLOCKS_PER_STAGE = 3
#: ``planes`` of the three stages.
STAGE_PLANES: tuple[int, int, int] = (64, 128, 256)
#: Channels of the 3x3 stem.
STEM_CHANNELS = 64
#: Kernel of the closing average pooling (the 8x8 map of a 32x32 input).
FINAL_POOL = 8


class ResNeXtBottleneck(nn.Module):
    """conv1x1-BN-ReLU, grouped conv3x3-BN-ReLU, conv1x1-BN, plus the shortcut, then ReLU.

    The grouped conv has ``cardinality`` groups of ``floor(planes * base_width / 64)`` channels.
    """

    def __init__(
        self,
        in_channels: int,
        planes: int,
        cardinality: int,
        base_width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        inner = math.floor(planes * (base_width / 64.0)) * cardinality
        self.conv_reduce = nn.Conv2d(in_channels, inner, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(inner)
        self.conv_conv = nn.Conv2d(
            inner, inner, kernel_size=3, stride=stride, padding=1, groups=cardinality, bias=False
        )
        self.bn = nn.BatchNorm2d(inner)
        self.conv_expand = nn.Conv2d(
            inner, planes * EXPANSION, kernel_size=1, stride=1, padding=0, bias=False
        )
        self.bn_expand = nn.BatchNorm2d(planes * EXPANSION)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn_reduce(self.conv_reduce(x)), inplace=True)
        out = F.relu(self.bn(self.conv_conv(out)), inplace=True)
        out = self.bn_expand(self.conv_expand(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(shortcut + out, inplace=True)


def resnext_stage(
    in_channels: int, planes: int, blocks: int, stride: int, cardinality: int, base_width: int
) -> nn.Sequential:
    """``blocks`` bottleneck blocks; the first gets a 1x1-conv + BN shortcut when shape changes."""
    out_channels = planes * EXPANSION
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    layers = [ResNeXtBottleneck(in_channels, planes, cardinality, base_width, stride, downsample)]
    layers += [ResNeXtBottleneck(out_channels, planes, cardinality, base_width) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class CifarResNeXt(nn.Module):
    """3x3 stem of 64, three stages of 3 blocks (planes 64/128/256, strides 1/2/2),
    ``AvgPool2d(8)`` and a linear classifier on 1024 features.

    Initialization as the reference: the convs and BatchNorms as in ``reference_init``, and the
    classifier's weight Kaiming-normal (fan-in), unlike the other CIFAR models.
    """

    def __init__(self, cardinality: int = 4, base_width: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        if cardinality < 1:
            raise UserError(f"model.cardinality={cardinality} is invalid; accepted: an integer >= 1")
        if base_width < 1 or math.floor(STAGE_PLANES[0] * base_width / 64.0) < 1:
            raise UserError(f"model.base_width={base_width} is invalid; accepted: an integer >= 1")
        self.conv_1_3x3 = nn.Conv2d(3, STEM_CHANNELS, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(STEM_CHANNELS)
        channels = STEM_CHANNELS
        stages = []
        for planes, stride in zip(STAGE_PLANES, (1, 2, 2)):
            stages.append(resnext_stage(channels, planes, BLOCKS_PER_STAGE, stride, cardinality, base_width))
            channels = planes * EXPANSION
        self.stage_1, self.stage_2, self.stage_3 = stages
        self.avgpool = nn.AvgPool2d(FINAL_POOL)
        self.classifier = nn.Linear(channels, num_classes)
        reference_init(self)
        nn.init.kaiming_normal_(self.classifier.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn_1(self.conv_1_3x3(x)), inplace=True)
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        return self.classifier(torch.flatten(self.avgpool(x), 1))


@register_model
def resnext29(num_classes: int = 10, cardinality: int = 4, base_width: int = 32) -> CifarResNeXt:
    """ResNeXt-29 of the AugMix paper, 4 x 32 by default (6,807,882 / 6,900,132 parameters)."""
    return CifarResNeXt(cardinality, base_width, num_classes)
