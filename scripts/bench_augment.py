"""Training samples per second of AugMix implementations (a sample = clean view + 2 AugMix views).

Measured at 32x32 and 224x224, in one process, for:

  reference     the reference code's per-image procedure as transcribed in tests/reference_augmix.py:
                PIL ops drawing with np.random, ToTensor + Normalize of every chain, mixing in torch
                (the baseline)
  pil_path      this project's per-image PIL path (AugMixViews + AugMix), as data-loader workers run it
  torchvision   torchvision.transforms.v2.AugMix on uint8 batches; it applies ONE op chain and one
                set of mixing weights to the whole batch, so it is not per-image AugMix
  batched       BatchedAugMix (TensorViews: clean + 2 views per image) on the CPU, 1 thread and all
                threads, and on the GPU when CUDA is present (at the CPU batch and at a large batch)

Every figure is a ratio to ``reference`` measured in the same process; the methods are measured in
interleaved rounds and the median is reported, per second of wall-clock time and per second of the
process's CPU time (samples per core-second for one thread; on a shared machine the CPU-time
figures are the steadier ones). Spatial augmentation (flip/crop) is left out of every method. Run
from the repository root:

    python scripts/bench_augment.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from augmix_bench.cli.allocator import keep_freed_memory  # noqa: E402
from bench_report import RESULTS_DIR, markdown_table, time_calls, write_report  # noqa: E402
from reference_augmix import reference_augment_and_mix, reference_preprocess  # noqa: E402

from augmix_bench.augment import AugMix, AugMixViews, BatchedAugMix, Normalize  # noqa: E402
from augmix_bench.augment.tensor_views import TensorViews  # noqa: E402
from augmix_bench.data.arrays import ArrayImageDataset  # noqa: E402

MEAN = STD = (0.5, 0.5, 0.5)
SEVERITY, WIDTH, DEPTH, ALPHA = 3, 3, -1, 1.0


def smooth_images(count: int, side: int, seed: int = 0) -> np.ndarray:
    """(count, side, side, 3) uint8 photo-like images: bicubic upscaled colour noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, 8, 8, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(c).resize((side, side), Image.BICUBIC)) for c in coarse])


def per_image(make: Callable[[int], object], count: int) -> Callable[[], int]:
    def step() -> int:
        for index in range(count):
            make(index)
        return count

    return step


def methods(side: int, batch: int, gpu_batch: int) -> dict[str, tuple[Callable[[], int], int | None, bool]]:
    """name -> (step returning the samples it made, torch threads (None: all), needs CUDA sync)."""
    images = smooth_images(batch, side)
    pil = [Image.fromarray(img) for img in images]
    np_random = np.random.RandomState(0)  # the reference draws from NumPy's global legacy generator
    settings = dict(severity=SEVERITY, width=WIDTH, depth=DEPTH, alpha=ALPHA, mean=MEAN, std=STD)

    def reference_sample(index: int) -> tuple[torch.Tensor, ...]:
        img = pil[index]
        clean = reference_preprocess(img, MEAN, STD)
        return clean, reference_augment_and_mix(img, np_random, **settings), reference_augment_and_mix(
            img, np_random, **settings
        )

    labels = np.zeros(batch, dtype=np.int64)
    dataset = AugMixViews(ArrayImageDataset(images, labels), Normalize(MEAN, STD), AugMix(**settings), seed=0)
    uint8 = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    tv_augmix = v2.AugMix(SEVERITY, WIDTH, DEPTH, ALPHA, all_ops=False)
    tv_normalize = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])
    views = TensorViews(MEAN, STD, BatchedAugMix(**settings), jsd=True)
    generator = torch.Generator().manual_seed(0)

    def torchvision_step() -> int:
        tv_normalize(uint8), tv_normalize(tv_augmix(uint8)), tv_normalize(tv_augmix(uint8))
        return batch

    def batched_step() -> int:
        views(uint8, generator)
        return batch

    found = {
        "reference": (per_image(reference_sample, batch), 1, False),
        "pil_path": (per_image(dataset.__getitem__, batch), 1, False),
        "torchvision": (torchvision_step, 1, False),
        "batched_cpu_1_thread": (batched_step, 1, False),
        "batched_cpu_all_threads": (batched_step, None, False),
    }
    if torch.cuda.is_available():
        cuda_generator = torch.Generator(device="cuda").manual_seed(0)
        for name, size in (("batched_gpu", batch), ("batched_gpu_large_batch", gpu_batch)):
            found[name] = (gpu_step(views, smooth_images(size, side), cuda_generator), None, True)
    return found


def gpu_step(views: TensorViews, images: np.ndarray, generator: torch.Generator) -> Callable[[], int]:
    """A step making the training views of ``images`` on the GPU."""
    on_gpu = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().cuda()

    def step() -> int:
        views(on_gpu, generator)
        return len(images)

    return step


def measure(side: int, batch: int, gpu_batch: int, rounds: int, seconds: float) -> list[dict]:
    """Median samples/s of every method over ``rounds`` interleaved rounds.

    Ratios are medians of the ratios within a round, which cancels load that other processes put
    on the machine for the length of a round.
    """
    all_threads = torch.get_num_threads()
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    candidates = methods(side, batch, gpu_batch)
    for _ in range(rounds):
        for name, (step, threads, sync) in candidates.items():
            torch.set_num_threads(threads or all_threads)
            per_wall, per_cpu = time_calls(step, seconds, synchronize=sync)
            wall.setdefault(name, []).append(per_wall)
            cpu.setdefault(name, []).append(per_cpu)
    torch.set_num_threads(all_threads)

    def ratio(rates: dict[str, list[float]], name: str, baseline: str) -> float:
        return statistics.median(a / b for a, b in zip(rates[name], rates[baseline], strict=True))

    return [
        {
            "size": side,
            "method": name,
            "threads": threads or all_threads,
            "batch": gpu_batch if name == "batched_gpu_large_batch" else batch,
            "samples_per_second": statistics.median(wall[name]),
            "samples_per_cpu_second": statistics.median(cpu[name]),
            "rounds_wall": wall[name],
            "rounds_cpu": cpu[name],
            "vs_reference": ratio(wall, name, "reference"),
            "vs_pil_path": ratio(wall, name, "pil_path"),
            "cpu_vs_reference": ratio(cpu, name, "reference"),
            "cpu_vs_pil_path": ratio(cpu, name, "pil_path"),
        }
        for name, (_, threads, _) in candidates.items()
    ]


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (about a minute)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    parser.add_argument("--name", default=None, help="output name (default bench_augment_cpu / _gpu)")
    parser.add_argument("--system-malloc", action="store_true",
                        help="keep glibc's default malloc thresholds (plain library use; default: the CLI's)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, --quick 3)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per method and round (2, --quick 0.5)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where the report goes")
    args = parser.parse_args(argv)
    allocator = "system default" if args.system_malloc else keep_freed_memory()
    rounds, seconds = (3, 0.5) if args.quick else (5, 2.0)
    rounds = args.rounds or rounds
    seconds = args.seconds or seconds
    batches = {32: (128, 2048), 224: (16 if args.quick else 32, 256)}
    rows = []
    for side in args.sizes:
        batch, gpu_batch = batches.get(side, (16, 256))
        rows += measure(side, batch, gpu_batch, rounds, seconds)
    table = markdown_table(
        ["size", "method", "threads", "batch", "samples/s (wall)", "x reference", "x pil_path",
         "samples/CPU-s", "x reference (CPU)", "x pil_path (CPU)"],
        [
            [r["size"], r["method"], r["threads"], r["batch"], f"{r['samples_per_second']:.0f}",
             f"{r['vs_reference']:.2f}", f"{r['vs_pil_path']:.2f}", f"{r['samples_per_cpu_second']:.0f}",
             f"{r['cpu_vs_reference']:.2f}", f"{r['cpu_vs_pil_path']:.2f}"]
            for r in rows
        ],
    )
    print(table)
    notes = [
        "a training sample is the clean view plus two AugMix views (JSD); flip/crop is left out everywhere",
        "torchvision's v2.AugMix shares one op chain and one set of weights across the batch: "
        "not per-image AugMix",
        f"CPU allocator: {allocator}",
        "no GPU in this run" if not torch.cuda.is_available() else f"GPU batch: {batches}",
        f"medians of {rounds} interleaved rounds of about {seconds} s per method; ratios are medians of "
        "the ratios within a round; per-round figures in the JSON",
    ]
    name = args.name or ("bench_augment_gpu" if torch.cuda.is_available() else "bench_augment_cpu")
    payload = {"benchmark": "augment", "allocator": allocator, "results": rows}
    path = write_report(name, "AugMix training-sample throughput", payload, table, notes, args.out_dir)
    print(f"wrote {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
