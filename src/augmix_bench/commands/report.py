"""``augmix-report PATH... [--output DIR | output=DIR]``: the command line of the report.

Bad input is one line on stderr: ``augmix-report: error: ...`` with exit status 2 before any work
(a PATH that does not exist, nothing to report, matplotlib missing, an output that is a file or
cannot be written; a write that fails on the way names its file); a PATH without results, a
malformed results file and a failed sweep job are one ``augmix-report: warning: ...`` line each,
and the rest is reported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from ..errors import UserError, missing_extra
from ..files import check_folder, os_error_line

PROGRAM = "augmix-report"


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROGRAM}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROGRAM,
        description="Paper-style tables (report.md, summary.csv, report.tex) and plots of runs and sweeps, "
        "beside the paper's numbers.",
        epilog="Example: augmix-report results/sweeps/2026-11-30_10-00-00   (writes <PATH>/report/)",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="run directory, sweep directory or results.json / eval_results.json (searched recursively)")
    parser.add_argument("--output", type=Path, default=None, metavar="DIR",
                        help="report folder (also accepted as output=DIR); default: <first PATH>/report/")
    return parser


def _hydra_style(argv: Sequence[str]) -> list[str]:
    """``output=DIR`` (the other commands' key=value form) as ``--output DIR``."""
    args: list[str] = []
    for arg in argv:
        args += ["--output", arg.split("=", 1)[1]] if arg.startswith("output=") else [arg]
    return args


def default_output(first: Path) -> Path:
    """``<first PATH>/report`` (beside the file when the first PATH is a results file)."""
    return (first if first.is_dir() else first.parent) / "report"


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise missing_extra("augmix-report", "report", ["matplotlib"]) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``augmix-report``; returns the exit status (0, or 2 after a one-line error)."""
    try:
        args = _parser().parse_args(_hydra_style(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, or a usage error already printed in one line
        return int(exc.code or 0)
    output = args.output if args.output is not None else default_output(args.paths[0])
    try:
        _require_matplotlib()
        check_folder(output, "output")
        from ..report.collect import collect
        from ..report.tables import to_markdown
        from ..report.writer import write_report

        collection = collect(args.paths)
        if not collection.runs:
            found = [f"{len(collection.unfinished)} run(s) still training"] if collection.unfinished else []
            found += [f"malformed: {bad.path}: it {bad.reason}" for bad in collection.malformed[:1]]
            details = f" ({'; '.join(found)})" if found else ""
            raise UserError(f"no finished runs to report under {', '.join(map(str, args.paths))}{details}")
        for path in collection.empty:
            print(f"{PROGRAM}: warning: no results.json or eval_results.json under {path}", file=sys.stderr)
        for bad in collection.malformed:
            print(f"{PROGRAM}: warning: skipping malformed {bad.path}: it {bad.reason}", file=sys.stderr)
        for sweep in collection.sweeps:
            for job, line in sweep.failed:
                print(f"{PROGRAM}: warning: sweep {sweep.path}: job {job} failed: {line}", file=sys.stderr)
        report = write_report(collection, output, args.paths)
    except UserError as exc:
        print(f"{PROGRAM}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, or a folder that turned read-only while writing
        print(f"{PROGRAM}: error: cannot write {os_error_line(exc)}", file=sys.stderr)
        return 2
    print(report.markdown)
    for table in report.main_tables:
        print()
        print(to_markdown(table), end="")
    return 0
