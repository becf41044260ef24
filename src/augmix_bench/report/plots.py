"""The report's figures (matplotlib, Agg backend, no display needed); ``all_plots`` gives them as PNG bytes.

Every figure function returns a matplotlib ``Figure``, or None when the runs hold nothing to draw
(e.g. no calibration bins in ``results.json`` files written before they were recorded); the
report then says so. Titles name the dataset and what is compared (models, methods); whiskers
show the sample standard deviation and are left out where a mean has one run (n=1).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from typing import Any

from ..data.names import SEVERITIES
from .aggregate import Group, Stat, corruption_names, datasets, shift_names
from .collect import Run, read_train_log
from .robustness import BASELINE_METHOD, CLIP, accuracies, baseline_fit, no_fit_reason

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
#: A reliability diagram of fewer equal-mass bins than this gets a note that it says little.
MIN_RELIABILITY_BINS = 3
#: Titles are wrapped at this many characters.
TITLE_WIDTH = 70


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


def compared(groups: Sequence[Group]) -> str:
    """What the series of a panel compare, e.g. ``wrn40_2: standard vs augmix`` or ``allconv and
    wrn40_2 with standard and augmix``."""
    models = list(dict.fromkeys(g.model for g in groups))
    methods = list(dict.fromkeys(g.augmentation for g in groups))
    if len(models) == 1 and len(methods) == 1:
        return f"{models[0]} / {methods[0]}"
    if len(models) == 1:
        return f"{models[0]}: {' vs '.join(methods)}"
    if len(methods) == 1:
        return f"{methods[0]}: {' vs '.join(models)}"
    return f"{' and '.join(models)} with {' and '.join(methods)}"


def _title(ax: Any, text: str) -> None:
    ax.set_title(textwrap.fill(text, TITLE_WIDTH), fontsize="medium")


def _whiskers(stats: Sequence[Stat]) -> list[float] | None:
    """The sample std of each mean (NaN, drawn as no whisker, where n=1); None when no mean has one."""
    if all(s.std is None for s in stats):
        return None
    return [math.nan if s.std is None else s.std for s in stats]


def _by_dataset(groups: Sequence[Group]) -> list[list[Group]]:
    return [[g for g in groups if g.dataset_label == d] for d in datasets(groups)]


def corruption_errors(groups: Sequence[Group]) -> Any:
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
            bars = ax.bar(xs, [s.mean or 0.0 for s in stats], width, label=_series_label(g))
            whiskers = _whiskers(stats)
            if whiskers is not None:
                ax.errorbar(xs, [s.mean or 0.0 for s in stats], yerr=whiskers, fmt="none", capsize=2,
                            ecolor="black", linewidth=1, label="_whiskers", zorder=bars[0].get_zorder() + 1)
        ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], rotation=45, ha="right")
        ax.set_ylabel("error (%), mean over severities")
        _title(ax, f"{gs[0].dataset_label}: error per corruption, {compared(gs)}")
        ax.legend(fontsize="small")
    return figure


def _severity_panels(groups: Sequence[Group], metric: str, clean_metric: str, ylabel: str, what: str) -> Any:
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
            ax.errorbar([x for x, _ in points], [s.mean for _, s in points], yerr=_whiskers([s for _, s in points]),
                        marker="o", capsize=3, label=_series_label(g))
        ax.set_xticks(range(len(SEVERITIES) + 1), ["clean", *map(str, SEVERITIES)])
        ax.set_xlabel("corruption severity")
        ax.set_ylabel(ylabel)
        _title(ax, f"{gs[0].dataset_label}: {what}, {compared(gs)}")
        ax.legend(fontsize="small")
    return figure


def severity(groups: Sequence[Group]) -> Any:
    """Error vs severity (mean over the corruptions; clean at severity 0), one line per cell."""
    return _severity_panels(groups, "severity_error", "clean_error", "error (%), mean over corruptions",
                            "error vs severity")


def calibration(groups: Sequence[Group]) -> Any:
    """RMS calibration error vs severity (clean at 0), as the paper's ImageNet figure; one line per cell.

    Needs ``rms_calibration_error_by_severity`` (results.json files written before it was recorded
    are left out of this figure).
    """
    return _severity_panels(groups, "severity_calibration", "clean_calibration", "RMS calibration error (%)",
                            "calibration vs severity")


def _run_title(run: Run) -> str:
    r = run.results
    return f"{r['dataset']} {r['model']} / {r['augmentation']} seed {r.get('seed')}"


def reliability(runs: Sequence[Run]) -> Any:
    """Reliability diagrams (accuracy vs confidence of the equal-mass bins), clean and corrupted,
    for the first ``RELIABILITY_RUNS`` runs whose results hold ``calibration_bins``; a set of fewer
    than ``MIN_RELIABILITY_BINS`` bins gets a note on its panel that it is too small to say much."""
    chosen = [run for run in runs if _bins(run, "clean") or _bins(run, "corruptions")][:RELIABILITY_RUNS]
    if not chosen:
        return None
    columns = min(3, len(chosen))
    rows = -(-len(chosen) // columns)
    figure = _figure(4.2 * columns, 4.0 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, run in zip(axes, chosen):
        ax.plot([0, 100], [0, 100], color="grey", linestyle=":", label="perfect calibration")
        notes = []
        for section, name in (("clean", "clean"), ("corruptions", "corrupted")):
            bins = _bins(run, section)
            if bins:
                count = len(bins["confidence"])
                ax.plot(bins["confidence"], bins["accuracy"], marker=".",
                        label=f"{name} ({count} bin{'s' if count != 1 else ''})")
                if count < MIN_RELIABILITY_BINS:
                    images = sum(bins.get("count") or [])
                    notes.append(f"{name}: {images} images, {count} bin{'s' if count != 1 else ''}: "
                                 "too few for a reliability diagram")
        if notes:
            ax.text(0.03, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", ha="left", fontsize="small",
                    wrap=True, bbox={"facecolor": "white", "edgecolor": "grey", "alpha": 0.9})
        ax.set_xlim(-1, 101)
        ax.set_ylim(-1, 101)
        ax.set_xlabel("confidence (%)")
        ax.set_ylabel("accuracy (%)")
        _title(ax, _run_title(run))
        ax.legend(fontsize="small", loc="lower right")
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    return figure


def _bins(run: Run, section: str) -> dict[str, list] | None:
    bins = (run.results.get(section) or {}).get("calibration_bins")
    return bins if isinstance(bins, dict) and bins.get("confidence") else None


def training_curves(runs: Sequence[Run]) -> Any:
    """Train loss, learning rate and test error per epoch from ``train_log.csv``, one line per run;
    the epoch axis has whole-number ticks only (also for a run of one epoch)."""
    logs = [(run, read_train_log(run.train_log)) for run in runs if run.train_log is not None][:CURVE_RUNS]
    logs = [(run, rows) for run, rows in logs if rows]
    if not logs:
        return None
    from matplotlib.ticker import MaxNLocator

    figure = _figure(15.0, 4.2)
    axes = figure.subplots(1, 3)
    datasets_ = ", ".join(dict.fromkeys(run.results["dataset"] for run, _ in logs))
    for column, ax, title in zip(("train_loss", "lr", "test_error"), axes,
                                 ("train loss", "learning rate (epoch start)", "test error (%)")):
        for run, rows in logs:
            points = [(row.get("epoch"), row.get(column)) for row in rows if row.get(column) is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=_run_title(run))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        _title(ax, f"{datasets_}: {title}")
    axes[-1].legend(fontsize="small")
    return figure


def all_plots(groups: Sequence[Group]) -> dict[str, bytes | None]:
    """Every figure by file name (``PLOT_FILES``) as PNG bytes; None for a figure with nothing to draw."""
    runs = [run for g in groups for run in g.runs]
    figures = {
        "corruption_errors.png": corruption_errors(groups),
        "severity.png": severity(groups),
        "calibration.png": calibration(groups),
        "reliability.png": reliability(runs),
        "training_curves.png": training_curves(runs),
    }
    return {name: None if figure is None else _png(figure) for name, figure in figures.items()}


#: Accuracy ticks (percent) of the effective-robustness plots' logit axes.
LOGIT_TICKS: tuple[float, ...] = (1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99, 99.5, 99.9)


def _logit_axis(values: Any) -> Any:
    import numpy as np

    p = np.clip(np.asarray(values, dtype=float) / 100.0, CLIP, 1.0 - CLIP)
    return np.log(p / (1.0 - p))


def _expit_axis(values: Any) -> Any:
    import numpy as np

    return 100.0 / (1.0 + np.exp(-np.asarray(values, dtype=float)))


def effective_robustness(groups: Sequence[Group], shift: str) -> Any:
    """Shift accuracy vs clean accuracy of one dataset's runs on ``shift`` (logit-scaled axes, in
    percent), one point per run and one colour per cell, with the baseline line through the standard
    runs (``robustness.baseline_fit``; straight on these axes) and the diagonal y = x; without a fit,
    a legend entry says why. None when no run has both errors."""
    points = [(g, accuracies(run, shift)) for g in groups for run in g.runs]
    if not any(point for _, point in points):
        return None
    import numpy as np

    figure = _figure(6.0, 5.0)
    ax = figure.subplots()
    for g in groups:
        mine = [point for owner, point in points if owner is g and point is not None]
        if mine:
            ax.scatter([x for x, _ in mine], [y for _, y in mine], label=_series_label(g),
                       marker="s" if g.augmentation == BASELINE_METHOD else "o", zorder=3)
    xs = [point[0] for _, point in points if point]
    ys = [point[1] for _, point in points if point]
    low, high = _logit_axis([min(xs + ys), max(xs + ys)])
    pad = max(0.25, 0.1 * float(high - low))
    limits = _expit_axis([low - pad, high + pad])
    for set_scale in (ax.set_xscale, ax.set_yscale):
        set_scale("function", functions=(_logit_axis, _expit_axis))
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ticks = [t for t in LOGIT_TICKS if limits[0] <= t <= limits[1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.plot(limits, limits, color="grey", linestyle=":", label="y = x")
    fit = baseline_fit(groups, shift)
    if fit is not None:
        line = _expit_axis(np.linspace(low - pad, high + pad, 50))
        ax.plot(line, [fit.predict(x) for x in line], color="black", linestyle="--",
                label=f"{BASELINE_METHOD} fit: slope {fit.slope:.2f}, intercept {fit.intercept:.2f} (logit)")
    else:  # the note is a legend entry without a marker (the legend sits above the diagonal, where runs rarely are)
        ax.plot([], [], " ", label=textwrap.fill(f"no fit: {no_fit_reason(groups, shift)}", 45))
    ax.set_xlabel("clean accuracy (%, logit scale)")
    ax.set_ylabel(f"{shift} accuracy (%, logit scale)")
    _title(ax, f"{groups[0].dataset_label}: effective robustness on {shift}, {compared(groups)}")
    ax.legend(fontsize="small", loc="upper left")
    return figure


def effective_robustness_file(dataset_label: str, shift: str) -> str:
    """E.g. ``effective_robustness_cifar10_cifar10_1.png`` (characters other than letters, digits,
    ``-`` and ``_`` of the dataset's label become ``_``)."""
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset_label).strip("_")
    return f"effective_robustness_{slug}_{shift}.png"


def effective_robustness_plots(groups: Sequence[Group]) -> dict[str, bytes]:
    """One effective-robustness figure per dataset and natural-shift set, as PNG bytes by file name
    (``effective_robustness_file``); sets that no run has both errors of are left out."""
    pngs = {}
    for gs in _by_dataset(groups):
        for shift in shift_names(run for g in gs for run in g.runs):
            figure = effective_robustness(gs, shift)
            if figure is not None:
                pngs[effective_robustness_file(gs[0].dataset_label, shift)] = _png(figure)
    return pngs
