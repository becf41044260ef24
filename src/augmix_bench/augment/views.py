"""Training datasets that turn (image, label) samples into model inputs with per-sample randomness.

Every sample draws from its own generator, seeded by ``(seed, epoch, index)``: the same run gives
the same views whatever the number of data-loader workers, a resumed run continues exactly, and
no two workers (nor two samples) share a random stream. Without a seed each sample gets fresh OS
entropy, which is independent across workers too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..data.spatial import ImageTransform, SpatialTransform

#: A random transform of a normalized image tensor drawing from the sample's generator (Cutout).
TensorTransform = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]
#: Makes one AugMix view of a PIL image from the sample's generator (``AugMix``).
ViewMaker = Callable[[Image.Image, np.random.Generator], torch.Tensor]


def sample_rng(seed: int | None, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch``; fresh entropy when ``seed`` is None."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng((int(seed), int(epoch), int(index)))


class PerSampleRandomDataset(Dataset):
    """Base class: wraps ``dataset`` and hands ``make(img, rng)`` a per-sample generator.

    Call ``set_epoch`` before each epoch so every epoch draws anew (data-loader workers are
    re-created per epoch and copy the new epoch).
    """

    def __init__(
        self, dataset: Dataset, spatial: SpatialTransform | None = None, seed: int | None = None
    ) -> None:
        self.dataset = dataset
        self.spatial = spatial
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random stream the next samples draw from."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def make(self, img: Image.Image, rng: np.random.Generator) -> Any:
        """Turn one spatially augmented image into the model input(s)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, int]:
        img, label = self.dataset[index]
        rng = sample_rng(self.seed, self.epoch, index)
        if self.spatial is not None:
            img = self.spatial(img, rng)
        return self.make(img, rng), label


class StandardViews(PerSampleRandomDataset):
    """Single-view training samples: ``(tensor_augment(preprocess(image_augment(spatial(img)))), label)``.

    Without the optional augmentations this is the "standard" baseline (flip/crop only).
    ``image_augment`` is a sample-level augmentation of the PIL image after the flip/crop
    (AutoAugment); ``tensor_augment`` one of the normalized tensor (Cutout). Both draw from the
    sample's generator, as the flip/crop does.
    """

    def __init__(
        self,
        dataset: Dataset,
        preprocess: Callable[[Image.Image], torch.Tensor],
        spatial: SpatialTransform | None = None,
        seed: int | None = None,
        image_augment: ImageTransform | None = None,
        tensor_augment: TensorTransform | None = None,
    ) -> None:
        super().__init__(dataset, spatial, seed)
        self.preprocess = preprocess
        self.image_augment = image_augment
        self.tensor_augment = tensor_augment

    def make(self, img: Image.Image, rng: np.random.Generator) -> torch.Tensor:
        """The one view, through the optional sample-level augmentations."""
        if self.image_augment is not None:
            img = self.image_augment(img, rng)
        view = self.preprocess(img)
        if self.tensor_augment is not None:
            view = self.tensor_augment(view, rng)
        return view


class AugMixViews(PerSampleRandomDataset):
    """AugMix training samples: ``((clean, aug1, aug2), label)``, or ``(aug, label)`` without JSD.

    ``dataset`` yields PIL images; ``spatial`` (flip/crop), when given, runs once per sample
    before the views, so the clean view and both AugMix views share it (as in the reference,
    where the dataset's own transform does the flip/crop). ``preprocess`` normalizes the clean
    view; ``augmix`` (an ``AugMix``) makes each AugMix view from the sample's generator.
    """

    def __init__(
        self,
        dataset: Dataset,
        preprocess: Callable[[Image.Image], torch.Tensor],
        augmix: ViewMaker,
        jsd: bool = True,
        spatial: SpatialTransform | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(dataset, spatial, seed)
        self.preprocess = preprocess
        self.augmix = augmix
        self.jsd = jsd

    def make(self, img: Image.Image, rng: np.random.Generator) -> Any:
        """Three views with JSD (clean, two independent AugMix draws), else one AugMix view."""
        if not self.jsd:
            return self.augmix(img, rng)
        return (self.preprocess(img), self.augmix(img, rng), self.augmix(img, rng))
