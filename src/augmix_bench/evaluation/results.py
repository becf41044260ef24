"""``results.json``: assembling the schema of DESIGN.md from a run's config and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files import atomic_write_json
from ..held_out import corruption_overlap
from ..runtime import Runtime
from .runinfo import device_name, git_commit, versions


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    """``results.json``'s dataset, model, augmentation, seed and epochs, read from a training config."""
    return {
        "dataset": config["dataset"]["name"],
        "model": config["model"]["name"],
        "augmentation": config["augmentation"]["name"],
        "seed": config["seed"],
        "epochs": config["trainer"]["epochs"],
    }


def assemble_results(
    config: dict[str, Any],
    evaluation: dict[str, Any],
    runtime: Runtime,
    train_seconds: float | None,
    eval_seconds: float,
    train_images_per_second: float | None,
    identity: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    protocol: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``results.json`` dict: run identity, the data used, the evaluation entries, meta and the config.

    ``identity`` (dataset, model, augmentation, seed, epochs) defaults to ``run_identity(config)``;
    checkpoints not trained by this package pass it explicitly. ``data`` is the benchmark's
    ``data_identity`` (name, files' fingerprint, -C source), which the report groups runs by;
    ``corruption_overlap`` names the augmentation's ops that overlap -C corruptions (``held_out``);
    ``protocol`` how the numbers were measured (``evaluation/protocol.py``).
    """
    return {
        **(run_identity(config) if identity is None else identity),
        "data": data,
        "corruption_overlap": corruption_overlap(config.get("augmentation")),
        "clean": evaluation["clean"],
        "corruptions": evaluation["corruptions"],
        "perturbations": evaluation["perturbations"],
        "shifts": evaluation.get("shifts"),
        "corruptions_bar": evaluation.get("corruptions_bar"),
        "protocol": protocol,
        "meta": {
            "git_commit": git_commit(),
            "versions": versions(),
            "device": device_name(runtime.device),
            "world_size": runtime.world_size,
            "train_seconds": train_seconds,
            "eval_seconds": eval_seconds,
            "train_images_per_second": train_images_per_second,
        },
        "config": config,
    }


#: Significant digits of the floats written to ``results.json``.
SIGNIFICANT_DIGITS = 6


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float (in nested dicts and lists) rounded to ``digits`` significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write ``results`` (floats to 6 significant digits) to ``path`` atomically."""
    atomic_write_json(path, rounded(results))


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a sweep index records per job."""
    clean = results.get("clean") or {}
    corruptions = results.get("corruptions") or {}
    return {
        "dataset": results["dataset"],
        "model": results["model"],
        "augmentation": results["augmentation"],
        "seed": results["seed"],
        "clean_error": clean.get("error"),
        "mean_corruption_error": corruptions.get("mean_error"),
        "mce": corruptions.get("mce"),
        "rms_calibration_error": clean.get("rms_calibration_error"),
    }
