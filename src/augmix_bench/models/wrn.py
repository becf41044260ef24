"""Pre-activation Wide ResNet (Zagoruyko & Komodakis), the reference's WRN-40-2 for CIFAR.

Module names follow the reference implementation, so its checkpoints load without renaming.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from .init import reference_init
from .registry import register_model


class BasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with an identity or 1x1-conv shortcut.

    When the channel count changes, the shortcut and the residual branch both start from the
    pre-activated input, as in the reference.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.equal_in_out = in_planes == out_planes
        self.conv_shortcut = (
            None
            if self.equal_in_out
            else nn.Conv2d(in_planes, out_planes, 1, stride=stride, padding=0, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.relu1(self.bn1(x))
        out = self.conv2(self.dropout(self.relu2(self.bn2(self.conv1(activated)))))
        shortcut = x if self.conv_shortcut is None else self.conv_shortcut(activated)
        return shortcut + out


class NetworkBlock(nn.Module):
    """A stage of ``n`` basic blocks; the first may change width and stride."""

    def __init__(
        self, n: int, in_planes: int, out_planes: int, stride: int, dropout: float
    ) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            *[
                BasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1, dropout)
                for i in range(n)
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor``: channels 16, 16k, 32k, 64k; (depth - 4) / 6 blocks a stage."""

    def __init__(
        self, depth: int = 40, widen_factor: int = 2, dropout: float = 0.0, num_classes: int = 10
    ) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6 != 0:
            raise UserError(f"model.depth={depth} is invalid for wrn; accepted: 10, 16, 22, 28, 34, 40, ... (6n + 4)")
        if widen_factor < 1:
            raise UserError(f"model.widen_factor={widen_factor} is invalid; accepted: an integer >= 1")
        n = (depth - 4) // 6
        channels = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, channels[0], 3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, channels[0], channels[1], 1, dropout)
        self.block2 = NetworkBlock(n, channels[1], channels[2], 2, dropout)
        self.block3 = NetworkBlock(n, channels[2], channels[3], 2, dropout)
        self.bn1 = nn.BatchNorm2d(channels[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(channels[3], num_classes)
        reference_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = self.relu(self.bn1(out))
        out = torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1)
        return self.fc(out)


@register_model
def wrn40_2(
    num_classes: int = 10, depth: int = 40, widen_factor: int = 2, dropout: float = 0.0
) -> WideResNet:
    """WRN-40-2 of the AugMix paper (2,243,546 parameters for 10 classes); depth/width configurable."""
    return WideResNet(depth=depth, widen_factor=widen_factor, dropout=dropout, num_classes=num_classes)
