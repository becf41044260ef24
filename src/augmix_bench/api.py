"""The Python API: ``evaluate`` any ``torch.nn.Module`` on a benchmark, and ``load_checkpoint`` a
checkpoint of ``augmix-train``, without Hydra's command line or a config tree of one's own.

Both are the command-line tools' own code paths: ``evaluate`` builds the dataset from the package's
``configs/dataset/<name>.yaml`` with the builder ``augmix-eval`` uses and runs the same ``Evaluator``;
``load_checkpoint`` rebuilds and fills the model as ``augmix-eval`` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from . import checkpoint_io
from .commands.build import build_benchmark_from_config
from .commands.evaluate import build_loaded_model
from .config.paths import dataset_config
from .errors import UserError
from .evaluation.suite import Evaluator, check_suites, required_parts
from .runtime import Runtime, configure_cuda_math, device_from
from .schema import Rule, check

#: The rules of ``evaluate``'s plain keyword arguments (refused in one line, as config keys are).
ARGUMENT_RULES: dict[str, Rule] = {
    "batch_size": Rule("int", minimum=1),
    "num_workers": Rule("int", minimum=0),
    "limit": Rule("int", minimum=1, nullable=True),
    "download": Rule("bool"),
    "progress": Rule("bool"),
}

#: What a checkpoint of ``augmix-train`` holds besides its training state (``Trainer.state``).
CHECKPOINT_KEYS: tuple[str, ...] = ("model", "config", "num_classes")


def evaluate(
    model: nn.Module,
    dataset: str = "cifar10",
    *,
    root: str | os.PathLike[str],
    suites: Sequence[str] | str = ("clean", "corruptions"),
    device: str | torch.device | None = None,
    batch_size: int = 256,
    download: bool = False,
    num_workers: int = 0,
    limit: int | None = None,
    progress: bool = True,
    shifts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset``'s ``suites``: ``results.json``'s evaluation entries.

    Args:
        model: any module mapping a float batch ``(B, 3, H, W)`` to logits ``(B, num_classes)``
            (32x32 images for CIFAR). It receives the images exactly as ``augmix-eval`` feeds
            them: ``(pixel / 255 - mean) / std`` per channel with the dataset's statistics
            (``augmix_bench.data.constants``: mean = std = 0.5 for CIFAR, so values in [-1, 1];
            torchvision's ImageNet statistics for ``imagenet`` and ``image_folder``). It is moved
            to ``device`` and run in eval mode without gradients (its training flag is restored).
        dataset: a dataset of the package (``configs/dataset``: cifar10, cifar100, image_folder,
            imagenet, synthetic), built with that file's options.
        root: the folder holding the dataset, as ``dataset.root`` of the command line (e.g.
            ``cifar-10-batches-py/`` and ``CIFAR-10-C/``).
        suites: any of ``clean``, ``corruptions`` (-C), ``perturbations`` (-P), ``shifts`` (natural
            distribution shifts: CIFAR-10.1/10.2, ImageNet-V2/-R/-A/-Sketch).
        device: None: CUDA if available, else the CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a
            ``torch.device``. On CUDA, TF32 is turned off and cuDNN autotuning on, process-wide,
            as ``augmix-eval`` does (``trainer.tf32=false``).
        batch_size: images per forward pass.
        download: fetch missing parts (as ``dataset.download=true``); otherwise missing data is
            a ``UserError`` saying where it was looked for.
        num_workers: data-loader workers (image-folder datasets; CIFAR arrays need none).
        limit: at most this many images per evaluated set (and sequences per perturbation).
        progress: progress bars (a line a minute when stderr is not a terminal).
        shifts: the shift sets of the ``shifts`` suite (as ``eval.shifts``; None: all of the
            dataset's default ones, e.g. cifar10_1 and cifar10_2 for CIFAR-10).

    Returns:
        ``{"clean": ..., "corruptions": ..., "perturbations": ..., "shifts": ..., "corruptions_bar": ...}`` as in ``results.json``
        (docs/benchmarks.md), a suite not run being None; percentages, not rounded.

    Raises:
        UserError: an unknown dataset or suite, a bad argument or missing data, naming the bad
            value and what is accepted.
    """
    if not isinstance(model, nn.Module):
        raise UserError(f"model is a {type(model).__name__}, not a torch.nn.Module")
    options = dataset_config(dataset)
    names = [suites] if isinstance(suites, str) else list(suites)
    check_suites(names, "suites")
    for key, value in (("batch_size", batch_size), ("num_workers", num_workers), ("limit", limit),
                       ("download", download), ("progress", progress)):
        check(key, value, ARGUMENT_RULES)
    runtime = Runtime(device=device_from(device), num_workers=num_workers, progress=progress)
    configure_cuda_math(runtime.device, tf32=False)
    benchmark = build_benchmark_from_config({**options, "root": os.fspath(root)})
    chosen = None if shifts is None else [shifts] if isinstance(shifts, str) else list(shifts)
    if "shifts" in names or chosen is not None:
        benchmark.select_shifts(chosen, "shifts")
    benchmark.prepare(required_parts(names), download, progress, shifts=chosen)
    model.to(runtime.device)
    return Evaluator(benchmark, runtime, batch_size, limit, chosen).run(model, names)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[nn.Module, DictConfig]:
    """The model and config of a checkpoint written by ``augmix-train`` (``<run>/checkpoints/last.pt``).

    The model is rebuilt from the config's ``model`` node with the builder ``augmix-eval`` uses (a
    model of one's own needs its package importable), holds the checkpoint's weights, lies on the
    CPU and is in eval mode. The config is the run's resolved config as an OmegaConf ``DictConfig``
    (``config.model.name``, ``config.dataset.name``, ...; ``OmegaConf.to_container`` makes a dict).

    Raises:
        UserError: the file is missing or unreadable, was not written by ``augmix-train`` (e.g.
            bare weights: build the model and call ``load_state_dict``), or its weights do not fit
            the model its config describes.
    """
    state = checkpoint_io.load_checkpoint(path)
    missing = [key for key in CHECKPOINT_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise UserError(
            f"checkpoint {path} was not written by augmix-train (it holds no {missing[0]!r}); accepted: "
            "<run>/checkpoints/last.pt of augmix-train (for bare weights, build the model and call load_state_dict)"
        )
    config = OmegaConf.create(state["config"])
    model = build_loaded_model(config.model, int(state["num_classes"]), state, "native")
    return model.eval(), config
