"""How much does a -C score depend on the random draws? Evaluate one checkpoint on the released
corruption set (when present) and on K regenerated ones (seeds 0..K-1, ``augmix-corrupt``), and
print the corruption error per corruption as mean +- std over the seeds next to the released value.

Generation is resumable and each seed's folder (``<root>/CIFAR-10-C-seed<k>`` by default) is kept,
so rerunning with a larger K only generates the new seeds. Every evaluation is the real
``augmix-eval checkpoint=... dataset.corruptions_dir=<folder>``. Run from the repository root:

    python scripts/seed_study.py --checkpoint results/runs/<run>/checkpoints/last.pt --seeds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from augmix_bench.commands.build import build_benchmark_from_config, plain
from augmix_bench.commands.corrupt import run_corrupt
from augmix_bench.files import atomic_write_json


def _program(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def evaluate(checkpoint: Path, corruptions_dir: Path | None, extra: list[str]) -> dict[str, Any]:
    """The ``corruptions`` entry of ``augmix-eval`` on ``corruptions_dir`` (None: the released set)."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "eval.json"
        folder = "null" if corruptions_dir is None else str(corruptions_dir)
        args = [_program("augmix-eval"), f"checkpoint={checkpoint}", "eval.suites=[corruptions]", f"output={output}",
                f"dataset.corruptions_dir={folder}", *extra]
        subprocess.run(args, check=True)
        return json.loads(output.read_text())["corruptions"]


def errors_by_corruption(entry: dict[str, Any]) -> dict[str, float]:
    """Mean error over the severities of every corruption, plus ``mean`` (the mean corruption error)."""
    per = {name: value["mean_error"] for name, value in entry["per_corruption"].items()}
    return {**per, "mean": entry["mean_error"]}


def main() -> None:
    """Generate the seeds, evaluate, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a run's checkpoints/last.pt")
    parser.add_argument("--seeds", type=int, default=3, help="number of regenerated sets (seeds 0..K-1)")
    parser.add_argument("--root", help="dataset.root (default: the checkpoint's)")
    parser.add_argument("--workers", type=int, default=None, help="augmix-corrupt processes (default: all cores)")
    parser.add_argument("--output", type=Path, help="JSON file for the figures (default: seed_study.json beside the checkpoint)")
    parser.add_argument("overrides", nargs="*", help="more augmix-eval overrides, e.g. trainer.num_workers=8 eval.limit=1000")
    args = parser.parse_args()

    config = OmegaConf.create(torch.load(args.checkpoint, map_location="cpu", weights_only=False)["config"])
    if args.root:
        config.dataset.root = args.root
    extra = [f"dataset.root={config.dataset.root}", *args.overrides]
    columns: dict[str, dict[str, float]] = {}
    released = build_benchmark_from_config({**plain(config.dataset), "corruptions_dir": None})
    if released.missing("corruptions") is None:
        columns["released"] = errors_by_corruption(evaluate(args.checkpoint, None, extra))
    for seed in range(args.seeds):
        generate = OmegaConf.create({"dataset": OmegaConf.to_container(config.dataset, resolve=True), "output": None,
                                     "seed": seed, "progress": True, "corrupt": {"workers": args.workers}})
        folder = run_corrupt(generate)
        columns[f"seed{seed}"] = errors_by_corruption(evaluate(args.checkpoint, folder, extra))

    seeds = [c for c in columns if c.startswith("seed")]
    rows = {}
    print(f"{'corruption':20s} {'released':>9s} {'seeds mean':>10s} {'std':>6s} {'min':>6s} {'max':>6s}  (error %, over {len(seeds)} seeds)")
    for name in columns[seeds[0]]:
        values = [columns[s][name] for s in seeds]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        rows[name] = {"released": columns.get("released", {}).get(name), "mean": statistics.fmean(values), "std": std,
                      "min": min(values), "max": max(values), "seeds": values}
        shown = "-" if rows[name]["released"] is None else f"{rows[name]['released']:.2f}"
        print(f"{name:20s} {shown:>9s} {rows[name]['mean']:10.2f} {std:6.2f} {min(values):6.2f} {max(values):6.2f}")
    output = args.output or args.checkpoint.with_name("seed_study.json")
    atomic_write_json(output, {"checkpoint": str(args.checkpoint), "dataset": config.dataset.name, "seeds": len(seeds),
                               "per_corruption": rows})
    print(f"saved {output}")


if __name__ == "__main__":
    main()
