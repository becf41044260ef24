"""Model architectures of the AugMix paper, one file each, behind ``build_model``."""

from .registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
