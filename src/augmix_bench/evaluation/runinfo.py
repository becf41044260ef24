"""Facts about the software and machine a run used, for ``results.json``'s ``meta``."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import torch

_PACKAGES = ("augmix-bench", "torch", "torchvision", "numpy", "pillow", "hydra-core", "omegaconf")


def versions() -> dict[str, str | None]:
    """Python's and the main packages' versions (None where a package is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_commit() -> str | None:
    """The commit of the augmix-bench source tree in use, or None outside a git checkout."""
    source = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=source, capture_output=True, text=True, timeout=10
    ).stdout.strip()
    # Only report the commit if this package lives in that checkout (not e.g. a venv inside another repo).
    if not top or not (Path(top) / "src" / "augmix_bench").is_dir():
        return None
    return out.stdout.strip()


def device_name(device: torch.device) -> str:
    """A readable name of ``device`` (GPU model, or the CPU architecture and thread count)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
