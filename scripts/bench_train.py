"""Training images per second of every registered model: standard training vs AugMix + JSD.

For each model of ``augmix_bench.models.MODELS`` the real ``Trainer`` trains on the synthetic
CIFAR-format dataset (32x32, generated into a temporary folder), timing one epoch after a warm-up
epoch (``--quick``: batch 16, six steps, one timed epoch and a single warm-up epoch at the start),
in these set-ups:

  standard        augmentation=standard, batch B, trainer.data_pipeline=cpu (the reference's way)
  standard_3x     augmentation=standard, batch 3B, trainer.data_pipeline=gpu (the JSD step's
                  forward batch: the floor of AugMix + JSD's cost)
  augmix_jsd_cpu  augmentation=augmix (JSD), batch B, trainer.data_pipeline=cpu (PIL in workers)
  augmix_jsd_gpu  augmentation=augmix (JSD), batch B, trainer.data_pipeline=gpu (views on the device)

Images/s counts training samples (a JSD sample is three forward images). ``jsd_overhead`` is the
time of an AugMix + JSD step at batch B over the time of a standard step at batch 3B, minus 1.
Every model sees 32x32 inputs (ImageNet models too: the "small inputs" of this benchmark). The
device is CUDA when present, else the CPU (where ``gpu`` pipelines run on CPU tensors). Run from
the repository root:

    python scripts/bench_train.py --quick
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import RESULTS_DIR, markdown_table, write_report  # noqa: E402

from augmix_bench.cli.allocator import keep_freed_memory  # noqa: E402
from augmix_bench.commands.build import make_runtime  # noqa: E402
from augmix_bench.config.paths import config_dir  # noqa: E402
from augmix_bench.models import MODELS  # noqa: E402
from augmix_bench.training.loop import Trainer  # noqa: E402

#: name -> (augmentation, batch multiplier, data pipeline)
SETUPS: dict[str, tuple[str, int, str]] = {
    "standard": ("standard", 1, "cpu"),
    "standard_3x": ("standard", 3, "gpu"),
    "augmix_jsd_cpu": ("augmix", 1, "cpu"),
    "augmix_jsd_gpu": ("augmix", 1, "gpu"),
}


def images_per_second(
    model: str, setup: str, batch: int, train_size: int, workers: int, root: Path, warm_up: bool
) -> float:
    """Training samples per second of one timed epoch (after a warm-up epoch if ``warm_up``)."""
    augmentation, multiplier, pipeline = SETUPS[setup]
    overrides = [
        f"model={model}",
        f"augmentation={augmentation}",
        "dataset=synthetic",
        f"dataset.root={root}",
        "dataset.download=true",
        f"dataset.train_size={train_size}",
        "dataset.test_size=100",
        f"trainer.batch_size={batch * multiplier}",
        f"trainer.num_workers={workers}",
        f"trainer.data_pipeline={pipeline}",
        "trainer.progress=false",
        "eval.suites=[clean]",
    ]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(cfg, Path(run_dir), make_runtime(cfg.trainer))
        sync = torch.cuda.synchronize if trainer.runtime.device.type == "cuda" else (lambda: None)
        if warm_up:
            trainer.train_epoch(trainer.plan.objective)
            sync()
        start = time.perf_counter()
        stats = trainer.train_epoch(trainer.plan.objective)
        sync()
        return stats.images / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="batch 16, six steps, no workers, one warm-up")
    parser.add_argument("--models", nargs="+", default=sorted(MODELS), help="registered model names")
    parser.add_argument("--name", default=None, help="output name (default bench_train_cpu / _gpu)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where the report goes")
    args = parser.parse_args(argv)
    allocator = keep_freed_memory()
    batch, steps, workers = (16, 6, 0) if args.quick else (128, 30, min(8, os.cpu_count() or 1))
    train_size = batch * steps
    available = {p.stem for p in (config_dir() / "model").glob("*.yaml")}
    models = [m for m in args.models if m in available]
    skipped = [m for m in args.models if m not in available]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if args.quick and models:  # one-time set-up costs (data generation, kernels) out of the timings
            images_per_second(models[0], "standard", batch, train_size, workers, root, warm_up=False)
        for model in models:
            rates = {
                setup: images_per_second(model, setup, batch, train_size, workers, root, not args.quick)
                for setup in SETUPS
            }
            for setup, rate in rates.items():
                augmentation, multiplier, pipeline = SETUPS[setup]
                overhead = None
                if augmentation == "augmix":
                    overhead = rates["standard_3x"] / (3 * rate) - 1  # step time at B over step time at 3B
                rows.append({
                    "model": model, "setup": setup, "augmentation": augmentation, "data_pipeline": pipeline,
                    "batch": batch * multiplier, "images_per_second": rate, "jsd_overhead": overhead,
                })
    table = markdown_table(
        ["model", "setup", "data pipeline", "batch", "images/s", "JSD step vs standard 3x batch"],
        [
            [r["model"], r["setup"], r["data_pipeline"], r["batch"], f"{r['images_per_second']:.1f}",
             "" if r["jsd_overhead"] is None else f"{100 * r['jsd_overhead']:+.0f}%"]
            for r in rows
        ],
    )
    print(table)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu (no GPU in this run)"
    notes = [
        f"device: {device}; {torch.get_num_threads()} torch threads; data-loader workers: {workers}",
        f"synthetic CIFAR-format data, {train_size} training images, batch {batch}; "
        + ("one warm-up epoch at the start, then one timed epoch per set-up" if args.quick
           else "one warm-up epoch then one timed epoch per set-up"),
        "images/s = training samples per second (an AugMix + JSD sample is three forward images)",
        "on a CPU device the gpu pipeline runs on CPU tensors, competing with the model for the same cores",
        f"CPU allocator: {allocator}",
    ]
    if skipped:
        notes.append(f"skipped (no configs/model/<name>.yaml): {', '.join(skipped)}")
    name = args.name or ("bench_train_gpu" if torch.cuda.is_available() else "bench_train_cpu")
    payload = {"benchmark": "train", "batch": batch, "train_size": train_size, "results": rows}
    title = "Training throughput: standard vs AugMix + JSD"
    path = write_report(name, title, payload, table, notes, args.out_dir)
    print(f"wrote {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
