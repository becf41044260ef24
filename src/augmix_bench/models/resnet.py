"""ResNet-50 for ImageNet: torchvision's definition and initialization, optionally torchvision's weights.

Weights are read from the torch hub cache only (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``); this package never downloads them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import torch.hub
import torchvision
from torch import nn
from torchvision.models import ResNet50_Weights

from ..checkpoint_io import load_checkpoint
from ..errors import UserError
from .registry import register_model
from .state_dict import load_fitting_state_dict


def torchvision_weights(name: str) -> ResNet50_Weights:
    """The torchvision weights entry called ``name`` (e.g. ``IMAGENET1K_V1``); a ``UserError`` if unknown."""
    if name not in ResNet50_Weights.__members__:
        accepted = ", ".join(ResNet50_Weights.__members__)
        raise UserError(f"model.weights={name!r} is invalid for resnet50; accepted: null, {accepted}")
    return ResNet50_Weights[name]


def cached_weights_file(weights: ResNet50_Weights) -> Path:
    """Where ``torch.hub`` keeps (or would keep) the file of ``weights``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


@register_model
def resnet50(num_classes: int = 1000, weights: str | None = None) -> nn.Module:
    """torchvision's ResNet-50 (25,557,032 parameters for 1000 classes), randomly initialized as there,
    or holding the torchvision ``weights`` of that name if their file is in the torch hub cache.
    """
    model = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    if weights is None:
        return model
    entry = torchvision_weights(weights)
    classes = len(entry.meta["categories"])
    if num_classes != classes:
        raise UserError(
            f"model.weights={weights!r} is for {classes} classes, the dataset has {num_classes}; "
            "use model.weights=null"
        )
    path = cached_weights_file(entry)
    if not path.is_file():
        raise UserError(
            f"model.weights={weights!r}: {path.name} is not in the torch hub cache {path.parent} "
            f"(augmix-bench does not download weights); put {entry.url} there, "
            "or set TORCH_HOME to a cache holding it"
        )
    load_fitting_state_dict(model, load_checkpoint(path), "resnet50")
    return model
