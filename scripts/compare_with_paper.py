"""Compare the runs of a sweep with the paper's Table 1 / ablation numbers.

    python scripts/compare_with_paper.py results/sweeps/<sweep>          # reads <sweep>/runs.jsonl
    python scripts/compare_with_paper.py results/sweeps/<sweep> --markdown table.md

Prints, for every (model, augmentation) the sweep ran, our clean error and mean corruption error
next to the paper's mean corruption error (results/paper/table1_<dataset>c.csv).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

PAPER = Path(__file__).resolve().parents[1] / "results" / "paper"


def paper_table(dataset: str) -> dict[tuple[str, str], float]:
    """(model, augmentation) -> the paper's mean corruption error on ``dataset``-C, if tabulated.

    Table 1 for every architecture, plus the WRN-40-2 ablation (e.g. ``augmix_no_jsd``).
    """
    table: dict[tuple[str, str], float] = {}
    path = PAPER / f"table1_{dataset}c.csv"
    if path.is_file():
        with open(path) as handle:
            for row in csv.DictReader(handle):
                for augmentation, value in row.items():
                    if augmentation != "model" and value:
                        table[(row["model"], augmentation)] = float(value)
    column = f"{dataset}c_mean_error"
    with open(PAPER / "ablation_wrn40_2.csv") as handle:
        for row in csv.DictReader(handle):
            if row.get(column):
                table.setdefault(("wrn40_2", row["method"]), float(row[column]))
    return table


def load_runs(sweep: Path) -> list[dict]:
    """The entries of ``runs.jsonl`` (one per finished job)."""
    index = sweep / "runs.jsonl"
    if not index.is_file():
        raise SystemExit(f"error: {index} does not exist; pass a sweep folder written by augmix-train -m")
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()]


def rows(runs: list[dict]) -> list[list[str]]:
    """Table rows: dataset, model, augmentation, clean error, mean corruption error, paper, difference."""
    table = []
    for run in sorted(runs, key=lambda r: (r["dataset"], r["model"], r["augmentation"])):
        paper = paper_table(run["dataset"]).get((run["model"], run["augmentation"]))
        ours = run.get("mean_corruption_error")
        table.append([
            run["dataset"],
            run["model"],
            run["augmentation"],
            _fmt(run.get("clean_error")),
            _fmt(ours),
            _fmt(paper),
            _fmt(ours - paper) if ours is not None and paper is not None else "-",
        ])
    return table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    """Parse arguments, print the comparison and optionally save it as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", type=Path, help="a sweep folder holding runs.jsonl")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    header = ["dataset", "model", "augmentation", "clean err", "mean corr err", "paper", "diff"]
    table = rows(load_runs(args.sweep))
    widths = [max(len(str(c)) for c in column) for column in zip(header, *table)]
    for line in [header, *table]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)))
    if args.markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
