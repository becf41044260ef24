"""Model architectures of the AugMix paper, one file each, behind ``build_model``.

``load_reference_weights`` loads checkpoints saved by the paper's reference implementation.
"""

from .reference_weights import load_reference_weights
from .registry import MODELS, build_model

__all__ = ["MODELS", "build_model", "load_reference_weights"]
