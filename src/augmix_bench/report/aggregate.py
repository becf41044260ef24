"""Grouping runs into table cells: one cell per (dataset, model, augmentation, recipe), seeds averaged.

The recipe of a run is what its config says about how it was trained and measured, besides the
seed: the dataset, model, augmentation and optimizer settings, ``trainer.epochs``,
``trainer.batch_size``, ``trainer.precision`` and ``eval.limit``. Runs of the same dataset, model and
augmentation whose recipes differ are never averaged together: each recipe is its own cell,
labelled by the keys that differ (e.g. ``trainer.epochs=3``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data.names import CORRUPTIONS, EXTRA_CORRUPTIONS, SEVERITIES
from .collect import Run
from .paper import ablation_methods, table1_methods, table1_models

#: Config entries (dotted prefixes) that make up a run's recipe.
RECIPE_KEYS: tuple[str, ...] = (
    "dataset",
    "model",
    "augmentation",
    "optim",
    "trainer.epochs",
    "trainer.batch_size",
    "trainer.precision",
    "eval.limit",
)
#: Entries under ``RECIPE_KEYS`` that say where data comes from, not what is measured.
NOT_RECIPE: tuple[str, ...] = ("dataset.root", "dataset.download")


@dataclass(frozen=True)
class Stat:
    """Mean, sample standard deviation (None for fewer than 2 values) and count of a metric over seeds."""

    mean: float | None
    std: float | None
    n: int


def stat(values: Iterable[float | None]) -> Stat:
    """``Stat`` of the non-None ``values`` (mean None and n 0 when there are none)."""
    present = [float(v) for v in values if v is not None]
    n = len(present)
    if n == 0:
        return Stat(None, None, 0)
    mean = sum(present) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in present) / (n - 1)) if n > 1 else None
    return Stat(mean, std, n)


def run_metrics(results: dict[str, Any]) -> dict[str, float | None]:
    """The numbers of one ``results.json`` under flat names (percent; None where absent).

    ``clean_error``, ``mean_corruption_error``, ``mce``, ``relative_mce``, ``clean_calibration``,
    ``corrupted_calibration``, ``mean_flip_probability``; per corruption ``error/<name>`` (mean over
    severities) and ``ce/<name>``; per severity ``severity_error/<s>`` (mean over the corruptions) and
    ``severity_calibration/<s>`` (RMS calibration error of the pooled severity, newer files only).
    """
    clean = results.get("clean") or {}
    corruptions = results.get("corruptions") or {}
    per_corruption = corruptions.get("per_corruption") or {}
    metrics: dict[str, float | None] = {
        "clean_error": clean.get("error"),
        "mean_corruption_error": corruptions.get("mean_error"),
        "mce": corruptions.get("mce"),
        "relative_mce": corruptions.get("relative_mce"),
        "clean_calibration": clean.get("rms_calibration_error"),
        "corrupted_calibration": corruptions.get("rms_calibration_error"),
        "mean_flip_probability": (results.get("perturbations") or {}).get("mean_flip_probability"),
    }
    for name, entry in per_corruption.items():
        errors = entry["errors"]
        metrics[f"error/{name}"] = sum(errors) / len(errors) if errors else None
        metrics[f"ce/{name}"] = entry.get("ce")
    benchmark = [per_corruption[c]["errors"] for c in CORRUPTIONS if c in per_corruption]
    if benchmark and all(len(e) == len(SEVERITIES) for e in benchmark):
        for index, severity in enumerate(SEVERITIES):
            metrics[f"severity_error/{severity}"] = sum(e[index] for e in benchmark) / len(benchmark)
    by_severity = corruptions.get("rms_calibration_error_by_severity") or []
    for severity, value in zip(SEVERITIES, by_severity):
        metrics[f"severity_calibration/{severity}"] = value
    return metrics


def corruption_names(runs: Iterable[Run]) -> list[str]:
    """Corruptions evaluated by any of ``runs``: the 15 benchmark ones, the extra ones, then others."""
    found = {name for run in runs for name in ((run.results.get("corruptions") or {}).get("per_corruption") or {})}
    known = [c for c in (*CORRUPTIONS, *EXTRA_CORRUPTIONS) if c in found]
    return known + sorted(found - set(known))


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"dotted.key": leaf value}`` (lists are leaves)."""
    if not isinstance(config, dict):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def recipe_entries(results: dict[str, Any]) -> dict[str, str]:
    """The recipe of a run: its config entries under ``RECIPE_KEYS`` (values as JSON text).

    A results file without a config (e.g. of a checkpoint not trained here) has only
    ``trainer.epochs``, from its ``epochs`` entry.
    """
    config = results.get("config")
    if not isinstance(config, dict):
        return {"trainer.epochs": json.dumps(results.get("epochs"))}
    entries = {}
    for key, value in flatten(config).items():
        in_recipe = any(key == k or key.startswith(k + ".") for k in RECIPE_KEYS)
        excluded = key in NOT_RECIPE or key.endswith(("url", "md5"))
        if in_recipe and not excluded:
            entries[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return entries


@dataclass(frozen=True)
class Group:
    """One table cell: the runs of a (dataset, model, augmentation, recipe), seeds pooled.

    ``recipe`` holds the entries that distinguish this cell from other cells of the same dataset,
    model and augmentation (empty when all their runs share one recipe).
    """

    dataset: str
    model: str
    augmentation: str
    recipe: tuple[tuple[str, str], ...]
    runs: tuple[Run, ...]

    @property
    def recipe_label(self) -> str:
        """E.g. ``trainer.epochs=3, optim.lr=0.05`` (empty for the only recipe)."""
        return ", ".join(f"{key}={value}" for key, value in self.recipe)

    @property
    def label(self) -> str:
        """``model / augmentation`` plus the recipe in brackets when there is one."""
        recipe = f" [{self.recipe_label}]" if self.recipe else ""
        return f"{self.model} / {self.augmentation}{recipe}"

    @property
    def seeds(self) -> list[Any]:
        """The seeds of the runs, in run order."""
        return [run.results.get("seed") for run in self.runs]

    def stat(self, metric: str) -> Stat:
        """Mean, sample std and count over the runs of a metric of ``run_metrics``."""
        return stat(run_metrics(run.results).get(metric) for run in self.runs)


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group ``runs`` into cells; the order is dataset, model, augmentation (by ``sort_key``), recipe."""
    by_cell: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        r = run.results
        by_cell.setdefault((r["dataset"], r["model"], r["augmentation"]), []).append(run)
    groups = []
    for (dataset, model, augmentation), cell_runs in by_cell.items():
        recipes = [recipe_entries(run.results) for run in cell_runs]
        differing = sorted(
            key for key in set().union(*recipes) if len({r[key] for r in recipes if key in r}) > 1
        )
        by_recipe: dict[tuple[tuple[str, str], ...], list[Run]] = {}
        for run, recipe in zip(cell_runs, recipes):
            label = tuple((key, recipe.get(key, "?")) for key in differing)
            by_recipe.setdefault(label, []).append(run)
        for recipe_label, members in sorted(by_recipe.items()):
            groups.append(Group(dataset, model, augmentation, recipe_label, tuple(members)))
    return sorted(groups, key=lambda g: (g.dataset, *sort_key(g.model, g.augmentation), g.recipe))


def sort_key(model: str, augmentation: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """The paper's order: Table 1's architectures and methods first (then the ablation's), others by name."""
    models = table1_models() + ["resnet50"]
    methods = table1_methods() + [m for m in ablation_methods() if m not in table1_methods()]
    return (
        (models.index(model) if model in models else len(models), model),
        (methods.index(augmentation) if augmentation in methods else len(methods), augmentation),
    )


def datasets(groups: Sequence[Group]) -> list[str]:
    """The datasets of ``groups``, in order of first appearance."""
    return list(dict.fromkeys(g.dataset for g in groups))
