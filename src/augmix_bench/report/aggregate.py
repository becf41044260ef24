"""Grouping runs into table cells: one cell per (data, model, augmentation, recipe), seeds averaged.

The data of a run is its dataset's name plus the fingerprint of its files that ``results.json``'s
``data`` entry records (image folders: the listing of ``train/`` and ``val/``); runs of one name
on different files are reported apart, each labelled by its root folder and fingerprint. A
results file written before the ``data`` entry existed is grouped by the name alone, as before
(it is never pooled with runs that record a files fingerprint, and the report says so); its -C
source is read from its config (``corruption_source``).

The recipe of a run is what its config says about how it was trained and measured, besides the
seed: the dataset, model, augmentation and optimizer settings, ``trainer.epochs``,
``trainer.batch_size``, ``trainer.precision``, ``eval.suites`` and ``eval.limit``, plus where its -C
set came from (``data.corruptions``: released, generated or another ``corruptions_dir``, with its
fingerprint). Runs of the same data, model and augmentation whose recipes differ are never
averaged together: each recipe is its own cell, labelled by the keys that differ (e.g.
``trainer.epochs=3``).

A results.json with a ``protocol`` entry puts its protocol phrases (``report/protocol.py``) in the
recipe in place of ``eval.limit`` and the -C source; a cell whose protocol differs from the one most
runs of its dataset share is marked with its differing phrases (``Group.marks``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..data.names import CORRUPTIONS, EXTRA_CORRUPTIONS, SEVERITIES
from ..held_out import corruption_overlap
from .collect import Run
from .paper import ablation_methods, table1_methods, table1_models
from .protocol import PREFIX, common_protocol, marks, protocol_entries

#: Config entries (dotted prefixes) that make up a run's recipe.
RECIPE_KEYS: tuple[str, ...] = (
    "dataset",
    "model",
    "augmentation",
    "optim",
    "trainer.epochs",
    "trainer.batch_size",
    "trainer.precision",
    "eval.suites",
    "eval.limit",
)
#: Entries under ``RECIPE_KEYS`` that say where data comes from, not what is measured.
NOT_RECIPE: tuple[str, ...] = ("dataset.root", "dataset.download")
#: Where the -C set was read from: in the recipe, ``data.corruptions`` (the -C source) stands for it.
CORRUPTIONS_LOCATION = "dataset.corruptions_dir"
#: The recipe entry naming a run's -C source and fingerprint.
CORRUPTIONS_ENTRY = "data.corruptions"
#: The label of a run whose results.json records no files fingerprint, beside runs that do.
UNRECORDED = "files not recorded"


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
    ``severity_calibration/<s>`` (RMS calibration error of the pooled severity, newer files only);
    ``mean_corruption_bar_error`` and per -C-bar corruption ``bar_error/<name>``.
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
    metrics.update(uncertainty_metrics(results))
    bar = results.get("corruptions_bar") or {}
    metrics["mean_corruption_bar_error"] = bar.get("mean_error")
    for name, entry in (bar.get("per_corruption") or {}).items():
        metrics[f"bar_error/{name}"] = entry.get("mean_error")
    return metrics


#: The uncertainty metrics of a results entry (``clean``, ``corruptions``, ``shifts.<name>``).
UNCERTAINTY: tuple[str, ...] = ("nll", "brier", "ece")


def uncertainty_metrics(results: dict[str, Any]) -> dict[str, float | None]:
    """The NLL, Brier score and ECE of the clean and pooled corrupted sets (``clean_nll``,
    ``corrupted_ece``, ...) and per natural-shift set its error and those three
    (``shift_error/<name>``, ``shift_nll/<name>``, ...); None where absent (older files)."""
    clean = results.get("clean") or {}
    corruptions = results.get("corruptions") or {}
    metrics: dict[str, float | None] = {}
    for key in UNCERTAINTY:
        metrics[f"clean_{key}"] = clean.get(key)
        metrics[f"corrupted_{key}"] = corruptions.get(key)
    for name, entry in (results.get("shifts") or {}).items():
        metrics[f"shift_error/{name}"] = entry.get("error")
        for key in UNCERTAINTY:
            metrics[f"shift_{key}/{name}"] = entry.get(key)
    return metrics


def run_intervals(results: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """The 95% bootstrap intervals over test images that ``results.json`` records for the headline
    errors, under the names of ``run_metrics``: ``clean_error`` (``clean.error_ci95``),
    ``mean_corruption_error`` (``corruptions.mean_error_ci95``), ``mce`` (``corruptions.mce_ci95``)
    and ``shift_error/<name>``
    (``shifts.<name>.error_ci95``); absent where not recorded."""
    found = {
        "clean_error": (results.get("clean") or {}).get("error_ci95"),
        "mean_corruption_error": (results.get("corruptions") or {}).get("mean_error_ci95"),
        "mce": (results.get("corruptions") or {}).get("mce_ci95"),
        **{f"shift_error/{name}": entry.get("error_ci95") for name, entry in (results.get("shifts") or {}).items()},
    }
    return {key: (float(value[0]), float(value[1])) for key, value in found.items() if value is not None}


def shift_names(runs: Iterable[Run]) -> list[str]:
    """The natural-shift sets evaluated by any of ``runs``, in order of first appearance."""
    return list(dict.fromkeys(name for run in runs for name in (run.results.get("shifts") or {})))


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
    """The recipe of a run: its config entries under ``RECIPE_KEYS`` (values as JSON text) and
    its -C source (``data.corruptions``).

    A results file without a config (e.g. of a checkpoint not trained here) has only
    ``trainer.epochs``, from its ``epochs`` entry. A results file with a ``protocol`` has its
    phrases as ``protocol.<entry>``, which stand for ``eval.limit``, the -C source and where the
    -C-bar set lives.
    """
    protocol = {PREFIX + key: value for key, value in protocol_entries(results).items()}
    config = results.get("config")
    if not isinstance(config, dict):
        return {"trainer.epochs": json.dumps(results.get("epochs")), **protocol}
    source = corruption_source(results)
    entries = {}
    for key, value in flatten(config).items():
        in_recipe = any(key == k or key.startswith(k + ".") for k in RECIPE_KEYS)
        excluded = key in NOT_RECIPE or key.endswith(("url", "md5")) or (key == CORRUPTIONS_LOCATION and source)
        covered = bool(protocol) and key in ("eval.limit", CORRUPTIONS_LOCATION, "dataset.corruptions_bar_dir")
        if in_recipe and not excluded and not covered:
            entries[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if source and not protocol:
        entries[CORRUPTIONS_ENTRY] = source
    return {**entries, **protocol}


def corruption_source(results: dict[str, Any]) -> str | None:
    """E.g. ``released`` or ``generated 1a2b3c4d5e6f7a8b``: where the run's -C set came from, as its
    ``data`` entry records it; None for a run that evaluated no corruptions.

    An older results.json (no ``data`` entry) read CIFAR's or ImageNet's released set when its
    config names no ``corruptions_dir``; otherwise its -C source is ``not recorded`` (with the
    ``corruptions_dir`` it names, so that runs on different folders stay apart).
    """
    data = results.get("data")
    if isinstance(data, dict):
        corruptions = data.get("corruptions")
        if not isinstance(corruptions, dict):
            return None
        fingerprint = corruptions.get("fingerprint")
        return f"{corruptions.get('source')}" + (f" {fingerprint}" if fingerprint else "")
    if not (results.get("corruptions") or {}).get("per_corruption"):
        return None
    dataset = (results.get("config") or {}).get("dataset") or {}
    folder = dataset.get("corruptions_dir")
    if folder:
        return f"not recorded, corruptions_dir={folder}"
    return "not recorded" if str(dataset.get("_target_", "")).endswith("ImageFolderBenchmark") else "released"


def files_fingerprint(results: dict[str, Any]) -> str | None:
    """The fingerprint of the run's dataset files (``data.fingerprint``; None: not recorded, or a
    dataset whose name identifies its published files)."""
    data = results.get("data")
    fingerprint = data.get("fingerprint") if isinstance(data, dict) else None
    return fingerprint if isinstance(fingerprint, str) else None


def run_overlap(results: dict[str, Any]) -> dict[str, list[str]]:
    """The run's ops that overlap -C corruptions, op -> corruptions: its ``corruption_overlap`` entry,
    or for a results file written before that entry, what its config's augmentation implies
    (``held_out``); empty where none overlap or the op set is not known."""
    if "corruption_overlap" in results:
        overlap = results["corruption_overlap"]
    else:
        overlap = corruption_overlap((results.get("config") or {}).get("augmentation"))
    return overlap if isinstance(overlap, dict) else {}


@dataclass(frozen=True)
class Group:
    """One table cell: the runs of a (data, model, augmentation, recipe), seeds pooled.

    ``recipe`` holds the entries that distinguish this cell from other cells of the same dataset,
    model and augmentation (empty when all their runs share one recipe).
    """

    dataset: str
    model: str
    augmentation: str
    recipe: tuple[tuple[str, str], ...]
    runs: tuple[Run, ...]
    data: str = ""  # which files of ``dataset``, where runs on different files of that name were found
    marks: tuple[str, ...] = ()  # the protocol phrases in which this cell differs from its dataset's common protocol

    @property
    def dataset_label(self) -> str:
        """The dataset's name, with ``[data]`` when runs on other files of that name were found."""
        return f"{self.dataset} [{self.data}]" if self.data else self.dataset

    @property
    def settings(self) -> tuple[tuple[str, str], ...]:
        """The recipe entries other than protocol phrases (those are shown as ``marks``)."""
        return tuple((key, value) for key, value in self.recipe if not key.startswith(PREFIX))

    @property
    def protocol(self) -> dict[str, str]:
        """The protocol phrases of the cell's runs (all the same: differing ones split cells)."""
        return protocol_entries(self.runs[0].results) if self.runs else {}

    @property
    def recipe_label(self) -> str:
        """E.g. ``trainer.epochs=3, optim.lr=0.05`` then the protocol marks, e.g. ``first 1,000 of
        10,000 test images`` (empty for the only recipe under the common protocol)."""
        return ", ".join([f"{key}={value}" for key, value in self.settings] + list(self.marks))

    @property
    def label(self) -> str:
        """``model / augmentation`` plus the recipe in brackets when there is one."""
        recipe = f" [{self.recipe_label}]" if self.recipe_label else ""
        return f"{self.model} / {self.augmentation}{recipe}"

    @property
    def seeds(self) -> list[Any]:
        """The seeds of the runs, in run order."""
        return [run.results.get("seed") for run in self.runs]

    @property
    def repeated_seeds(self) -> dict[Any, int]:
        """Seeds that more than one run of the cell used, with their counts (unknown seeds left out)."""
        counts = Counter(seed for seed in self.seeds if seed is not None)
        return {seed: count for seed, count in counts.items() if count > 1}

    @property
    def overlap(self) -> dict[str, list[str]]:
        """The ops of the cell's augmentation that overlap -C corruptions (any of its runs'), op ->
        corruptions; empty when -C is held out for it (or its op set is not known)."""
        merged: dict[str, list[str]] = {}
        for run in self.runs:
            for op, corruptions in run_overlap(run.results).items():
                merged.setdefault(op, list(corruptions))
        return merged

    def stat(self, metric: str) -> Stat:
        """Mean, sample std and count over the runs of a metric of ``run_metrics``."""
        return stat(run_metrics(run.results).get(metric) for run in self.runs)

    def interval(self, metric: str) -> tuple[float, float] | None:
        """The 95% bootstrap interval over test images of ``metric`` (``run_intervals``) for a cell
        of a single run; None for several runs (their spread is the std over seeds) or none recorded."""
        return run_intervals(self.runs[0].results).get(metric) if len(self.runs) == 1 else None


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group ``runs`` into cells; the order is dataset (and its files), model, augmentation (by
    ``sort_key``), recipe, the cells of the common protocol before the marked ones."""
    by_cell: dict[tuple[str, str | None, str, str], list[Run]] = {}
    for run in runs:
        r = run.results
        by_cell.setdefault((r["dataset"], files_fingerprint(r), r["model"], r["augmentation"]), []).append(run)
    labels = data_labels(runs)
    groups = []
    for (dataset, fingerprint, model, augmentation), cell_runs in by_cell.items():
        recipes = [recipe_entries(run.results) for run in cell_runs]
        differing = sorted(
            key for key in set().union(*recipes) if len({r[key] for r in recipes if key in r}) > 1
        )
        by_recipe: dict[tuple[tuple[str, str], ...], list[Run]] = {}
        for run, recipe in zip(cell_runs, recipes):
            label = tuple((key, recipe.get(key, "?")) for key in differing)
            by_recipe.setdefault(label, []).append(run)
        for recipe_label, members in sorted(by_recipe.items()):
            data = labels[(dataset, fingerprint)]
            groups.append(Group(dataset, model, augmentation, recipe_label, tuple(members), data))
    groups = marked(groups)
    return sorted(
        groups, key=lambda g: (g.dataset, g.data, *sort_key(g.model, g.augmentation), g.settings, bool(g.marks), g.recipe)
    )


def marked(groups: Sequence[Group]) -> list[Group]:
    """``groups`` with each one's ``marks``: the protocol phrases in which it differs from the
    protocol most runs of its dataset (name and files) share."""
    common = {
        label: common_protocol(protocol_entries(run.results) for g in groups if g.dataset_label == label for run in g.runs)
        for label in dict.fromkeys(g.dataset_label for g in groups)
    }
    return [replace(g, marks=marks(g.protocol, common[g.dataset_label])) for g in groups]


def table_protocol(groups: Sequence[Group]) -> dict[str, str]:
    """The protocol most runs of ``groups`` share (a table's ``Protocol:`` line)."""
    return common_protocol(protocol_entries(run.results) for g in groups for run in g.runs)


def data_labels(runs: Sequence[Run]) -> dict[tuple[str, str | None], str]:
    """A label for each (dataset name, files fingerprint) of ``runs``: empty where the name has one
    set of files, else e.g. ``flowers, files 1a2b3c4d`` (the root folder's name and the fingerprint)
    or ``files not recorded``."""
    roots: dict[tuple[str, str | None], str] = {}
    for run in runs:
        root = ((run.results.get("config") or {}).get("dataset") or {}).get("root")
        key = (run.results["dataset"], files_fingerprint(run.results))
        roots.setdefault(key, Path(str(root)).name if root else "")
    labels = {}
    for (name, fingerprint), root in roots.items():
        if sum(1 for other, _ in roots if other == name) == 1:
            labels[(name, fingerprint)] = ""
        elif fingerprint is None:
            labels[(name, fingerprint)] = UNRECORDED
        else:
            labels[(name, fingerprint)] = (f"{root}, " if root else "") + f"files {fingerprint[:8]}"
    return labels


def data_notes(groups: Sequence[Group]) -> list[str]:
    """Notes on how runs were told apart by their data: one per dataset name found on several sets
    of files, and one for results files that record no data identity (written by older versions)."""
    notes = []
    for name in dict.fromkeys(g.dataset for g in groups):
        labels = list(dict.fromkeys(g.data for g in groups if g.dataset == name))
        if len(labels) > 1:
            notes.append(f"{name}: runs on {len(labels)} different sets of files ({'; '.join(labels)}) are "
                         "reported apart, never averaged together.")
    old = sum(1 for g in groups for run in g.runs if not isinstance(run.results.get("data"), dict))
    if old:
        notes.append(f"{old} run(s) record no data identity (results.json written before it was recorded): "
                     "grouped by dataset name alone, apart from runs that record a files fingerprint.")
    return notes


def sort_key(model: str, augmentation: str) -> tuple[tuple[int, str], tuple[int, str]]:
    """The paper's order: Table 1's architectures and methods first (then the ablation's), others by name."""
    models = table1_models() + ["resnet50"]
    methods = table1_methods() + [m for m in ablation_methods() if m not in table1_methods()]
    return (
        (models.index(model) if model in models else len(models), model),
        (methods.index(augmentation) if augmentation in methods else len(methods), augmentation),
    )


def datasets(groups: Sequence[Group]) -> list[str]:
    """The datasets of ``groups`` (``dataset_label``: name and files), in order of first appearance."""
    return list(dict.fromkeys(g.dataset_label for g in groups))
