"""The report's tables, built once and written as Markdown, LaTeX (booktabs) and CSV.

Cells hold a measured ``Stat`` (mean ± sample std over seeds, n) and, where the paper reports the
same number, the paper's value: rendered ``measured (paper)``. Missing values are ``–``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .aggregate import Group, Stat, corruption_names, run_metrics, sort_key, table_protocol
from .collect import Run, display_path
from .paper import ablation_methods, paper_value, table1_methods
from .protocol import protocol_note

DASH = "–"


@dataclass(frozen=True)
class Cell:
    """A measured value (None: not measured) and the paper's value for the same cell (None: not reported)."""

    stat: Stat | None
    paper: float | None = None


@dataclass
class Table:
    """A titled table: a header row, rows of cells (``Cell`` or plain text) and notes printed below it."""

    title: str
    header: list[str]
    rows: list[list[Cell | str]]
    notes: list[str] = field(default_factory=list)


def _number(value: float) -> str:
    return f"{value:.2f}"


def _paper_text(value: float) -> str:
    """The paper's number as printed there (one or two decimals)."""
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def cell_text(cell: Cell | str, latex: bool = False) -> str:
    """A cell as Markdown (``12.34 ± 0.56, n=2 (11.2)``) or LaTeX text."""
    if isinstance(cell, str):
        return latex_escape(cell) if latex else cell
    stat = cell.stat
    if stat is None or stat.mean is None:
        measured = "--" if latex else DASH
    elif stat.n > 1 and stat.std is not None:
        measured = (
            f"${_number(stat.mean)} \\pm {_number(stat.std)}$, $n{{=}}{stat.n}$"
            if latex
            else f"{_number(stat.mean)} ± {_number(stat.std)}, n={stat.n}"
        )
    else:
        measured = _number(stat.mean)
    return measured if cell.paper is None else f"{measured} ({_paper_text(cell.paper)})"


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``–`` becomes ``--``)."""
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", DASH: "--",
                    "±": r"$\pm$"}
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
            row.append(Cell(group.stat(metric) if group else None, paper))
        rows.append(row)
    with_paper = any(isinstance(c, Cell) and c.paper is not None for row in rows for c in row)
    notes = ["Cells: measured (paper); measured is mean ± sample std over n seeds."] if with_paper else []
    return Table(title, ["model", *methods], rows, notes + recipe_notes(groups) + seed_notes(groups))


def per_corruption(groups: Sequence[Group], metric_prefix: str = "error", title: str = "") -> Table:
    """One row per (model, method, recipe), one column per corruption (mean over severities), mean, n."""
    names = corruption_names(run for g in groups for run in g.runs)
    rows: list[list[Cell | str]] = []
    for g in groups:
        overall = "mce" if metric_prefix == "ce" else "mean_corruption_error"
        rows.append([g.model, g.augmentation + (f" [{g.recipe_label}]" if g.recipe_label else ""), str(len(g.runs)),
                     *[_mean_only(g.stat(f"{metric_prefix}/{name}")) for name in names], _mean_only(g.stat(overall))])
    label = "mCE" if metric_prefix == "ce" else "mean"
    return Table(title, ["model", "method", "n", *names, label], rows,
                 ["Means over the n seeds of each cell; every run's values are in summary.csv."])


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
                 paper_value(dataset, "wrn40_2", m, "mean_corruption_error"))]
        for m in methods
    ]
    return Table(f"Ablation, WRN-40-2 on {dataset}-C: mean corruption error (%)",
                 ["method", "mean corruption error"], rows, ["Cells: measured (paper)."])


def imagenet_table(groups: Sequence[Group]) -> Table:
    """Table 2's layout: clean error, per-corruption CE, mCE and relative mCE per (model, method)."""
    names = corruption_names(run for g in groups for run in g.runs)
    rows: list[list[Cell | str]] = []
    for g in groups:
        rows.append([
            g.model, g.augmentation + (f" [{g.recipe_label}]" if g.recipe_label else ""),
            Cell(g.stat("clean_error"), paper_value(g.dataset, g.model, g.augmentation, "clean_error")),
            *[Cell(g.stat(f"ce/{name}")) for name in names],
            Cell(g.stat("mce"), paper_value(g.dataset, g.model, g.augmentation, "mce")),
            Cell(g.stat("relative_mce")),
        ])
    return Table(f"{groups[0].dataset_label}: clean error, corruption errors CE, mCE and relative mCE (%)",
                 ["model", "method", "clean", *names, "mCE", "relative mCE"], rows,
                 ["Cells: measured (paper); CE and mCE are AlexNet-normalized."])


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
        [g.model, g.augmentation + (f" [{g.recipe_label}]" if g.recipe_label else ""), str(len(g.runs)),
         Cell(g.stat("mean_corruption_bar_error")), *[_mean_only(g.stat(f"bar_error/{n}")) for n in names]]
        for g in groups
    ]
    return Table(f"{groups[0].dataset_label}: -C-bar error (%), mean over the corruptions and per corruption",
                 ["model", "method", "n", "mean", *names], rows,
                 ["-C-bar (Mintun et al. 2021): each corruption's error is its mean over the 5 severities."])


#: summary.csv's leading columns (then ``error/<corruption>`` for every corruption found).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "path", "dataset", "data", "model", "augmentation", "seed", "epochs", "recipe", "clean_error",
    "mean_corruption_error", "mce", "relative_mce", "clean_calibration", "corrupted_calibration",
    "mean_flip_probability",
)


def summary_csv(groups: Sequence[Group]) -> str:
    """summary.csv: one row per run, with its cell's recipe label and every per-corruption mean."""
    runs: list[tuple[Run, Group]] = [(run, g) for g in groups for run in g.runs]
    names = corruption_names(run for run, _ in runs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*SUMMARY_COLUMNS, *(f"error/{name}" for name in names)])
    for run, g in runs:
        metrics = run_metrics(run.results)
        r = run.results
        identity = [display_path(run.path), r["dataset"], g.data, r["model"], r["augmentation"], _csv(r.get("seed")),
                    _csv(r.get("epochs")), g.recipe_label]
        values = [metrics.get(c) for c in SUMMARY_COLUMNS[len(identity):]] + [metrics.get(f"error/{n}") for n in names]
        writer.writerow(identity + [_csv(v) for v in values])
    return buffer.getvalue()


def _csv(value: object) -> str:
    """A CSV field: empty for None, numbers rounded to 4 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        value = round(value, 4)
    return value if isinstance(value, str) else json.dumps(value)
