"""The evaluation suite: clean test set, corruption benchmark (-C) and calibration -> results dict.

All numbers in the returned dicts are percentages, as in ``results.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from .data.arrays import ArrayTensorDataset
from .data.benchmark import Benchmark
from .data.names import SEVERITIES
from .distributed import gather_objects, shard_bounds
from .errors import UserError
from .metrics import error_rate, mean_corruption_error, rms_calibration_error
from .runtime import Runtime, eval_mode

#: Evaluation suites that ``eval.suites`` may select.
SUITES: tuple[str, ...] = ("clean", "corruptions")


@dataclass(frozen=True)
class Predictions:
    """Per-image outcome of a model on a dataset, in dataset order."""

    confidence: np.ndarray  # max softmax probability, float64
    predicted: np.ndarray  # argmax class, int64
    labels: np.ndarray  # int64

    @property
    def correct(self) -> np.ndarray:
        """Whether each prediction equals its label."""
        return self.predicted == self.labels

    @staticmethod
    def concatenate(parts: Sequence[Predictions]) -> Predictions:
        """Join the predictions of several datasets."""
        return Predictions(
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.predicted for p in parts]),
            np.concatenate([p.labels for p in parts]),
        )


def normalize_batch(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> normalized float32, computed on the tensor's device."""
    mean_t = torch.tensor(mean, device=images.device, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device, dtype=torch.float32).view(1, -1, 1, 1)
    return (images.float() / 255.0 - mean_t) / std_t


def select(dataset: Dataset, start: int, stop: int) -> Dataset:
    """Items ``start`` to ``stop`` of ``dataset`` (array datasets slice their arrays)."""
    if isinstance(dataset, ArrayTensorDataset):
        return dataset.select(start, stop)
    return Subset(dataset, range(start, stop))


def limit_dataset(dataset: Dataset, limit: int | None) -> Dataset:
    """The first ``limit`` items of ``dataset`` (all of them when ``limit`` is None)."""
    if limit is None or limit >= len(dataset):  # type: ignore[arg-type]
        return dataset
    if limit < 1:
        raise UserError(f"eval.limit={limit} is invalid; accepted: null or an integer >= 1")
    return select(dataset, 0, limit)


def iterate_batches(
    dataset: Dataset, batch_size: int, runtime: Runtime
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(uint8 images, labels) batches of ``dataset`` in order: array slices, or a DataLoader."""
    if isinstance(dataset, ArrayTensorDataset):
        yield from dataset.batches(batch_size)
        return
    yield from DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=runtime.num_workers,
        pin_memory=runtime.device.type == "cuda",
    )


def predict(
    model: torch.nn.Module,
    dataset: Dataset,
    runtime: Runtime,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    description: str = "eval",
) -> Predictions:
    """Run ``model`` over ``dataset`` of (uint8 image, label) in eval mode."""
    confidences, predicted, labels = [], [], []
    total = -(-len(dataset) // batch_size)  # type: ignore[arg-type]
    batches = iterate_batches(dataset, batch_size, runtime)
    with eval_mode(model):
        for images, targets in tqdm(batches, total=total, desc=description, leave=False, disable=not runtime.show_progress):
            inputs = runtime.to_input(normalize_batch(images.to(runtime.device), mean, std))
            with runtime.autocast():
                logits = model(inputs)
            probs = torch.softmax(logits.float(), dim=1)
            conf, pred = probs.max(dim=1)
            confidences.append(conf.double().cpu().numpy())
            predicted.append(pred.cpu().numpy())
            labels.append(targets.numpy())
    if not labels:
        return Predictions(np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return Predictions(np.concatenate(confidences), np.concatenate(predicted), np.concatenate(labels))


def summarize(predictions: Predictions) -> dict:
    """Error and RMS calibration error (percent) and the image count."""
    return {
        "error": 100.0 * error_rate(predictions.correct),
        "rms_calibration_error": 100.0 * rms_calibration_error(predictions.confidence, predictions.correct),
        "n": int(len(predictions.labels)),
    }


class Evaluator:
    """Evaluates a model on a benchmark's suites with fixed runtime settings.

    Args:
        benchmark: the dataset family (clean test split and -C sets).
        runtime: device, precision, workers.
        batch_size: evaluation batch size.
        limit: at most this many images per evaluated set (the clean test set and each
            corruption x severity block); None evaluates everything.
    """

    def __init__(self, benchmark: Benchmark, runtime: Runtime, batch_size: int, limit: int | None = None) -> None:
        self.benchmark = benchmark
        self.runtime = runtime
        self.batch_size = int(batch_size)
        self.limit = limit

    def _predict(self, model: torch.nn.Module, dataset: Dataset, description: str) -> Predictions:
        """Predictions on (at most ``limit`` items of) ``dataset``, sharded across DDP ranks.

        Each rank predicts a contiguous shard; the shards are gathered in rank order, so every
        image is counted exactly once and the totals equal a single-process evaluation.
        """
        dataset = limit_dataset(dataset, self.limit)
        rank, world = self.runtime.rank, self.runtime.world_size
        shard = select(dataset, *shard_bounds(len(dataset), rank, world)) if world > 1 else dataset  # type: ignore[arg-type]
        mine = predict(model, shard, self.runtime, self.benchmark.mean, self.benchmark.std, self.batch_size, description)
        return Predictions.concatenate(gather_objects(mine)) if world > 1 else mine

    def clean(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``clean`` entry."""
        return summarize(self._predict(model, self.benchmark.test_set(), "clean"))

    def corruptions(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``corruptions`` entry: per corruption and severity, mean, calibration."""
        per_corruption: dict[str, dict] = {}
        pooled: list[Predictions] = []
        names = self.benchmark.corruption_names()
        bar = tqdm(total=len(names) * len(SEVERITIES), desc="corruptions", disable=not self.runtime.show_progress)
        for corruption in names:
            errors = []
            for severity in SEVERITIES:
                preds = self._predict(model, self.benchmark.corrupted_set(corruption, severity), f"{corruption}-{severity}")
                errors.append(100.0 * error_rate(preds.correct))
                pooled.append(preds)
                bar.update(1)
            per_corruption[corruption] = {"errors": errors, "mean_error": float(np.mean(errors)), "ce": None}
        bar.close()
        everything = Predictions.concatenate(pooled)
        return {
            "mean_error": mean_corruption_error({c: v["errors"] for c, v in per_corruption.items()}),
            "mce": None,
            "relative_mce": None,
            "rms_calibration_error": 100.0 * rms_calibration_error(everything.confidence, everything.correct),
            "per_corruption": per_corruption,
        }

    def run(self, model: torch.nn.Module, suites: Sequence[str]) -> dict:
        """The ``clean``, ``corruptions`` and ``perturbations`` entries of ``results.json``."""
        check_suites(suites)
        return {
            "clean": self.clean(model) if "clean" in suites else None,
            "corruptions": self.corruptions(model) if "corruptions" in suites else None,
            "perturbations": None,
        }


def check_suites(suites: Sequence[str]) -> None:
    """Refuse unknown entries of ``eval.suites`` with the accepted ones."""
    for suite in suites:
        if suite not in SUITES:
            raise UserError(f"unknown eval suite {suite!r} in eval.suites; choose from: {', '.join(SUITES)}")


def required_parts(suites: Sequence[str]) -> list[str]:
    """Dataset parts the given suites read (the clean part is always needed)."""
    return ["clean"] + [s for s in suites if s != "clean"]
