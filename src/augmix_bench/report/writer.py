"""Writing a report folder: report.md, summary.csv, report.tex and the PNG figures (each atomically)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write_bytes, atomic_write_text
from .aggregate import Group, data_notes, datasets, group_runs
from .collect import Collection, display_path
from .plots import all_plots, effective_robustness_plots
from .tables import Table, dataset_tables, summary_csv, to_latex, to_markdown

#: What each figure shows (report.md's captions).
CAPTIONS: dict[str, str] = {
    "corruption_errors.png": "Error per corruption (mean over the 5 severities), methods side by side; bars: mean over seeds, whiskers: sample std (none where n=1).",
    "severity.png": "Error vs corruption severity (mean over the corruptions), clean at 0; one line per model / method; whiskers: sample std (none where n=1).",
    "calibration.png": "RMS calibration error vs corruption severity, clean at 0 (the paper's ImageNet calibration figure).",
    "reliability.png": "Reliability diagrams: accuracy vs mean confidence of the equal-mass calibration bins, clean and corrupted.",
    "training_curves.png": "Train loss, learning rate and clean test error per epoch (train_log.csv).",
}
#: Why a figure may be missing.
MISSING: dict[str, str] = {
    "corruption_errors.png": "no run has corruption errors",
    "severity.png": "no run has errors for all 15 corruptions at 5 severities",
    "calibration.png": "no results.json records the RMS calibration error per severity (written by older versions)",
    "reliability.png": "no results.json records calibration bins (written by older versions)",
    "training_curves.png": "no run directory holds a train_log.csv",
}


@dataclass(frozen=True)
class Report:
    """What was written: the report folder, its Markdown file and each dataset's main table."""

    output: Path
    markdown: Path
    main_tables: list[Table]


def status_lines(collection: Collection) -> list[str]:
    """report.md's list of what was found: finished runs, runs without results, bad files, partial sweeps."""
    lines = [f"- {len(collection.runs)} finished run(s) (results.json / eval_results.json)."]
    lines += [f"- sweep `{display_path(s.path)}`: {s.describe()}" for s in collection.sweeps]
    lines += [f"- `{display_path(u.run_dir)}`: {u.describe()}" for u in collection.unfinished]
    lines += [f"- `{display_path(m.path)}`: malformed, skipped: {m.reason}" for m in collection.malformed]
    lines += [f"- `{display_path(p)}`: no results found" for p in collection.empty]
    return lines


def runs_table(groups: Sequence[Group]) -> Table:
    """One row per finished run: its cell, seed, epochs and file."""
    rows: list[list] = [[g.dataset_label, g.model, g.augmentation, g.recipe_label or "", str(run.results.get("seed")),
                         str(run.results.get("epochs")), f"`{display_path(run.path)}`"]
                        for g in groups for run in g.runs]
    return Table("Runs", ["dataset", "model", "method", "recipe", "seed", "epochs", "file"], rows)


def write_report(collection: Collection, output: Path, sources: Sequence[Path]) -> Report:
    """Group the finished runs, write every file of the report into ``output`` and return what was written."""
    groups = group_runs(collection.runs)
    tables = {d: dataset_tables([g for g in groups if g.dataset_label == d]) for d in datasets(groups)}
    plots = all_plots(groups)
    for name, png in plots.items():
        if png is not None:
            atomic_write_bytes(output / name, png)
        elif (output / name).exists():
            (output / name).unlink()  # a stale figure of an earlier report would mislead
    robustness_plots = write_robustness_plots(groups, output)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = ["# augmix-report", "", f"Sources: {', '.join(f'`{display_path(p)}`' for p in sources)} ({stamp}).",
          "Percent throughout. A cell pools the seeds of one (data, model, method, recipe): "
          "mean ± sample standard deviation over n runs; `(x)` is the paper's number; `–` is missing.", "",
          "## Status", "", *status_lines(collection), *(f"- {note}" for note in data_notes(groups)), ""]
    for dataset, dataset_tables_ in tables.items():
        md += [f"## {dataset}", ""] + [to_markdown(t) for t in dataset_tables_]
    md += ["## Figures", ""]
    for name, png in plots.items():
        md += [f"![{name}]({name})", "", f"*{CAPTIONS[name]}*", ""] if png else [f"- `{name}`: not drawn: {MISSING[name]}.", ""]
    for name in robustness_plots:
        md += [f"![{name}]({name})", "", f"*{ROBUSTNESS_CAPTION}*", ""]
    md += [to_markdown(runs_table(groups))]
    markdown = output / "report.md"
    atomic_write_text(markdown, "\n".join(md))
    atomic_write_text(output / "summary.csv", summary_csv(groups))
    tex = ["% augmix-report: tables for a paper; needs \\usepackage{booktabs}", ""]
    tex += [to_latex(t) for ts in tables.values() for t in ts]
    atomic_write_text(output / "report.tex", "\n".join(tex))
    return Report(output, markdown, [ts[0] for ts in tables.values()])


#: The caption of each effective-robustness figure.
ROBUSTNESS_CAPTION = (
    "Effective robustness (Taori et al. 2020): accuracy on the shift set vs clean accuracy, one point per run, "
    "both axes logit-scaled; dashed: the least-squares line through the standard runs on these axes (none, with "
    "a note, for fewer than 2); a run's effective robustness is its height above that line, in the shifts table."
)


def write_robustness_plots(groups: Sequence[Group], output: Path) -> list[str]:
    """Write one effective-robustness PNG per dataset and shift set into ``output``, remove those of
    an earlier report that this one does not draw, and return the names written."""
    pngs = effective_robustness_plots(groups)
    for name, png in pngs.items():
        atomic_write_bytes(output / name, png)
    for stale in output.glob("effective_robustness_*.png"):
        if stale.name not in pngs:
            stale.unlink()
    return list(pngs)
