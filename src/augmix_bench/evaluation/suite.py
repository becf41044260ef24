"""The evaluation suite: clean test set, corruption (-C) and perturbation (-P) benchmarks, natural
distribution shifts, calibration and uncertainty -> results dict.

All rates in the returned dicts are percentages, as in ``results.json`` (top-5 distances are
distances, not rates); docs/benchmarks.md describes every entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..augment.augmix import normalize_pixels
from ..console import between_batches, progress_bar, raise_if_stop_requested
from ..data.arrays import ArrayTensorDataset
from ..data.benchmark import Benchmark
from ..data.names import CORRUPTIONS, EXTRA_CORRUPTIONS, NOISE_PERTURBATIONS, SEVERITIES
from ..data.shifts import restrict_labels
from ..data.worker_errors import unwrapped_worker_errors
from ..distributed.collectives import gather_objects, shard_bounds
from ..errors import UserError
from .metrics import (
    calibration_bins,
    corruption_errors,
    error_rate,
    flip_probability,
    mce,
    mean_corruption_error,
    relative_mce,
    rms_calibration_error,
    top5_distance,
)
from ..runtime import Runtime, eval_mode
from ..schema import SUITES  # the suites eval.suites may select
from . import alexnet
from .bootstrap import error_interval, paired_wrong
from .uncertainty import expected_calibration_error

log = logging.getLogger(__name__)

#: How many of the best classes ``predict`` records per image (for the top-5 distance).
TOP_K = 5

#: ``results.json`` keeps about this many equal-mass calibration bins per set (each of at least 100 images).
STORED_CALIBRATION_BINS = 100


@dataclass(frozen=True)
class Predictions:
    """Per-image outcome of a model on a dataset, in dataset order."""

    confidence: np.ndarray  # max softmax probability, float64
    predicted: np.ndarray  # argmax class, int64
    labels: np.ndarray  # int64
    top5: np.ndarray  # the min(5, classes) most probable classes, best first, int32 (N, k)
    nll: np.ndarray  # -log p(label), nats, float64 (NaN where the label is unknown, -1)
    brier: np.ndarray  # sum over classes of (p - onehot(label))^2, in [0, 2], float64 (NaN likewise)

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
            np.concatenate([p.top5 for p in parts]),
            np.concatenate([p.nll for p in parts]),
            np.concatenate([p.brier for p in parts]),
        )


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
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=runtime.num_workers,
        multiprocessing_context=runtime.worker_context,
        pin_memory=runtime.device.type == "cuda",
    )
    yield from unwrapped_worker_errors(loader)


def predict(
    model: torch.nn.Module,
    dataset: Dataset,
    runtime: Runtime,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    description: str = "eval",
    classes: Sequence[int] | None = None,
) -> Predictions:
    """Run ``model`` over ``dataset`` of (uint8 image, label) in eval mode.

    ``classes`` (e.g. ImageNet-R's 200 of the 1000) restricts the logits to those columns before
    the softmax, and labels become positions among them, as the sets' authors score models.
    Per image it keeps the confidence, the top classes and the label's NLL and Brier score (floats,
    not the probabilities). The next batch's copy to the device is issued before the current batch
    runs, and the predictions stay on the device until the whole set is done (one copy back per set).
    """
    confidences, ranked, labels, nlls, briers = [], [], [], [], []
    columns = None if classes is None else torch.as_tensor(list(classes), dtype=torch.long, device=runtime.device)
    total = -(-len(dataset) // batch_size)  # type: ignore[arg-type]
    batches = prefetched(iterate_batches(dataset, batch_size, runtime), runtime.device)
    with eval_mode(model), between_batches():
        for images, targets in progress_bar(batches, total=total, desc=description, leave=False, enabled=runtime.show_progress):
            raise_if_stop_requested()
            inputs = runtime.to_input(normalize_pixels(images, mean, std))
            with runtime.autocast():
                logits = model(inputs)
            if columns is not None:
                logits = logits[:, columns]
                targets = restrict_labels(targets, classes)  # type: ignore[arg-type]
            probs = torch.softmax(logits.float(), dim=1)
            best, best_classes = probs.topk(min(TOP_K, probs.shape[1]), dim=1)
            confidences.append(best[:, 0].double())
            ranked.append(best_classes.int())
            labels.append(targets.numpy())
            nll, brier = label_scores(logits, targets.to(logits.device, non_blocking=True))
            nlls.append(nll)
            briers.append(brier)
    if not labels:
        empty = np.zeros(0, dtype=np.int64)
        return Predictions(np.zeros(0), empty, empty, np.zeros((0, TOP_K), dtype=np.int32), np.zeros(0), np.zeros(0))
    top = torch.cat(ranked).cpu().numpy()
    return Predictions(
        torch.cat(confidences).cpu().numpy(),
        top[:, 0].astype(np.int64),
        np.concatenate(labels),
        top,
        torch.cat(nlls).cpu().numpy(),
        torch.cat(briers).cpu().numpy(),
    )


def label_scores(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, in float64: the NLL ``-log softmax(logits)[label]`` (nats) and the multi-class
    Brier score ``sum_c (p_c - onehot_c)^2 = sum_c p_c^2 - 2 p_label + 1``; NaN where the label is
    -1 (perturbation frames have none). Computed on the device without a synchronization."""
    log_probs = torch.log_softmax(logits.double(), dim=1)
    known = targets >= 0
    picked = targets.clamp(min=0).long()[:, None]
    label_log_prob = log_probs.gather(1, picked)[:, 0]
    probs = log_probs.exp()
    brier = probs.square().sum(dim=1) - 2.0 * label_log_prob.exp() + 1.0
    missing = torch.full_like(label_log_prob, float("nan"))
    return torch.where(known, -label_log_prob, missing), torch.where(known, brier, missing)


def prefetched(
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(images, labels)`` batches with the images on ``device``, copied one batch ahead.

    The copies are non-blocking (asynchronous from pinned memory); labels stay where they are.
    """
    pending = None
    for images, targets in batches:
        moved = (images.to(device, non_blocking=True), targets)
        if pending is not None:
            yield pending
        pending = moved
    if pending is not None:
        yield pending


def calibration(predictions: Predictions) -> dict:
    """RMS calibration error (percent) over all bins, and as Hendrycks' reference computes it
    (its loop skips the last, highest-confidence bin)."""
    confidence, correct = predictions.confidence, predictions.correct
    return {
        "rms_calibration_error": 100.0 * rms_calibration_error(confidence, correct),
        "rms_calibration_error_reference": 100.0 * rms_calibration_error(confidence, correct, reference_quirk=True),
    }


def uncertainty(predictions: Predictions) -> dict:
    """The mean NLL (nats), the mean multi-class Brier score (in [0, 2]) and the ECE (percent,
    15 equal-width bins, Guo et al. 2017) of ``predictions``; None for an empty set."""
    if not len(predictions.labels):
        return {"nll": None, "brier": None, "ece": None}
    return {
        "nll": float(np.mean(predictions.nll)),
        "brier": float(np.mean(predictions.brier)),
        "ece": 100.0 * expected_calibration_error(predictions.confidence, predictions.correct),
    }


def summarize(predictions: Predictions) -> dict:
    """Error, RMS calibration errors and ECE (percent), NLL and Brier score, the image count, the
    calibration bins and the error's 95% bootstrap interval over the images (``error_ci95``)."""
    return {
        "error": 100.0 * error_rate(predictions.correct),
        "error_ci95": error_interval(1.0 - predictions.correct.astype(np.float64)),
        **calibration(predictions),
        **uncertainty(predictions),
        "n": int(len(predictions.labels)),
        "calibration_bins": stored_calibration_bins(predictions),
    }


def stored_calibration_bins(predictions: Predictions) -> dict:
    """``results.json``'s ``calibration_bins``: equal-mass bins of ``max(100, N // STORED_CALIBRATION_BINS)``
    images, with ``bin_size``, per-bin mean ``confidence`` and ``accuracy`` (percent) and ``count``."""
    bin_size = max(100, len(predictions.labels) // STORED_CALIBRATION_BINS)
    bins = calibration_bins(predictions.confidence, predictions.correct, bin_size)
    return {
        "bin_size": bin_size,
        "confidence": [100.0 * c for c in bins["confidence"]],
        "accuracy": [100.0 * a for a in bins["accuracy"]],
        "count": bins["count"],
    }


class Evaluator:
    """Evaluates a model on a benchmark's suites with fixed runtime settings.

    Args:
        benchmark: the dataset family (clean test split and -C sets).
        runtime: device, precision, workers.
        batch_size: evaluation batch size.
        limit: at most this many images per evaluated set (the clean test set, each
            corruption x severity block and each shift set); None evaluates everything.
        shifts: the natural-shift sets of the ``shifts`` suite (None: the benchmark's default ones).
    """

    def __init__(
        self,
        benchmark: Benchmark,
        runtime: Runtime,
        batch_size: int,
        limit: int | None = None,
        shifts: Sequence[str] | None = None,
    ) -> None:
        self.benchmark = benchmark
        self.runtime = runtime
        self.batch_size = int(batch_size)
        self.limit = limit
        self.shift_names = None if shifts is None else tuple(shifts)

    def _predict(
        self, model: torch.nn.Module, dataset: Dataset, description: str, classes: Sequence[int] | None = None
    ) -> Predictions:
        """Predictions on at most ``limit`` items of ``dataset`` (see ``_predict_all``)."""
        return self._predict_all(model, limit_dataset(dataset, self.limit), description, classes)

    def _predict_all(
        self, model: torch.nn.Module, dataset: Dataset, description: str, classes: Sequence[int] | None = None
    ) -> Predictions:
        """Predictions on every item of ``dataset``, sharded across DDP ranks.

        Each rank predicts a contiguous shard; the shards are gathered in rank order, so every
        image is counted exactly once and the totals equal a single-process evaluation.
        """
        rank, world = self.runtime.rank, self.runtime.world_size
        shard = select(dataset, *shard_bounds(len(dataset), rank, world)) if world > 1 else dataset  # type: ignore[arg-type]
        mine = predict(
            model, shard, self.runtime, self.benchmark.mean, self.benchmark.std, self.batch_size, description, classes
        )
        return Predictions.concatenate(gather_objects(mine)) if world > 1 else mine

    def clean(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``clean`` entry."""
        return summarize(self._predict(model, self.benchmark.test_set(), "clean"))

    @staticmethod
    def _mce_interval(per_corruption: dict[str, dict], pooled: list[Predictions], extra: list[str]) -> list[float] | None:
        """The mCE's 95% bootstrap interval over the test images. mCE is linear in the per-image
        outcomes: mCE = mean over images of sum_{c,s} wrong_{c,s,i} / (C * 5 * AlexNet_c), so each
        image's weighted misclassification count is resampled; None unless the 15 benchmark
        corruptions are all there and their sets pair image by image."""
        headline = [c for c in per_corruption if c not in extra]
        if sorted(headline) != sorted(CORRUPTIONS):
            return None
        weights = [1.0 / (len(CORRUPTIONS) * len(SEVERITIES) * alexnet.CORRUPTION_ERRORS[c])
                   for c in headline for _ in SEVERITIES]  # ``pooled`` is in this order
        wrong = paired_wrong([p.correct for p in pooled], [p.labels for p in pooled], weights)
        return None if wrong is None else error_interval(wrong)

    def corruptions(self, model: torch.nn.Module, clean_error: float | None = None) -> dict:
        """``results.json``'s ``corruptions`` entry: per corruption and severity, means, calibration.

        The headline (``mean_error``, mCE, the pooled calibration) covers the benchmark corruptions:
        every corruption found except the four held-out ones (``EXTRA_CORRUPTIONS``), which an
        image-folder tree built by ``augmix-corrupt`` holds too; those are in ``per_corruption``,
        named by ``extra_corruptions`` and averaged apart in ``extra_mean_error`` (a tree holding
        only held-out corruptions has them as its headline).
        For a benchmark whose -C errors are AlexNet-normalized (``Benchmark.alexnet_normalized``)
        it adds each corruption's CE, the mCE and, given the clean error (percent), the relative mCE;
        otherwise those are None and ``mean_error`` (the unnormalized mean) is the headline.
        """
        per_corruption: dict[str, dict] = {}
        pooled: list[Predictions] = []
        by_severity: dict[int, list[Predictions]] = {severity: [] for severity in SEVERITIES}
        names = self.benchmark.corruption_names()
        held_out = [c for c in names if c in EXTRA_CORRUPTIONS]
        extra = held_out if len(held_out) < len(names) else []  # only held-out ones: they are the headline
        bar = progress_bar(total=len(names) * len(SEVERITIES), desc="corruptions", enabled=self.runtime.show_progress)
        for corruption in names:
            errors = []
            for severity in SEVERITIES:
                preds = self._predict(model, self.benchmark.corrupted_set(corruption, severity), f"{corruption}-{severity}")
                errors.append(100.0 * error_rate(preds.correct))
                if corruption not in extra:
                    pooled.append(preds)
                    by_severity[severity].append(preds)
                bar.update(1)
            per_corruption[corruption] = {"errors": errors, "mean_error": float(np.mean(errors)), "ce": None}
            if self.runtime.is_main:
                apart = " (held-out corruption: outside the mean corruption error)" if corruption in extra else ""
                log.info("%s: mean error %.2f%%%s", corruption, per_corruption[corruption]["mean_error"], apart)
        bar.close()
        everything = Predictions.concatenate(pooled)
        headline = {c: v["errors"] for c, v in per_corruption.items() if c not in extra}
        fractions = {c: [e / 100.0 for e in v["errors"]] for c, v in per_corruption.items()}
        normalized = self.benchmark.alexnet_normalized
        if normalized:
            for corruption, ce in corruption_errors(fractions).items():
                per_corruption[corruption]["ce"] = ce
        wrong = paired_wrong([p.correct for p in pooled], [p.labels for p in pooled])
        return {
            "mean_error": mean_corruption_error(headline),
            "mean_error_ci95": None if wrong is None else error_interval(wrong),
            "mce": mce(fractions) if normalized else None,
            "mce_ci95": self._mce_interval(per_corruption, pooled, extra) if normalized else None,
            "relative_mce": (
                relative_mce(fractions, clean_error / 100.0) if normalized and clean_error is not None else None
            ),
            **calibration(everything),
            **uncertainty(everything),
            "rms_calibration_error_by_severity": [
                100.0 * rms_calibration_error(p.confidence, p.correct)
                for p in (Predictions.concatenate(by_severity[s]) for s in SEVERITIES)
            ],
            "calibration_bins": stored_calibration_bins(everything),
            "extra_mean_error": mean_corruption_error({c: per_corruption[c]["errors"] for c in extra}) if extra else None,
            "extra_corruptions": extra,
            "per_corruption": per_corruption,
        }

    def corruptions_bar(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``corruptions_bar`` entry: the error of every -C-bar corruption at each
        severity, their means, and ``mean_error``, the mean over the corruptions of their mean errors
        (the headline of Mintun et al.), with the RMS calibration error of the pooled predictions."""
        names = self.benchmark.corruption_bar_names()
        if not names:
            raise UserError(f"dataset {self.benchmark.name!r} has no -C-bar set (corruptions_bar)")
        per_corruption: dict[str, dict] = {}
        pooled: list[Predictions] = []
        for corruption in names:
            errors = []
            for severity in SEVERITIES:
                dataset = self.benchmark.corrupted_bar_set(corruption, severity)
                preds = self._predict(model, dataset, f"{corruption}-{severity}")
                errors.append(100.0 * error_rate(preds.correct))
                pooled.append(preds)
            per_corruption[corruption] = {"errors": errors, "mean_error": float(np.mean(errors))}
            if self.runtime.is_main:
                log.info("-C-bar %s: mean error %.2f%%", corruption, per_corruption[corruption]["mean_error"])
        return {
            "mean_error": mean_corruption_error({c: v["errors"] for c, v in per_corruption.items()}),
            **calibration(Predictions.concatenate(pooled)),
            "corruptions": list(names),
            "per_corruption": per_corruption,
        }

    def perturbation(self, model: torch.nn.Module, perturbation: str) -> dict:
        """Flip probability (percent) and top-5 distance of one perturbation's sequences.

        ``limit`` caps the number of sequences. The top-5 distance is None with fewer than 5 classes.
        """
        sequences = self.benchmark.perturbed_set(perturbation)
        count = sequences.num_sequences if self.limit is None else min(self.limit, sequences.num_sequences)
        frames = sequences.num_frames
        preds = self._predict_all(model, select(sequences.frames, 0, count * frames), perturbation)
        noise = perturbation in NOISE_PERTURBATIONS
        top5 = preds.top5.reshape(count, frames, -1)
        return {
            "flip_probability": 100.0 * flip_probability(preds.predicted.reshape(count, frames), noise),
            "top5_distance": top5_distance(top5, noise) if top5.shape[2] == TOP_K else None,
            "sequences": count,
            "frames": frames,
        }

    def perturbations(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``perturbations`` entry: per perturbation and the unnormalized means.

        ``mean_flip_probability`` is CIFAR-10-P's mFP. ``mfr`` / ``mt5d`` (ImageNet-P's AlexNet-normalized
        means) stay None: AlexNet's ImageNet-P values are not recorded (see ``alexnet.py``).
        """
        names = self.benchmark.perturbation_names()
        if not names:
            raise UserError(f"dataset {self.benchmark.name!r} has no perturbation benchmark (-P)")
        per_perturbation = {name: self.perturbation(model, name) for name in names}
        flips = [v["flip_probability"] for v in per_perturbation.values()]
        distances = [v["top5_distance"] for v in per_perturbation.values()]
        return {
            "mean_flip_probability": float(np.mean(flips)),
            "mean_top5_distance": None if None in distances else float(np.mean(distances)),
            "mfr": None,
            "mt5d": None,
            "per_perturbation": per_perturbation,
        }

    def shifts(self, model: torch.nn.Module) -> dict:
        """``results.json``'s ``shifts`` entry: per natural-shift set (``shifts.<name>``) its error,
        calibration, NLL, Brier score and ECE as ``summarize`` gives them, evaluated with the clean
        set's transform; sets covering some classes only (ImageNet-R/-A) are scored on those."""
        entry = {}
        for name in self.benchmark.select_shifts(self.shift_names):
            dataset = self.benchmark.shift_set(name)
            entry[name] = summarize(self._predict(model, dataset, name, self.benchmark.shift_classes(name)))
            if self.runtime.is_main:
                log.info("%s: error %.2f%% on %d images", name, entry[name]["error"], entry[name]["n"])
        return entry

    def run(self, model: torch.nn.Module, suites: Sequence[str]) -> dict:
        """The ``clean``, ``corruptions``, ``perturbations``, ``shifts`` and ``corruptions_bar`` entries of ``results.json``."""
        check_suites(suites)
        clean = self.clean(model) if "clean" in suites else None
        clean_error = clean["error"] if clean is not None else None
        return {
            "clean": clean,
            "corruptions": self.corruptions(model, clean_error) if "corruptions" in suites else None,
            "perturbations": self.perturbations(model) if "perturbations" in suites else None,
            "shifts": self.shifts(model) if "shifts" in suites else None,
            "corruptions_bar": self.corruptions_bar(model) if "corruptions_bar" in suites else None,
        }


def check_suites(suites: Sequence[str], key: str = "eval.suites") -> None:
    """Refuse unknown entries of ``suites`` (given as ``key``) with the accepted ones."""
    for suite in suites:
        if suite not in SUITES:
            raise UserError(f"unknown eval suite {suite!r} in {key}; choose from: {', '.join(SUITES)}")


def required_parts(suites: Sequence[str]) -> list[str]:
    """Dataset parts the given suites read (the clean part is always needed)."""
    return ["clean"] + [s for s in suites if s != "clean"]
