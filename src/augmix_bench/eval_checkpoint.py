"""``augmix-eval``: evaluate a saved checkpoint with the training run's dataset and model.

The checkpoint's own config is the base; the keys the user overrode on the command line
(``dataset.root``, ``eval.*``, ``trainer.num_workers``, ...) replace the checkpoint's values.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .checkpoint import load_checkpoint
from .data import build_benchmark
from .errors import UserError
from .evaluate import Evaluator, check_suites, required_parts
from .models import build_model
from .results import assemble_results, write_results
from .train import dataset_options, make_runtime, model_options

#: Keys of the eval config that describe the invocation, not the evaluated run.
INVOCATION_KEYS: tuple[str, ...] = ("checkpoint", "checkpoint_format", "output")


def override_keys(overrides: Sequence[str]) -> list[str]:
    """Dotted config keys set by Hydra command-line overrides (``a.b=1``, ``+a=2``, ``group=x``)."""
    keys = []
    for override in overrides:
        if "=" not in override:
            continue
        key = override.split("=", 1)[0].lstrip("+~")
        key = key.split("@", 1)[0]
        if key and key not in INVOCATION_KEYS and not key.startswith("hydra"):
            keys.append(key)
    return keys


def merge_overrides(base: dict[str, Any], composed: DictConfig, keys: Sequence[str]) -> DictConfig:
    """``base`` with every key in ``keys`` replaced by its value in ``composed``."""
    merged = OmegaConf.create(base)
    for key in keys:
        OmegaConf.update(merged, key, OmegaConf.select(composed, key), merge=False, force_add=True)
    return merged


def evaluation_config(cfg: DictConfig, state: dict[str, Any], overrides: Sequence[str]) -> DictConfig:
    """The config to evaluate with: the checkpoint's, updated by the command line.

    ``dataset.root`` comes from the command line if given, else from ``AUGMIX_DATA`` if set,
    else from the checkpoint.
    """
    if "config" not in state:
        raise UserError(
            f"{cfg.checkpoint} holds no augmix-bench config; for checkpoints of the reference "
            "implementation pass checkpoint_format=reference model=<name> dataset=<name>"
        )
    keys = override_keys(overrides)
    merged = merge_overrides(state["config"], cfg, keys)
    if "dataset.root" not in keys and "dataset" not in keys and os.environ.get("AUGMIX_DATA"):
        merged.dataset.root = os.environ["AUGMIX_DATA"]
    return merged


def evaluate_checkpoint(cfg: DictConfig, overrides: Sequence[str]) -> tuple[dict[str, Any], Path]:
    """Evaluate ``cfg.checkpoint`` and write the results; returns them and the output path."""
    checkpoint = Path(cfg.checkpoint).expanduser()
    if cfg.checkpoint_format != "native":
        raise UserError(f"checkpoint_format={cfg.checkpoint_format!r} is invalid; choose from: native")
    state = load_checkpoint(checkpoint)
    run_cfg = evaluation_config(cfg, state, overrides)
    suites = list(run_cfg.eval.suites)
    check_suites(suites)
    runtime = make_runtime(run_cfg.trainer)
    benchmark = build_benchmark(dataset_options(run_cfg.dataset))
    benchmark.prepare(required_parts(suites), bool(run_cfg.dataset.download))
    model = build_model(run_cfg.model.name, benchmark.num_classes, **model_options(run_cfg.model))
    model.load_state_dict(state["model"])
    model.to(runtime.device)
    evaluator = Evaluator(benchmark, runtime, int(run_cfg.trainer.eval_batch_size), run_cfg.eval.limit)
    start = time.perf_counter()
    evaluation = evaluator.run(model, suites)
    results = assemble_results(
        OmegaConf.to_container(run_cfg, resolve=True),
        evaluation,
        runtime,
        train_seconds=state.get("train_seconds"),
        eval_seconds=time.perf_counter() - start,
        train_images_per_second=None,
    )
    output = Path(cfg.output).expanduser() if cfg.output else checkpoint.parent / "eval_results.json"
    write_results(output, results)
    return results, output
