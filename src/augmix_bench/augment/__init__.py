"""Augmentations: the reference AugMix ops, AugmentAndMix, training views, the baselines, and the
training plans (views + objective) that ``augmentation`` configs build."""

from ..data.constants import CIFAR_MEAN, CIFAR_STD, IMAGENET_MEAN, IMAGENET_STD
from ..data.spatial import RandomCropFlip, RandomResizedCropFlip
from .augmix import (
    AugMix,
    AugMixDraw,
    ChainStep,
    Normalize,
)
from .batched import BatchedAugMix, BatchedDraw
from .ops import ALL_OPS, AUGMIX_OPS, apply_op
from .views import AugMixViews, PerSampleRandomDataset, StandardViews, sample_rng

__all__ = [
    "ALL_OPS",
    "AUGMIX_OPS",
    "CIFAR_MEAN",
    "CIFAR_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "AugMix",
    "AugMixDraw",
    "AugMixViews",
    "BatchedAugMix",
    "BatchedDraw",
    "ChainStep",
    "Normalize",
    "PerSampleRandomDataset",
    "RandomCropFlip",
    "RandomResizedCropFlip",
    "StandardViews",
    "apply_op",
    "sample_rng",
]
