"""The report of ``scripts/device_check.sh``: every stage's status and time, and its figures.

Reads the check's work folder (``stages.tsv``, the runs' ``results.json``, the -C evaluation's
JSON) and writes ``device_check.md`` and ``device_check.json`` (with device, command and date)
to ``--out-dir``. Exits 1 when the work folder lacks the stage table.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import markdown_table, write_report  # noqa: E402

from augmix_bench.data.names import CORRUPTIONS, SEVERITIES  # noqa: E402

#: Training stages and the run folder each one writes.
RUNS = ("train_gpu", "train_cpu", "ddp_nccl")


def read_stages(work: Path) -> list[dict[str, Any]]:
    """The rows of ``stages.tsv``: name, exit status, seconds, command."""
    with (work / "stages.tsv").open(newline="") as handle:
        return [
            {"stage": name, "status": int(status), "seconds": float(seconds), "command": command}
            for name, status, seconds, command in csv.reader(handle, delimiter="\t")
        ]


def load_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the stage did not write it."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def figures(work: Path, per_set: int) -> dict[str, str]:
    """A one-line figure per stage that has one (training images/s, -C images/s).

    ``per_set`` is the number of images in each corruption x severity set that was evaluated.
    """
    found = {}
    for name in RUNS:
        results = load_json(work / "runs" / name / "results.json")
        if results:
            meta = results["meta"]
            found[name] = (
                f"{meta['train_images_per_second']:.0f} training samples/s over "
                f"{results['epochs']} epoch(s), {meta['train_seconds']:.1f} s; "
                f"clean error {results['clean']['error']:.1f}%"
            )
    evaluation = load_json(work / "runs" / "eval_c.json")
    if evaluation:
        seconds = evaluation["meta"]["eval_seconds"]
        images = per_set * len(CORRUPTIONS) * len(SEVERITIES)
        found["eval_c"] = (
            f"{images / seconds:.0f} images/s: {images} images ({len(CORRUPTIONS)} corruptions x "
            f"{len(SEVERITIES)} severities x {per_set}) in {seconds:.1f} s; "
            f"mean -C error {evaluation['corruptions']['mean_error']:.1f}%"
        )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True, help="the check's work folder")
    parser.add_argument("--out-dir", type=Path, required=True, help="where the report goes")
    parser.add_argument("--command", default="scripts/device_check.sh", help="the command that ran")
    parser.add_argument("--per-set", type=int, required=True, help="images per -C corruption x severity set")
    args = parser.parse_args(argv)
    if not (args.work / "stages.tsv").is_file():
        print(f"device_check_report.py: error: no stages.tsv in {args.work}", file=sys.stderr)
        return 1
    stages = read_stages(args.work)
    found = figures(args.work, args.per_set)
    table = markdown_table(
        ["stage", "exit", "seconds", "figure"],
        [[s["stage"], s["status"], f"{s['seconds']:.1f}", found.get(s["stage"], "")] for s in stages],
    )
    print(table)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (dry run: no GPU)"
    notes = [
        f"device: {device}; check command: `{args.command}`",
        "benchmark reports of this check: bench_augment_*.md, bench_train_*.md and bench_successors_*.md beside this file",
        "stage logs: $OUT/logs when OUT was set",
    ]
    payload = {"benchmark": "device_check", "device": device, "check_command": args.command,
               "stages": stages, "figures": found}
    path = write_report("device_check", "Device check", payload, table, notes, args.out_dir)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
