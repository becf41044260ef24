"""Model architectures of the AugMix paper, one file each, behind ``build_model``.

Every architecture registers itself with ``@register_model``; outside code can register more.
``load_reference_weights`` loads checkpoints saved by the paper's reference implementation.
"""

from .allconv import allconv
from .densenet import densenet, densenet_bc
from .reference_weights import load_reference_weights
from .registry import MODELS, build_model, register_model
from .resnet import resnet50
from .resnext import resnext29
from .wrn import wrn40_2

__all__ = [
    "MODELS",
    "allconv",
    "build_model",
    "densenet",
    "densenet_bc",
    "load_reference_weights",
    "register_model",
    "resnet50",
    "resnext29",
    "wrn40_2",
]
