"""Normalization constants of the benchmarks' images (REFERENCE.md: the reference code's values)."""

#: CIFAR: the AugMix reference normalizes to [-1, 1] (mean 0.5, std 0.5 per channel).
CIFAR_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
CIFAR_STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
#: ImageNet: torchvision's statistics, as the reference ImageNet script uses them.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
