"""The paper's reported numbers (``results/paper/*.csv``), looked up by dataset, model, method and metric.

Besides the AugMix paper's tables, ``successors.csv`` holds the numbers its successors' authors
published (one row per dataset, model and method, with its ``source``); where both report a cell,
the AugMix paper's number is kept. The CSV files live in the repository's ``results/paper/``
folder; a wheel ships them inside the package as ``augmix_bench/paper``.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

#: Metrics the paper tabulates (percent error).
PAPER_METRICS: tuple[str, ...] = ("mean_corruption_error", "clean_error", "mce")
#: The successors' numbers: dataset, model, method, the ``PAPER_METRICS`` and their source.
SUCCESSORS = "successors.csv"


def paper_dir() -> Path:
    """The folder holding the paper's CSV files (inside the wheel, or ``results/paper`` of a checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "paper", here.parents[1] / "results" / "paper"):
        if (candidate / "table1_cifar10c.csv").is_file():
            return candidate
    raise RuntimeError(f"the paper's CSV files were not found next to {here}; reinstall the package")


def _read(name: str) -> list[dict[str, str]]:
    with open(paper_dir() / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@functools.cache
def augmix_paper_values() -> dict[tuple[str, str, str, str], float]:
    """The AugMix paper's numbers: (dataset, model, method, metric) -> percent.

    Table 1 (every architecture on CIFAR-10-C / CIFAR-100-C, ``mean_corruption_error``), the WRN-40-2
    ablation (e.g. ``augmix_no_jsd``) and ResNet-50 on ImageNet (``clean_error``, ``mce``).
    """
    values: dict[tuple[str, str, str, str], float] = {}
    for dataset in ("cifar10", "cifar100"):
        for row in _read(f"table1_{dataset}c.csv"):
            for method, value in row.items():
                if method != "model" and value:
                    values[(dataset, row["model"], method, "mean_corruption_error")] = float(value)
        for row in _read("ablation_wrn40_2.csv"):
            value = row.get(f"{dataset}c_mean_error")
            if value:
                values.setdefault((dataset, "wrn40_2", row["method"], "mean_corruption_error"), float(value))
    for row in _read("imagenet_resnet50.csv"):
        for metric in ("clean_error", "mce"):
            if row.get(metric):
                values[("imagenet", "resnet50", row["method"], metric)] = float(row[metric])
    return values


@functools.cache
def paper_values() -> dict[tuple[str, str, str, str], float]:
    """Every tabulated number: the AugMix paper's (``augmix_paper_values``), then those of
    ``successors.csv`` for the cells the AugMix paper leaves empty."""
    values = dict(augmix_paper_values())
    for row in _read(SUCCESSORS):
        for metric in PAPER_METRICS:
            if row[metric]:
                values.setdefault((row["dataset"], row["model"], row["method"], metric), float(row[metric]))
    return values


def paper_source(dataset: str, model: str, method: str, metric: str) -> str | None:
    """Where the paper value of a cell comes from when it is not the AugMix paper (the ``source``
    of its ``successors.csv`` row); None for the AugMix paper's values and for cells without one."""
    if (dataset, model, method, metric) in augmix_paper_values() or paper_value(dataset, model, method, metric) is None:
        return None
    return next(row["source"] for row in _read(SUCCESSORS)
                if (row["dataset"], row["model"], row["method"]) == (dataset, model, method))


def paper_value(dataset: str, model: str, method: str, metric: str) -> float | None:
    """The paper's ``metric`` (one of ``PAPER_METRICS``) for a cell, or None where it reports none."""
    if metric not in PAPER_METRICS:
        raise ValueError(f"unknown paper metric {metric!r}; choose from: {', '.join(PAPER_METRICS)}")
    return paper_values().get((dataset, model, method, metric))


def ablation_methods() -> list[str]:
    """The methods of the paper's WRN-40-2 ablation, in its order (standard first, AugMix last)."""
    return [row["method"] for row in _read("ablation_wrn40_2.csv")]


def table1_methods() -> list[str]:
    """The methods of the paper's Table 1, in its column order."""
    return [name for name in _read("table1_cifar10c.csv")[0] if name != "model"]


def table1_models() -> list[str]:
    """The architectures of the paper's Table 1, in its row order."""
    return [row["model"] for row in _read("table1_cifar10c.csv")]
