"""The report's figures (matplotlib, Agg backend, no display needed), returned as PNG bytes.

Every function returns None when the runs hold nothing to draw (e.g. no calibration bins in
``results.json`` files written before they were recorded); the report then says so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ..data.names import SEVERITIES
from .aggregate import Group, corruption_names, datasets
from .collect import Run, read_train_log

#: The figure files, by the names scripts can rely on.
PLOT_FILES: tuple[str, ...] = (
    "corruption_errors.png",
    "severity.png",
    "calibration.png",
    "reliability.png",
    "training_curves.png",
)
#: At most this many runs get a reliability diagram.
RELIABILITY_RUNS = 6
#: At most this many runs are drawn in the training curves.
CURVE_RUNS = 12


def _figure(width: float, height: float) -> Any:
    """A figure drawn by the Agg canvas (no pyplot state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _series_label(group: Group) -> str:
    return f"{group.label} (n={len(group.runs)})"


def _by_dataset(groups: Sequence[Group]) -> list[list[Group]]:
    return [[g for g in groups if g.dataset == d] for d in datasets(groups)]


def corruption_errors(groups: Sequence[Group]) -> bytes | None:
    """Bars of the error per corruption (mean over severities), one bar per cell, one panel per dataset."""
    panels = [(gs, corruption_names(r for g in gs for r in g.runs)) for gs in _by_dataset(groups)]
    panels = [(gs, names) for gs, names in panels if names]
    if not panels:
        return None
    figure = _figure(max(10.0, 0.7 * max(len(n) for _, n in panels) + 2), 3.8 * len(panels))
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (gs, names) in zip(axes, panels):
        width = 0.8 / len(gs)
        for i, g in enumerate(gs):
            stats = [g.stat(f"error/{name}") for name in names]
            xs = [k + (i - (len(gs) - 1) / 2) * width for k in range(len(names))]
            ax.bar(xs, [s.mean or 0.0 for s in stats], width, yerr=[s.std or 0.0 for s in stats],
                   capsize=2, label=_series_label(g))
        ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=45, ha="right")
        ax.set_ylabel("error (%), mean over severities")
        ax.set_title(f"{gs[0].dataset}: error per corruption")
        ax.legend(fontsize="small")
    return _png(figure)


def _severity_panels(groups: Sequence[Group], metric: str, clean_metric: str, ylabel: str) -> bytes | None:
    """One panel per dataset: ``metric/<s>`` against severity, ``clean_metric`` at 0, one line per cell."""
    panels = [gs for gs in _by_dataset(groups) if any(g.stat(f"{metric}/1").n for g in gs)]
    if not panels:
        return None
    figure = _figure(5.5 * len(panels), 4.2)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, gs in zip(axes, panels):
        for g in gs:
            stats = [g.stat(clean_metric)] + [g.stat(f"{metric}/{s}") for s in SEVERITIES]
            points = [(x, s) for x, s in zip((0, *SEVERITIES), stats) if s.n]
            ax.errorbar([x for x, _ in points], [s.mean for _, s in points], yerr=[s.std or 0.0 for _, s in points],
                        marker="o", capsize=3, label=_series_label(g))
        ax.set_xticks(range(len(SEVERITIES) + 1), ["clean", *map(str, SEVERITIES)])
        ax.set_xlabel("corruption severity")
        ax.set_ylabel(ylabel)
        ax.set_title(gs[0].dataset)
        ax.legend(fontsize="small")
    return _png(figure)


def severity(groups: Sequence[Group]) -> bytes | None:
    """Error vs severity (mean over the corruptions; clean at severity 0), one line per cell."""
    return _severity_panels(groups, "severity_error", "clean_error", "error (%), mean over corruptions")


def calibration(groups: Sequence[Group]) -> bytes | None:
    """RMS calibration error vs severity (clean at 0), as the paper's ImageNet figure; one line per cell.

    Needs ``rms_calibration_error_by_severity`` (results.json files written before it was recorded
    are left out of this figure).
    """
    return _severity_panels(groups, "severity_calibration", "clean_calibration", "RMS calibration error (%)")


def _run_title(run: Run) -> str:
    r = run.results
    return f"{r['dataset']} {r['model']} / {r['augmentation']} seed {r.get('seed')}"


def reliability(runs: Sequence[Run]) -> bytes | None:
    """Reliability diagrams (accuracy vs confidence of the equal-mass bins), clean and corrupted,
    for the first ``RELIABILITY_RUNS`` runs whose results hold ``calibration_bins``."""
    chosen = [run for run in runs if _bins(run, "clean") or _bins(run, "corruptions")][:RELIABILITY_RUNS]
    if not chosen:
        return None
    columns = min(3, len(chosen))
    rows = -(-len(chosen) // columns)
    figure = _figure(4.2 * columns, 4.0 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, run in zip(axes, chosen):
        ax.plot([0, 100], [0, 100], color="grey", linestyle=":", label="perfect calibration")
        for section, name in (("clean", "clean"), ("corruptions", "corrupted")):
            bins = _bins(run, section)
            if bins:
                ax.plot(bins["confidence"], bins["accuracy"], marker=".", label=f"{name} ({len(bins['count'])} bins)")
        ax.set_xlim(-1, 101)
        ax.set_ylim(-1, 101)
        ax.set_xlabel("confidence (%)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(_run_title(run), fontsize="medium")
        ax.legend(fontsize="small", loc="lower right")
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    return _png(figure)


def _bins(run: Run, section: str) -> dict[str, list] | None:
    bins = (run.results.get(section) or {}).get("calibration_bins")
    return bins if isinstance(bins, dict) and bins.get("confidence") else None


def training_curves(runs: Sequence[Run]) -> bytes | None:
    """Train loss, learning rate and test error per epoch from ``train_log.csv``, one line per run."""
    logs = [(run, read_train_log(run.train_log)) for run in runs if run.train_log is not None][:CURVE_RUNS]
    logs = [(run, rows) for run, rows in logs if rows]
    if not logs:
        return None
    from matplotlib.ticker import MaxNLocator

    figure = _figure(15.0, 4.2)
    axes = figure.subplots(1, 3)
    for column, ax, title in zip(("train_loss", "lr", "test_error"), axes,
                                 ("train loss", "learning rate (epoch start)", "test error (%)")):
        for run, rows in logs:
            points = [(row.get("epoch"), row.get(column)) for row in rows if row.get(column) is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=_run_title(run))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
    axes[-1].legend(fontsize="small")
    return _png(figure)


def all_plots(groups: Sequence[Group]) -> dict[str, bytes | None]:
    """Every figure by file name (``PLOT_FILES``); None for a figure with nothing to draw."""
    runs = [run for g in groups for run in g.runs]
    return {
        "corruption_errors.png": corruption_errors(groups),
        "severity.png": severity(groups),
        "calibration.png": calibration(groups),
        "reliability.png": reliability(runs),
        "training_curves.png": training_curves(runs),
    }
