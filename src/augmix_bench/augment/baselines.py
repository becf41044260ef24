"""Sample-level baseline augmentations of the paper's Table 1: Cutout and AutoAugment*.

Both run inside the training dataset, after the standard flip/crop, and draw from the sample's
generator (``views.sample_rng``): no global random state, so a seeded run is reproducible and
data-loader workers never repeat each other. The batch-level baselines (Mixup, CutMix,
adversarial training) act on device batches and live in ``batch_mixing``/``adversarial``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import AutoAugment, AutoAugmentPolicy, InterpolationMode
from torchvision.transforms.autoaugment import _apply_op

from ..errors import UserError
from ..schema import check


class Cutout:
    """Cutout (DeVries & Taylor, 2017) on a normalized image tensor (C, H, W).

    As the authors' code: each of ``holes`` squares has its centre drawn uniformly over the pixels
    and spans ``[centre - length // 2, centre + length // 2)`` in each direction, clipped to the
    image (a hole near the border is cut smaller); the covered pixels are set to 0, which in the
    normalized image is the dataset's mean colour.
    """

    def __init__(self, length: int = 16, holes: int = 1) -> None:
        check("augmentation.length", length)
        check("augmentation.holes", holes)
        self.length = int(length)
        self.holes = int(holes)

    def boxes(self, height: int, width: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
        """The holes as (top, bottom, left, right) pixel bounds, drawn centre row then column."""
        half = self.length // 2
        boxes = []
        for _ in range(self.holes):
            y = int(rng.integers(height))
            x = int(rng.integers(width))
            boxes.append((max(y - half, 0), min(y + half, height), max(x - half, 0), min(x + half, width)))
        return boxes

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """A copy of ``image`` with the drawn holes set to 0."""
        out = image.clone()
        for top, bottom, left, right in self.boxes(image.shape[-2], image.shape[-1], rng):
            out[..., top:bottom, left:right] = 0
        return out


#: The ops the paper excludes from AugMix because they overlap the test corruptions (section 3:
#: contrast, color, brightness, sharpness; its fifth, Cutout, is not in torchvision's policies).
CORRUPTION_OVERLAPPING_AUTOAUGMENT_OPS: tuple[str, ...] = ("Color", "Contrast", "Brightness", "Sharpness")

#: The names ``policy`` accepts (torchvision's ``AutoAugmentPolicy`` values).
AUTOAUGMENT_POLICIES: tuple[str, ...] = tuple(p.value for p in AutoAugmentPolicy)


@dataclass(frozen=True)
class AutoAugmentDraw:
    """The random choices of one AutoAugment call: a sub-policy, and per op a probability and sign."""

    sub_policy: int
    probabilities: tuple[float, float]
    negate: tuple[bool, bool]


class RestrictedAutoAugment:
    """torchvision's AutoAugment with some ops never applied (the paper's AutoAugment*).

    A sub-policy is drawn uniformly; each of its two ops runs when its drawn probability is at
    most the op's, with a random sign for signed ops, exactly as torchvision's ``AutoAugment``
    (its op table, magnitude bins, nearest interpolation and black fill). Ops named in
    ``removed_ops`` are skipped: the policy is otherwise unchanged, so a sub-policy made only of
    removed ops leaves the image as it is. Randomness comes from the passed generator only.

    Args:
        policy: torchvision's policy name: ``cifar10``, ``imagenet`` or ``svhn``.
        removed_ops: torchvision op names never applied (default: those that overlap the test
            corruptions).
    """

    def __init__(
        self, policy: str = "cifar10", removed_ops: Sequence[str] = CORRUPTION_OVERLAPPING_AUTOAUGMENT_OPS
    ) -> None:
        if policy not in AUTOAUGMENT_POLICIES:
            raise UserError(
                f"augmentation.policy={policy!r} is unknown; choose from: {', '.join(AUTOAUGMENT_POLICIES)}"
            )
        self.policy = policy
        self._torchvision = AutoAugment(AutoAugmentPolicy(policy))
        known = sorted({name for sub_policy in self._torchvision.policies for name, _, _ in sub_policy})
        for name in removed_ops:
            if name not in known:
                raise UserError(
                    f"augmentation.removed_ops has {name!r}, not an op of the {policy} policy; "
                    f"accepted: {', '.join(known)}"
                )
        self.removed_ops = tuple(removed_ops)
        self.sub_policies = tuple(tuple(sub_policy) for sub_policy in self._torchvision.policies)
        self._spaces: dict[tuple[int, int], dict[str, tuple[torch.Tensor, bool]]] = {}

    def draw(self, rng: np.random.Generator) -> AutoAugmentDraw:
        """Draw a sub-policy, two application probabilities and two signs."""
        sub_policy = int(rng.integers(len(self.sub_policies)))
        probabilities = rng.uniform(size=2)
        negate = rng.integers(2, size=2) == 0
        return AutoAugmentDraw(
            sub_policy, (float(probabilities[0]), float(probabilities[1])), (bool(negate[0]), bool(negate[1]))
        )

    def apply(self, img: Image.Image, draw: AutoAugmentDraw) -> Image.Image:
        """Run the drawn sub-policy on ``img``, skipping removed ops."""
        space = self._space(img.size[1], img.size[0])
        for i, (name, probability, bin_index) in enumerate(self.sub_policies[draw.sub_policy]):
            if name in self.removed_ops or draw.probabilities[i] > probability:
                continue
            magnitudes, signed = space[name]
            magnitude = float(magnitudes[bin_index].item()) if bin_index is not None else 0.0
            if signed and draw.negate[i]:
                magnitude = -magnitude
            img = _apply_op(img, name, magnitude, interpolation=InterpolationMode.NEAREST, fill=None)
        return img

    def __call__(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """One AutoAugment* draw applied to ``img``."""
        return self.apply(img, self.draw(rng))

    def _space(self, height: int, width: int) -> dict[str, tuple[torch.Tensor, bool]]:
        if (height, width) not in self._spaces:
            self._spaces[(height, width)] = self._torchvision._augmentation_space(10, (height, width))
        return self._spaces[(height, width)]
