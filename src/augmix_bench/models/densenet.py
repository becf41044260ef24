"""DenseNet (Huang et al.) for CIFAR as in the reference implementation: ``densenet`` and ``densenet_bc``.

- ``densenet`` is what the reference code trains and what the paper's "DenseNet" numbers come from:
  DenseNet-40 with growth rate 12, plain 3x3 layers (no bottleneck) and no compression.
- ``densenet_bc`` is the DenseNet-BC (depth 100, growth rate 12, 1x1 bottlenecks, compression 0.5)
  that the paper's text names.

Both are this one class with different arguments. Module names follow the reference, so its
checkpoints load without renaming. Unlike the reference, the pooled features are flattened rather
than squeezed, so a batch of one image works.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UserError
from .init import reference_init
from .registry import register_model

#: Channels of a bottleneck's 1x1 conv, in multiples of the growth rate.
BOTTLENECK_WIDTH = 4
#: Kernel of the closing average pooling (the 8x8 map of a 32x32 input).
FINAL_POOL = 8


class SingleLayer(nn.Module):
    """BN-ReLU-conv3x3 producing ``growth_rate`` channels, concatenated to its input."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv1(F.relu(self.bn1(x)))), 1)


class Bottleneck(nn.Module):
    """BN-ReLU-conv1x1 (4 x growth) then BN-ReLU-conv3x3 (growth), concatenated to its input."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        inner = BOTTLENECK_WIDTH * growth_rate
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, inner, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, growth_rate, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat((x, out), 1)


class Transition(nn.Module):
    """BN-ReLU-conv1x1 to ``out_channels``, then 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv1(F.relu(self.bn1(x))), 2)


def dense_block(in_channels: int, growth_rate: int, layers: int, bottleneck: bool) -> nn.Sequential:
    """``layers`` dense layers; layer ``i`` sees ``in_channels + i * growth_rate`` channels."""
    layer = Bottleneck if bottleneck else SingleLayer
    return nn.Sequential(*[layer(in_channels + i * growth_rate, growth_rate) for i in range(layers)])


class DenseNet(nn.Module):
    """Three dense blocks joined by transitions; a 3x3 stem of ``2 * growth_rate`` channels.

    ``depth`` counts the stem, the dense layers (two convs each with ``bottleneck``), the two
    transitions and the classifier, so a block has ``(depth - 4) / 3`` layers (``/ 6`` with
    ``bottleneck``). Transitions keep ``floor(channels * reduction)`` channels.
    """

    def __init__(
        self,
        growth_rate: int = 12,
        depth: int = 40,
        reduction: float = 1.0,
        bottleneck: bool = False,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        convs_per_layer = 2 if bottleneck else 1
        if depth < 4 + 3 * convs_per_layer or (depth - 4) % (3 * convs_per_layer) != 0:
            step = 3 * convs_per_layer
            raise UserError(
                f"model.depth={depth} is invalid for a DenseNet with bottleneck={bottleneck}; "
                f"accepted: {step}n + 4 with n >= 1 ({', '.join(str(step * n + 4) for n in (1, 2, 3))}, ...)"
            )
        if growth_rate < 1:
            raise UserError(f"model.growth_rate={growth_rate} is invalid; accepted: an integer >= 1")
        if not 0.0 < reduction <= 1.0:
            raise UserError(f"model.reduction={reduction} is invalid; accepted: a number in (0, 1]")
        layers = (depth - 4) // (3 * convs_per_layer)
        channels = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False)
        self.dense1 = dense_block(channels, growth_rate, layers, bottleneck)
        channels += layers * growth_rate
        self.trans1 = Transition(channels, math.floor(channels * reduction))
        channels = math.floor(channels * reduction)
        self.dense2 = dense_block(channels, growth_rate, layers, bottleneck)
        channels += layers * growth_rate
        self.trans2 = Transition(channels, math.floor(channels * reduction))
        channels = math.floor(channels * reduction)
        self.dense3 = dense_block(channels, growth_rate, layers, bottleneck)
        channels += layers * growth_rate
        self.bn1 = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, num_classes)
        reference_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.trans1(self.dense1(self.conv1(x)))
        out = self.trans2(self.dense2(out))
        out = F.relu(self.bn1(self.dense3(out)))
        return self.fc(torch.flatten(F.avg_pool2d(out, FINAL_POOL), 1))


@register_model
def densenet(
    num_classes: int = 10,
    growth_rate: int = 12,
    depth: int = 40,
    reduction: float = 1.0,
    bottleneck: bool = False,
) -> DenseNet:
    """The reference code's DenseNet-40 (k=12, no bottleneck, no compression; 1,059,298 parameters)."""
    return DenseNet(growth_rate, depth, reduction, bottleneck, num_classes)


@register_model
def densenet_bc(
    num_classes: int = 10,
    growth_rate: int = 12,
    depth: int = 100,
    reduction: float = 0.5,
    bottleneck: bool = True,
) -> DenseNet:
    """The paper text's DenseNet-BC (depth 100, k=12, bottleneck, compression 0.5; 769,162 parameters)."""
    return DenseNet(growth_rate, depth, reduction, bottleneck, num_classes)
