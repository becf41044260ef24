"""OmegaConf resolvers that the config tree uses (registered before Hydra composes)."""

from __future__ import annotations

from omegaconf import OmegaConf

from .targets import target_name


def register_resolvers() -> None:
    """Register ``${target_name:...}`` (used by ``model=custom`` for the model's default name)."""
    if not OmegaConf.has_resolver("target_name"):
        OmegaConf.register_new_resolver("target_name", target_name)
