"""``augmix-eval``: evaluate a saved checkpoint with the training run's dataset and model.

``checkpoint_format=native`` (written by ``augmix-train``): the checkpoint's own config is the base;
the keys the user overrode on the command line (``dataset.root``, ``eval.*``,
``trainer.num_workers``, ...) replace the checkpoint's values. A ``dataset.corruptions_dir`` on the
command line asks for the corruptions suite, added to the checkpoint's ``eval.suites`` unless the
command line sets ``eval.suites`` too.

``checkpoint_format=reference`` (written by the AugMix reference implementation) and
``checkpoint_format=state_dict`` (a bare ``state_dict``, e.g. a torchvision or timm model's
weights): the file holds only weights, so ``model=`` and ``dataset=`` come from the command line
(any ``model=custom model._target_=...`` included), and the composed eval config is what the
evaluation uses and what ``results.json`` records.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch import nn

from ..checkpoint_io import load_checkpoint
from .build import (
    build_benchmark_from_config,
    build_model_from_config,
    make_runtime,
)
from ..config.paths import group_options
from ..data.benchmark import Benchmark
from ..errors import UserError
from ..schema import CHECKPOINT_FORMATS
from ..files import check_writable
from ..models import load_reference_weights
from ..models.state_dict import load_fitting_state_dict
from ..evaluation.protocol import build_protocol
from ..evaluation.results import assemble_results, write_results
from ..evaluation.suite import Evaluator, check_suites, required_parts

log = logging.getLogger("augmix_bench")

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


@dataclass(frozen=True)
class EvaluationSetup:
    """How to evaluate one checkpoint: the config to use and what ``results.json`` says about the run."""

    config: DictConfig
    identity: dict[str, Any] | None  # dataset, model, augmentation, seed, epochs; None: from ``config``
    train_seconds: float | None


def native_setup(cfg: DictConfig, state: dict[str, Any], overrides: Sequence[str]) -> EvaluationSetup:
    """A checkpoint of ``augmix-train``: its config, updated by the command line."""
    return EvaluationSetup(evaluation_config(cfg, state, overrides), None, state.get("train_seconds"))


def weights_only_setup(cfg: DictConfig, state: dict[str, Any]) -> EvaluationSetup:
    """A checkpoint holding only weights (reference or bare state dict): model and dataset from
    the command line.

    The run's augmentation and seed are unknown (null); its epochs are the checkpoint's ``epoch``
    (the reference counts from 0) plus one, when present.
    """
    missing = [group for group in ("model", "dataset") if OmegaConf.select(cfg, f"{group}.name") is None]
    if missing:
        choices = "; ".join(f"{group}: {', '.join(group_options(group))}" for group in missing)
        needed = " and ".join(f"{group}=<name>" for group in missing)
        raise UserError(
            f"checkpoint_format={cfg.checkpoint_format} needs {needed} on the command line ({choices})"
        )
    epoch = state.get("epoch")
    identity = {
        "dataset": cfg.dataset.name,
        "model": cfg.model.name,
        "augmentation": None,
        "seed": None,
        "epochs": epoch + 1 if isinstance(epoch, int) else None,
    }
    return EvaluationSetup(cfg, identity, None)


def asked_suites(run_cfg: DictConfig, overrides: Sequence[str]) -> list[str]:
    """The suites to evaluate: ``eval.suites`` of ``run_cfg``, plus ``corruptions`` when the command
    line names a ``dataset.corruptions_dir`` and no ``eval.suites`` (a corruption set passed is a
    corruption evaluation asked for, whatever suites the checkpoint was trained with). ``run_cfg``
    is updated to match, so ``results.json`` records what was evaluated."""
    suites = list(run_cfg.eval.suites)
    keys = override_keys(overrides)
    named_dir = "dataset.corruptions_dir" in keys and OmegaConf.select(run_cfg, "dataset.corruptions_dir") is not None
    if named_dir and "corruptions" not in suites and not any(k in ("eval", "eval.suites") for k in keys):
        suites.append("corruptions")
        run_cfg.eval.suites = suites
        log.info("dataset.corruptions_dir given: evaluating the corruptions suite too (eval.suites=[%s])", ",".join(suites))
    return suites


def asked_shifts(run_cfg: DictConfig, benchmark: Benchmark, suites: Sequence[str]) -> list[str] | None:
    """The shift sets of the ``shifts`` suite: ``eval.shifts`` (None: the dataset's default ones),
    refused in one line, before any work, if the dataset has no such set (a checkpoint's config from
    before ``eval.shifts`` existed reads as None)."""
    names = OmegaConf.select(run_cfg, "eval.shifts", default=None)
    chosen = None if names is None else [str(n) for n in names]
    if "shifts" in suites or chosen is not None:
        benchmark.select_shifts(chosen)
    return chosen


def build_loaded_model(
    model_cfg: DictConfig, num_classes: int, state: dict[str, Any], checkpoint_format: str
) -> nn.Module:
    """The model ``model_cfg`` describes, for ``num_classes`` classes, holding the weights of the
    checkpoint ``state`` read in ``checkpoint_format`` (``native``: ``state["model"]``;
    ``reference``: the reference implementation's layout; ``state_dict``: ``state`` itself).

    A ``UserError`` names the first key or shape that does not fit the model.
    """
    model = build_model_from_config(model_cfg, num_classes)
    if checkpoint_format == "reference":
        load_reference_weights(model, state, model_cfg.name)
    else:
        load_fitting_state_dict(model, state["model"] if checkpoint_format == "native" else state, model_cfg.name)
    return model


def evaluate_checkpoint(cfg: DictConfig, overrides: Sequence[str]) -> tuple[dict[str, Any], Path]:
    """Evaluate ``cfg.checkpoint`` and write the results; returns them and the output path."""
    checkpoint = Path(cfg.checkpoint).expanduser()
    if cfg.checkpoint_format not in CHECKPOINT_FORMATS:
        accepted = ", ".join(CHECKPOINT_FORMATS)
        raise UserError(f"checkpoint_format={cfg.checkpoint_format!r} is invalid; choose from: {accepted}")
    if checkpoint.is_dir():
        found = checkpoint / "checkpoints" / "last.pt"
        hint = f"checkpoint={found}" if found.is_file() else "a checkpoint file such as <run>/checkpoints/last.pt"
        raise UserError(f"checkpoint={checkpoint} is a folder; accepted: {hint}")
    output = Path(cfg.output).expanduser() if cfg.output else checkpoint.parent / "eval_results.json"
    check_writable(output, "output")
    state = load_checkpoint(checkpoint)
    if not isinstance(state, dict):
        raise UserError(f"checkpoint {checkpoint} holds a {type(state).__name__}, not a dict")
    native = cfg.checkpoint_format == "native"
    setup = native_setup(cfg, state, overrides) if native else weights_only_setup(cfg, state)
    run_cfg = setup.config
    suites = asked_suites(run_cfg, overrides)
    check_suites(suites)
    runtime = make_runtime(run_cfg.trainer)
    benchmark = build_benchmark_from_config(run_cfg.dataset)
    shifts = asked_shifts(run_cfg, benchmark, suites)
    benchmark.prepare(required_parts(suites), bool(run_cfg.dataset.download), shifts=shifts)
    model = build_loaded_model(run_cfg.model, benchmark.num_classes, state, cfg.checkpoint_format)
    model.to(runtime.device)
    evaluator = Evaluator(benchmark, runtime, int(run_cfg.trainer.eval_batch_size), run_cfg.eval.limit, shifts)
    start = time.perf_counter()
    evaluation = evaluator.run(model, suites)
    data = benchmark.data_identity(suites)
    results = assemble_results(
        OmegaConf.to_container(run_cfg, resolve=True),
        evaluation,
        runtime,
        train_seconds=setup.train_seconds,
        eval_seconds=time.perf_counter() - start,
        train_images_per_second=None,
        identity=setup.identity,
        data=data,
        protocol=build_protocol(benchmark, suites, run_cfg.eval.limit, len(benchmark.test_set()), data),
    )
    write_results(output, results)
    return results, output
