"""The report's tables, built once and written as Markdown, LaTeX (booktabs) and CSV.

Cells hold a measured ``Stat`` (mean ± sample std over seeds, n) and, where the paper reports the
same number, the paper's value: rendered ``measured (paper)``. Missing values are ``–``. A cell or
method whose augmentation has ops that overlap -C corruptions (``held_out``) is marked ``†``, and
a note under the table says which ops overlap which corruptions.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .aggregate import (
    Group,
    Stat,
    corruption_names,
    run_intervals,
    run_metrics,
    run_overlap,
    shift_names,
    sort_key,
    stat,
    table_protocol,
)
from .collect import Run, display_path
from .paper import ablation_methods, paper_source, paper_value, table1_methods
from .protocol import protocol_note
from .robustness import Fit, baseline_fit, effective_robustness, no_fit_reason

DASH = "–"
#: The mark of a method for which -C is not held out (its ops overlap -C corruptions).
MARK = "†"


@dataclass(frozen=True)
class Cell:
    """A measured value (None: not measured), the paper's value for the same cell (None: not
    reported) and whether the cell's augmentation overlaps -C corruptions (marked ``MARK``).

    ``interval`` is a single run's 95% bootstrap interval over test images (shown where n=1);
    ``digits`` the decimals of the measured value.
    """

    stat: Stat | None
    paper: float | None = None
    marked: bool = False
    interval: tuple[float, float] | None = None
    digits: int = 2


@dataclass
class Table:
    """A titled table: a header row, rows of cells (``Cell`` or plain text) and notes printed below it."""

    title: str
    header: list[str]
    rows: list[list[Cell | str]]
    notes: list[str] = field(default_factory=list)


def _number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def _paper_text(value: float) -> str:
    """The paper's number as printed there (one or two decimals)."""
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def cell_text(cell: Cell | str, latex: bool = False) -> str:
    """A cell as Markdown (``12.34 ± 0.56, n=2 (11.2)``; one run with its bootstrap interval:
    ``12.30 [11.7, 12.9]``) or LaTeX text."""
    if isinstance(cell, str):
        return latex_escape(cell) if latex else cell
    stat = cell.stat
    if stat is None or stat.mean is None:
        measured = "--" if latex else DASH
    elif stat.n > 1 and stat.std is not None:
        mean, std = _number(stat.mean, cell.digits), _number(stat.std, cell.digits)
        measured = f"${mean} \\pm {std}$, $n{{=}}{stat.n}$" if latex else f"{mean} ± {std}, n={stat.n}"
    else:
        measured = _number(stat.mean, cell.digits)
        if cell.interval is not None and stat.n == 1:
            measured += f" [{cell.interval[0]:.1f}, {cell.interval[1]:.1f}]"
    text = measured if cell.paper is None else f"{measured} ({_paper_text(cell.paper)})"
    return text + (f" {latex_escape(MARK) if latex else MARK}" if cell.marked else "")


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``–`` becomes ``--``)."""
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", DASH: "--",
                    "±": r"$\pm$", MARK: r"$^\dagger$"}
    return "".join(replacements.get(ch, ch) for ch in text)


def to_markdown(table: Table) -> str:
    """A Markdown section: ``### title``, the pipe table, then the notes in italics."""
    lines = [f"### {table.title}", "", "| " + " | ".join(table.header) + " |",
             "|" + "|".join("---" for _ in table.header) + "|"]
    lines += ["| " + " | ".join(cell_text(c) for c in row) + " |" for row in table.rows]
    lines += [""] + [f"*{note}*" for note in table.notes] + ([""] if table.notes else [])
    return "\n".join(lines) + "\n"


def to_latex(table: Table) -> str:
    """A ``table`` environment with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
    spec = "l" * sum(1 for c in table.rows[0] if isinstance(c, str)) if table.rows else "l"
    spec += "r" * (len(table.header) - len(spec))
    lines = [r"\begin{table}[t]", r"\centering", r"\small", f"\\caption{{{latex_escape(table.title)}}}",
             f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(h) for h in table.header) + r" \\", r"\midrule"]
    lines += [" & ".join(cell_text(c, latex=True) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"\\par\\footnotesize {latex_escape(note)}" for note in table.notes]
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


def _row_key(group: Group) -> tuple[str, tuple, tuple]:
    """A grid row: (model, recipe settings, protocol marks); a cell measured under another protocol gets its own row."""
    return (group.model, group.settings, group.marks)


def _models(groups: Sequence[Group]) -> list[tuple[str, tuple, tuple]]:
    """Row keys of a grid in group order."""
    return list(dict.fromkeys(_row_key(g) for g in groups))


def _row_label(model: str, settings: tuple, marks: tuple = ()) -> str:
    parts = [f"{k}={v}" for k, v in settings] + list(marks)
    return model + (" [" + ", ".join(parts) + "]" if parts else "")


def recipe_notes(groups: Sequence[Group]) -> list[str]:
    """One note per (model, augmentation) whose runs used different recipes (never averaged)."""
    notes = []
    cells: dict[tuple[str, str], list[Group]] = {}
    for g in groups:
        cells.setdefault((g.model, g.augmentation), []).append(g)
    for (model, augmentation), members in cells.items():
        if len(members) > 1:
            recipes = "; ".join(g.recipe_label or "the common recipe and protocol" for g in members)
            notes.append(f"{model} / {augmentation}: runs with different recipes ({recipes}) are reported "
                         "separately, never averaged together.")
    return notes


def method_label(group: Group) -> str:
    """A row's method: the augmentation, its recipe in brackets, and ``MARK`` where -C is not held out."""
    recipe = f" [{group.recipe_label}]" if group.recipe else ""
    return group.augmentation + recipe + (f" {MARK}" if group.overlap else "")


def overlap_notes(groups: Sequence[Group]) -> list[str]:
    """One note when some cells are marked: which methods' ops overlap which -C corruptions."""
    marked = [g for g in groups if g.overlap]
    if not marked:
        return []
    methods = list(dict.fromkeys(method_label(g).removesuffix(f" {MARK}") for g in marked))
    pairs: dict[str, list[str]] = {}
    for g in marked:
        for op, corruptions in g.overlap.items():
            pairs.setdefault(op, corruptions)
    overlaps = ", ".join(f"{op} ({', '.join(corruptions)})" for op, corruptions in pairs.items())
    note = (f"{MARK} -C is not held out for {', '.join(methods)}: their operations overlap -C corruptions, "
            f"op (corruptions): {overlaps}. The AugMix paper removes such operations from its set for this "
            "reason, and Composer's AugMix leaves them out with augmentation_set='safe'.")
    return [note]


def source_notes(groups: Sequence[Group], metrics: Sequence[str]) -> list[str]:
    """One note per cell whose paper value (of any of ``metrics``) is not the AugMix paper's, naming its source."""
    notes = [f"Paper value of {g.model} / {g.augmentation}: {source}."
             for g in groups for metric in metrics
             if (source := paper_source(g.dataset, g.model, g.augmentation, metric)) is not None]
    return list(dict.fromkeys(notes))


def seed_notes(groups: Sequence[Group]) -> list[str]:
    """One note per cell in which several runs share a seed (they are not independent samples)."""
    notes = []
    for g in groups:
        repeated = g.repeated_seeds
        if repeated:
            seeds = ", ".join(f"seed {seed} {count} times" for seed, count in repeated.items())
            notes.append(f"{g.label}: repeated seeds ({seeds}); runs with the same seed are not independent "
                         "samples, yet n counts each.")
    return notes


def grid(groups: Sequence[Group], metric: str, title: str, paper_metric: str | None = None) -> Table:
    """Table 1's layout: one row per architecture (and recipe), one column per method."""
    methods = sorted({g.augmentation for g in groups}, key=lambda method: sort_key("", method)[1])
    index = {(*_row_key(g), g.augmentation): g for g in groups}
    rows: list[list[Cell | str]] = []
    for model, settings, marks in _models(groups):
        row: list[Cell | str] = [_row_label(model, settings, marks)]
        for method in methods:
            group = index.get((model, settings, marks, method))
            paper = paper_value(groups[0].dataset, model, method, paper_metric) if paper_metric else None
            row.append(Cell(group.stat(metric) if group else None, paper, marked=bool(group and group.overlap),
                            interval=group.interval(metric) if group else None))
        rows.append(row)
    with_paper = any(isinstance(c, Cell) and c.paper is not None for row in rows for c in row)
    notes = ["Cells: measured (paper); measured is mean ± sample std over n seeds."] if with_paper else []
    notes += source_notes(groups, [paper_metric] if paper_metric else []) + overlap_notes(groups)
    return Table(title, ["model", *methods], rows, notes + interval_notes(rows) + recipe_notes(groups) + seed_notes(groups))


#: The note under a table with bootstrap intervals.
INTERVAL_NOTE = ("[low, high]: a single run's 95% percentile bootstrap interval over the test images "
                 "(1,000 resamples, seed 0; results.json's error_ci95 / mean_error_ci95 / mce_ci95), shown where n=1.")


def interval_notes(rows: Sequence[Sequence[Cell | str]]) -> list[str]:
    """``[INTERVAL_NOTE]`` when a cell of ``rows`` shows a bootstrap interval, else nothing."""
    shown = any(isinstance(c, Cell) and c.interval is not None and c.stat is not None and c.stat.n == 1
                for row in rows for c in row)
    return [INTERVAL_NOTE] if shown else []


def _row_head(g: Group) -> list[Cell | str]:
    """model, method (with its recipe) and the number of runs of a cell."""
    return [g.model, method_label(g), str(len(g.runs))]


def _with_interval(g: Group, metric: str) -> Cell:
    return Cell(g.stat(metric), interval=g.interval(metric))


def summary_table(groups: Sequence[Group]) -> Table:
    """The headline errors side by side, one row per (model, method, recipe): clean, the mean
    corruption error (mCE where AlexNet-normalized) and each natural-shift set."""
    shifts = shift_names(run for g in groups for run in g.runs)
    normalized = any(g.stat("mce").n for g in groups)
    corrupted = "mce" if normalized else "mean_corruption_error"
    rows: list[list[Cell | str]] = [
        [*_row_head(g), _with_interval(g, "clean_error"), _with_interval(g, corrupted),
         *[_with_interval(g, f"shift_error/{name}") for name in shifts]]
        for g in groups
    ]
    return Table(f"{groups[0].dataset_label}: summary, error (%)",
                 ["model", "method", "n", "clean", "mCE" if normalized else "mean corruption error", *shifts], rows,
                 ["Cells: mean ± sample std over the n seeds."] + interval_notes(rows) + overlap_notes(groups))


def shift_fits(groups: Sequence[Group]) -> dict[str, Fit | None]:
    """Per natural-shift set of one dataset's ``groups``, the baseline fit of ``robustness``."""
    return {name: baseline_fit(groups, name) for name in shift_names(run for g in groups for run in g.runs)}


def shifts_table(groups: Sequence[Group]) -> Table:
    """Natural distribution shifts: per (model, method, recipe) the clean error, each shift set's
    error and, where the standard runs give a baseline fit, the effective robustness (mean over the
    runs of each run's shift accuracy minus the fit's prediction, percentage points)."""
    fits = shift_fits(groups)
    header = ["model", "method", "n", "clean"]
    for name, fit in fits.items():
        header += [name] + ([f"{name} ER"] if fit is not None else [])
    rows: list[list[Cell | str]] = []
    for g in groups:
        row = [*_row_head(g), _with_interval(g, "clean_error")]
        for name, fit in fits.items():
            row.append(_with_interval(g, f"shift_error/{name}"))
            if fit is not None:
                row.append(Cell(stat(effective_robustness(run, name, fit) for run in g.runs)))
        rows.append(row)
    notes = ["Cells: error (%), mean ± sample std over the n seeds."] + interval_notes(rows)
    for name, fit in fits.items():
        if fit is None:
            notes.append(f"{name}: no effective robustness: {no_fit_reason(groups, name)}.")
        else:
            notes.append(f"{name} ER: effective robustness (Taori et al. 2020), shift accuracy minus the "
                         f"baseline's prediction from clean accuracy (percentage points); baseline on logit axes: "
                         f"{fit.describe()}.")
    return Table(f"{groups[0].dataset_label}: natural distribution shifts, error (%) and effective robustness",
                 header, rows, notes)


#: The note under the uncertainty table.
UNCERTAINTY_NOTE = ("NLL in nats; Brier score summed over classes (in [0, 2]); ECE with 15 equal-width bins "
                    "(percent); corrupted: all corrupted images pooled. Mean ± sample std over the n seeds.")


def uncertainty_table(groups: Sequence[Group]) -> Table:
    """NLL, Brier score and ECE of the clean and the pooled corrupted sets and of each natural-shift
    set, one row per (model, method, recipe)."""
    sets = [("clean", "clean_{}"), ("corrupted", "corrupted_{}")]
    sets += [(name, "shift_{}/" + name) for name in shift_names(run for g in groups for run in g.runs)]
    present = [(label, pattern) for label, pattern in sets
               if any(g.stat(pattern.format(key)).n for g in groups for key in ("nll", "brier", "ece"))]
    header = ["model", "method", "n"]
    for label, _ in present:
        header += [f"{label} NLL", f"{label} Brier", f"{label} ECE (%)"]
    rows: list[list[Cell | str]] = [
        [*_row_head(g), *[Cell(g.stat(pattern.format(key)), digits=digits) for _, pattern in present
                          for key, digits in (("nll", 3), ("brier", 3), ("ece", 2))]]
        for g in groups
    ]
    return Table(f"{groups[0].dataset_label}: uncertainty: NLL, Brier score and ECE", header, rows,
                 [UNCERTAINTY_NOTE])


def has_uncertainty(groups: Sequence[Group]) -> bool:
    """Whether any run records an NLL, Brier score or ECE (results.json files of older versions do not)."""
    return any(value is not None for g in groups for run in g.runs for key, value in run_metrics(run.results).items()
               if key.split("/")[0].endswith(("_nll", "_brier", "_ece")))


def per_corruption(groups: Sequence[Group], metric_prefix: str = "error", title: str = "") -> Table:
    """One row per (model, method, recipe), one column per corruption (mean over severities), mean, n."""
    names = corruption_names(run for g in groups for run in g.runs)
    rows: list[list[Cell | str]] = []
    for g in groups:
        overall = "mce" if metric_prefix == "ce" else "mean_corruption_error"
        rows.append([*_row_head(g),
                     *[_mean_only(g.stat(f"{metric_prefix}/{name}")) for name in names], _mean_only(g.stat(overall))])
    label = "mCE" if metric_prefix == "ce" else "mean"
    return Table(title, ["model", "method", "n", *names, label], rows,
                 ["Means over the n seeds of each cell; every run's values are in summary.csv.", *overlap_notes(groups)])


def _mean_only(stat: Stat) -> Cell:
    """A cell showing only the mean (the wide per-corruption tables leave the std to summary.csv)."""
    return Cell(Stat(stat.mean, None, stat.n) if stat.n else None)


def ablation(groups: Sequence[Group]) -> Table | None:
    """The paper's WRN-40-2 ablation (CIFAR), when runs of an ablation-only method are present."""
    dataset = groups[0].dataset if groups else ""
    wrn = {g.augmentation: g for g in groups if g.model == "wrn40_2" and not g.recipe_label}
    methods = ablation_methods()
    extra = set(methods) - set(table1_methods())
    if dataset not in ("cifar10", "cifar100") or not extra & set(wrn):
        return None
    rows: list[list[Cell | str]] = [
        [m, Cell(wrn[m].stat("mean_corruption_error") if m in wrn else None,
                 paper_value(dataset, "wrn40_2", m, "mean_corruption_error"), bool(m in wrn and wrn[m].overlap))]
        for m in methods
    ]
    return Table(f"Ablation, WRN-40-2 on {dataset}-C: mean corruption error (%)",
                 ["method", "mean corruption error"], rows,
                 ["Cells: measured (paper).", *overlap_notes([wrn[m] for m in methods if m in wrn])])


def imagenet_table(groups: Sequence[Group]) -> Table:
    """Table 2's layout: clean error, per-corruption CE, mCE and relative mCE per (model, method)."""
    names = corruption_names(run for g in groups for run in g.runs)
    rows: list[list[Cell | str]] = []
    for g in groups:
        rows.append([
            g.model, method_label(g),
            Cell(g.stat("clean_error"), paper_value(g.dataset, g.model, g.augmentation, "clean_error")),
            *[Cell(g.stat(f"ce/{name}")) for name in names],
            Cell(g.stat("mce"), paper_value(g.dataset, g.model, g.augmentation, "mce")),
            Cell(g.stat("relative_mce")),
        ])
    return Table(f"{groups[0].dataset_label}: clean error, corruption errors CE, mCE and relative mCE (%)",
                 ["model", "method", "clean", *names, "mCE", "relative mCE"], rows,
                 ["Cells: measured (paper); CE and mCE are AlexNet-normalized.",
                  *source_notes(groups, ["clean_error", "mce"]), *overlap_notes(groups)])


def dataset_tables(groups: Sequence[Group]) -> list[Table]:
    """Every table of one dataset's groups; the first is the main table (mean corruption error or mCE)."""
    dataset = groups[0].dataset_label
    normalized = any(g.stat("mce").n for g in groups)
    main_metric = "mce" if normalized else "mean_corruption_error"
    main_name = "mCE" if normalized else "mean corruption error"
    tables = [
        grid(groups, main_metric, f"{dataset}: {main_name} (%)", main_metric),
        grid(groups, "clean_error", f"{dataset}: clean error (%)", "clean_error"),
        grid(groups, "clean_calibration", f"{dataset}: RMS calibration error, clean (%)"),
        grid(groups, "corrupted_calibration", f"{dataset}: RMS calibration error, corrupted (%)"),
    ]
    if any(g.stat("error/" + c).n for g in groups for c in corruption_names(g.runs)):
        tables.append(per_corruption(groups, title=f"{dataset}: error per corruption, mean over severities (%)"))
    table = ablation(groups)
    if table is not None:
        tables.append(table)
    if normalized:
        tables.append(imagenet_table(groups))
    if shift_names(run for g in groups for run in g.runs):
        tables += [summary_table(groups), shifts_table(groups)]
    if has_uncertainty(groups):
        tables.append(uncertainty_table(groups))
    if any(g.stat("mean_corruption_bar_error").n for g in groups):
        tables.append(corruptions_bar_table(groups))
    note = protocol_note(table_protocol(groups), list(dict.fromkeys(m for g in groups for m in g.marks)))
    return [replace(t, notes=[note, *t.notes]) for t in tables] if note else tables


def corruptions_bar_table(groups: Sequence[Group]) -> Table:
    """-C-bar: one row per (model, method, recipe), its mean error and each corruption's (mean over severities)."""
    names = list(dict.fromkeys(
        name for g in groups for run in g.runs for name in ((run.results.get("corruptions_bar") or {}).get("per_corruption") or {})
    ))
    rows: list[list[Cell | str]] = [
        [*_row_head(g), Cell(g.stat("mean_corruption_bar_error")), *[_mean_only(g.stat(f"bar_error/{n}")) for n in names]]
        for g in groups
    ]
    return Table(f"{groups[0].dataset_label}: -C-bar error (%), mean over the corruptions and per corruption",
                 ["model", "method", "n", "mean", *names], rows,
                 ["-C-bar (Mintun et al. 2021): each corruption's error is its mean over the 5 severities."])


#: summary.csv's leading columns (then ``error/<corruption>`` for every corruption found).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "path", "dataset", "data", "model", "augmentation", "seed", "epochs", "recipe", "clean_error",
    "mean_corruption_error", "mce", "relative_mce", "clean_calibration", "corrupted_calibration",
    "mean_flip_probability", "overlapping_ops",
)


#: summary.csv's uncertainty and bootstrap-interval columns (after ``SUMMARY_COLUMNS``).
UNCERTAINTY_COLUMNS: tuple[str, ...] = (
    "clean_nll", "clean_brier", "clean_ece", "corrupted_nll", "corrupted_brier", "corrupted_ece",
    "clean_error_ci95_low", "clean_error_ci95_high", "mean_corruption_error_ci95_low", "mean_corruption_error_ci95_high",
)
#: summary.csv's columns per natural-shift set ``<name>`` (then the per-corruption errors).
SHIFT_COLUMNS: tuple[str, ...] = (
    "shift_error/{}", "shift_error_ci95_low/{}", "shift_error_ci95_high/{}", "shift_er/{}", "shift_nll/{}",
    "shift_brier/{}", "shift_ece/{}",
)


def summary_csv(groups: Sequence[Group]) -> str:
    """summary.csv: one row per run, with its cell's recipe label, its uncertainty metrics and
    bootstrap intervals, per natural-shift set its error, interval, effective robustness (``shift_er``,
    empty without a baseline fit) and uncertainty, and every per-corruption mean."""
    runs: list[tuple[Run, Group]] = [(run, g) for g in groups for run in g.runs]
    names = corruption_names(run for run, _ in runs)
    shifts = shift_names(run for run, _ in runs)
    fits = {label: shift_fits([g for g in groups if g.dataset_label == label])
            for label in dict.fromkeys(g.dataset_label for g in groups)}
    shift_columns = [column.format(name) for name in shifts for column in SHIFT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*SUMMARY_COLUMNS, *UNCERTAINTY_COLUMNS, *shift_columns, *(f"error/{name}" for name in names)])
    for run, g in runs:
        metrics = run_metrics(run.results) | interval_columns(run_intervals(run.results))
        for name in shifts:
            metrics[f"shift_er/{name}"] = effective_robustness(run, name, fits[g.dataset_label].get(name))
        r = run.results
        identity = [display_path(run.path), r["dataset"], g.data, r["model"], r["augmentation"], _csv(r.get("seed")),
                    _csv(r.get("epochs")), g.recipe_label]
        measured = [metrics.get(c) for c in SUMMARY_COLUMNS[len(identity):-1]]
        after = [metrics.get(c) for c in [*UNCERTAINTY_COLUMNS, *shift_columns]]
        per_corruption = [metrics.get(f"error/{n}") for n in names]
        writer.writerow(identity + [_csv(v) for v in measured] + [" ".join(run_overlap(run.results))]
                        + [_csv(v) for v in after + per_corruption])
    return buffer.getvalue()


def interval_columns(intervals: dict[str, tuple[float, float]]) -> dict[str, float]:
    """``run_intervals``' entries as summary.csv columns: ``clean_error_ci95_low``, ...,
    ``shift_error_ci95_high/<name>``."""
    columns = {}
    for metric, (low, high) in intervals.items():
        base, _, shift = metric.partition("/")
        suffix = f"/{shift}" if shift else ""
        columns[f"{base}_ci95_low{suffix}"] = low
        columns[f"{base}_ci95_high{suffix}"] = high
    return columns


def _csv(value: object) -> str:
    """A CSV field: empty for None, numbers rounded to 4 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = round(value, 4)
    return value if isinstance(value, str) else json.dumps(value)
