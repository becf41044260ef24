"""Training samples per second of every augmentation method, beside its reference code, and the
cost of augmenting a batch relative to a WRN-40-2 training step, on this machine.

For each method, at 32x32 and 224x224, in one process:

  <method>/reference   the reference's per-image procedure as transcribed in tests/reference_*.py
                       (AugMix, PRIME, PixMix; FMix's mask + mixing); the baseline of the method
  <method>/per_image   this project's path as data-loader workers run it (PIL or a batch of one)
  <method>/batched     this project's tensor path on a uint8 batch, where one exists
                       (BatchedAugMix, BatchedPrime; FMix on batches; torchvision's TrivialAugmentWide
                       and RandAugment on a uint8 batch, which apply ONE draw to the whole batch)

A sample is what the training step consumes: clean + 2 views for AugMix and PRIME with JSD, one
view otherwise. TrivialAugment and RandAugment have no transcription: torchvision is their reference
(per_image is torchvision on PIL images, so the ratio is 1 by construction). Every ratio is the median
over interleaved rounds of the ratio within a round (the process's CPU time), to ``reference`` of the
same method. ``step_ratio`` is the time to augment one batch of 128 at 32x32 divided by one CPU
training step of WRN-40-2 (forward + backward + SGD step, batch 128, 32x32, all threads) timed in the
same rounds. With CUDA it also times, on the GPU, the views of one JSD batch of 128 (PRIME,
AugMix) against WRN-40-2's forward + backward + SGD step on its 384 images (``augment / step``).
Run from the repository root:

    python scripts/bench_successors.py --quick
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import RandAugment, TrivialAugmentWide

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import reference_fmix  # noqa: E402
import reference_pixmix  # noqa: E402
import reference_prime  # noqa: E402
from bench_augment import smooth_images  # noqa: E402
from bench_report import RESULTS_DIR, markdown_table, time_calls, write_report  # noqa: E402
from reference_augmix import reference_augment_and_mix, reference_preprocess  # noqa: E402

from augmix_bench.augment import AugMix, AugMixViews, BatchedAugMix, Normalize  # noqa: E402
from augmix_bench.augment.fmix import draw_fmix, fmix  # noqa: E402
from augmix_bench.augment.pixmix import PIXMIX_SETTINGS, MixingSet, PixMix  # noqa: E402
from augmix_bench.augment.prime import PRIME  # noqa: E402
from augmix_bench.augment.prime_views import BatchedPrime, PrimeSamples  # noqa: E402
from augmix_bench.augment.tensor_views import TensorViews  # noqa: E402
from augmix_bench.cli.allocator import keep_freed_memory  # noqa: E402
from augmix_bench.data.arrays import ArrayImageDataset  # noqa: E402
from augmix_bench.models import wrn40_2  # noqa: E402

MEAN = STD = (0.5, 0.5, 0.5)
Step = Callable[[], int]
PRIME_CFG = {
    "cifar": {"diffeo": {"sT": 1.0, "rT": 1.0, "scut": 1.0, "rcut": 1.0, "cutmin": 2, "cutmax": 100, "alpha": 1.0},
              "color_jit": {"cut": 100, "T": 0.01, "max_freqs": None}, "rand_filter": {"kernel_size": 3, "sigma": 4.0}},
    "imagenet": {"diffeo": {"sT": 1.0, "rT": 1.0, "scut": 1.0, "rcut": 1.0, "cutmin": 2, "cutmax": 500, "alpha": 1.0},
                 "color_jit": {"cut": 500, "T": 0.05, "max_freqs": 20}, "rand_filter": {"kernel_size": 3, "sigma": 4.0}},
}


def each(make: Callable[[int], object], count: int) -> Step:
    """A step running ``make`` on ``count`` images, one at a time."""
    def step() -> int:
        for index in range(count):
            make(index)
        return count
    return step


def mixing_folder(side: int, root: Path) -> MixingSet:
    """A mixing set of 8 synthetic pictures (the authors' fractals are not needed for timing)."""
    folder = root / f"mixing_{side}"
    folder.mkdir(parents=True, exist_ok=True)
    for index, pixels in enumerate(smooth_images(8, side * 9 // 8, seed=99)):
        Image.fromarray(pixels).save(folder / f"{index}.png")
    return MixingSet(folder, side, resize=PIXMIX_SETTINGS["cifar" if side <= 64 else "imagenet"].mixing_resize)


def methods(side: int, per_image: int, batch: int, root: Path) -> dict[str, Step]:
    """name -> a step returning the training samples it made."""
    preset = "cifar" if side <= 64 else "imagenet"
    images = smooth_images(max(per_image, batch), side)
    pil = [Image.fromarray(img) for img in images]
    uint8 = torch.from_numpy(images[:batch]).permute(0, 3, 1, 2).contiguous()
    labels = np.zeros(len(images), dtype=np.int64)
    np_random = np.random.RandomState(0)
    rng = np.random.default_rng(0)
    generator = torch.Generator().manual_seed(0)
    found: dict[str, Step] = {}

    # AugMix (JSD: clean + 2 views)
    settings = dict(severity=3, width=3, depth=-1, alpha=1.0, mean=MEAN, std=STD)
    views = AugMixViews(ArrayImageDataset(images, labels), Normalize(MEAN, STD), AugMix(**settings), seed=0)
    augmix_views = TensorViews(MEAN, STD, BatchedAugMix(**settings), jsd=True)
    found["augmix/reference"] = each(lambda i: (reference_preprocess(pil[i], MEAN, STD),
                                                reference_augment_and_mix(pil[i], np_random, **settings),
                                                reference_augment_and_mix(pil[i], np_random, **settings)), per_image)
    found["augmix/per_image"] = each(views.__getitem__, per_image)
    found["augmix/batched"] = lambda: (augmix_views(uint8, generator), batch)[1]

    # PRIME with JSD (clean + 2 views); the reference draws per batch, here a batch of one image
    cfg = PRIME_CFG[preset]
    unit = [img.astype(np.float64).transpose(2, 0, 1) / 255.0 for img in images]
    batched_prime = BatchedPrime(PRIME(preset, jsd=False), MEAN, STD)
    prime_samples = PrimeSamples(ArrayImageDataset(images, labels), batched_prime, jsd=True, seed=0)
    prime_views = TensorViews(MEAN, STD, batched_prime, jsd=True)
    found["prime/reference"] = each(lambda i: (reference_prime.prime_one(rng, unit[i], cfg),
                                               reference_prime.prime_one(rng, unit[i], cfg)), per_image)
    found["prime/per_image"] = each(prime_samples.__getitem__, per_image)
    found["prime/batched"] = lambda: (prime_views(uint8, generator), batch)[1]

    # PixMix (one view)
    mixing = mixing_folder(side, root)
    s = PIXMIX_SETTINGS[preset]
    pixmix = PixMix.from_settings(mixing, s)
    files = sorted((root / f"mixing_{side}").glob("*.png"))
    offset = s.mixing_resize - side

    def mixing_picture() -> Image.Image:  # the reference loads and crops a picture per sample
        with Image.open(files[np_random.randint(len(files))]) as img:
            return reference_pixmix.reference_mixing_picture(
                img, s.mixing_resize, side, np_random.randint(offset + 1), np_random.randint(offset + 1))

    found["pixmix/reference"] = each(lambda i: reference_pixmix.reference_pixmix(
        pil[i], mixing_picture(), np_random, s.k, s.beta, s.severity, s.all_ops, s.mean, s.std), per_image)
    found["pixmix/per_image"] = each(lambda i: pixmix(pil[i], rng), per_image)

    # FMix (one mixed batch; per image it is only ToTensor, so batched only)
    unit_batch = uint8.to(torch.float32).div_(255)
    py_random = random.Random(0)

    def fmix_reference() -> int:
        _, mask, _ = reference_fmix.reference_sample_mask(np_random, py_random, 1.0, 3.0, side, side)
        reference_fmix.reference_mix_batch(unit_batch.numpy(), mask.astype(np.float32), np_random.permutation(batch))
        return batch

    def fmix_batched() -> int:
        fmix(unit_batch, draw_fmix(batch, side, side, 1.0, 3.0, rng))
        return batch

    found["fmix/reference"] = fmix_reference
    found["fmix/batched"] = fmix_batched

    # TrivialAugment / RandAugment: torchvision is the reference
    for name, transform in (("trivialaugment", TrivialAugmentWide()), ("randaugment", RandAugment())):
        found[f"{name}/per_image"] = each(lambda i, t=transform: t(pil[i]), per_image)
        found[f"{name}/batched"] = lambda t=transform: (t(uint8), batch)[1]
    return found


def training_step(batch: int = 128, side: int = 32) -> Step:
    """One WRN-40-2 SGD step (forward, backward, update) on a CPU batch; returns the batch size."""
    torch.manual_seed(0)
    model = wrn40_2(num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    inputs = torch.randn(batch, 3, side, side)
    targets = torch.randint(0, 10, (batch,))

    def step() -> int:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
        return batch

    return step


def gpu_ratios(rounds: int, seconds: float, batch: int = 128, side: int = 32) -> list[dict]:
    """On CUDA: the views of one JSD batch (clean + 2 views of ``batch`` images, made on the GPU)
    against WRN-40-2's forward + backward + SGD step on those 3 x ``batch`` images, per method with a
    tensor path (PRIME, AugMix), timed in interleaved rounds with synchronization."""
    uint8 = torch.from_numpy(smooth_images(batch, side)).permute(0, 3, 1, 2).contiguous().cuda()
    generator = torch.Generator(device="cuda").manual_seed(0)
    found = {
        "prime": TensorViews(MEAN, STD, BatchedPrime(PRIME("cifar", jsd=False), MEAN, STD), jsd=True),
        "augmix": TensorViews(MEAN, STD, BatchedAugMix(severity=3, width=3, depth=-1, alpha=1.0, mean=MEAN, std=STD),
                              jsd=True),
    }
    model = wrn40_2(num_classes=10).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    inputs = torch.randn(3 * batch, 3, side, side, device="cuda")
    targets = torch.randint(0, 10, (3 * batch,), device="cuda")

    def train() -> int:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
        return 1

    steps: list[float] = []
    augment: dict[str, list[float]] = {}
    for _ in range(rounds):
        steps.append(time_calls(train, seconds, synchronize=True)[0])
        for name, views in found.items():
            augment.setdefault(name, []).append(
                time_calls(lambda v=views: (v(uint8, generator), 1)[1], seconds, synchronize=True)[0])
    return [
        {"method": name, "device": torch.cuda.get_device_name(0), "batch": batch, "size": side,
         "augment_batches_per_second": statistics.median(rates), "train_steps_per_second": statistics.median(steps),
         "augment_over_step": statistics.median(s / a for a, s in zip(rates, steps, strict=True))}
        for name, rates in augment.items()
    ]


def measure(sizes: dict[int, tuple[int, int]], rounds: int, seconds: float, root: Path) -> tuple[list[dict], dict]:
    """Medians over interleaved rounds of every method's samples/s and of the training step."""
    threads = torch.get_num_threads()
    candidates = {side: methods(side, *sizes[side], root) for side in sizes}
    train = training_step()
    cpu: dict[tuple[int, str], list[float]] = {}
    wall: dict[tuple[int, str], list[float]] = {}
    steps_cpu: list[float] = []
    for _ in range(rounds):
        torch.set_num_threads(threads)
        steps_cpu.append(time_calls(train, 0.0)[1])
        torch.set_num_threads(1)  # augmentation as one data-loader worker (or one core) runs it
        for side, found in candidates.items():
            for name, step in found.items():
                per_wall, per_cpu = time_calls(step, seconds)
                wall.setdefault((side, name), []).append(per_wall)
                cpu.setdefault((side, name), []).append(per_cpu)
    torch.set_num_threads(threads)
    step_seconds = 128 / statistics.median(steps_cpu)  # CPU-seconds of one step of 128
    rows = []
    for (side, name), rates in cpu.items():
        method, path = name.split("/")
        base = (side, f"{method}/reference") if (side, f"{method}/reference") in cpu else (side, f"{method}/per_image")
        ratio = statistics.median(a / b for a, b in zip(rates, cpu[base], strict=True))
        rate = statistics.median(rates)
        rows.append({
            "size": side, "method": method, "path": path, "samples_per_cpu_second": rate,
            "samples_per_second": statistics.median(wall[(side, name)]), "rounds_cpu": rates,
            "baseline": base[1], "vs_baseline": ratio,
            "step_ratio": (128 / rate) / step_seconds if side == 32 else None,
        })
    return rows, {"wrn40_2_step_cpu_seconds": step_seconds, "rounds_step": steps_cpu, "train_threads": threads}


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="2 short rounds, fewer images at 224 (a few minutes)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224])
    parser.add_argument("--name", default=None, help="output name (default bench_successors_cpu / _gpu)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, --quick 2)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per method and round (2, --quick 0.3)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR, help="where the report goes")
    args = parser.parse_args(argv)
    allocator = keep_freed_memory()
    rounds, seconds = (2, 0.3) if args.quick else (5, 2.0)
    rounds, seconds = args.rounds or rounds, args.seconds or seconds
    shapes = {32: (16 if args.quick else 64, 128), 224: (2 if args.quick else 8, 16)}
    sizes = {side: shapes.get(side, (2, 16)) for side in args.sizes}
    with tempfile.TemporaryDirectory() as root:
        rows, step = measure(sizes, rounds, seconds, Path(root))
    gpu = gpu_ratios(rounds, seconds) if torch.cuda.is_available() else []
    table = markdown_table(
        ["size", "method", "path", "images", "samples/CPU-s", "x baseline", "baseline", "augment 128 / WRN-40-2 step"],
        [[r["size"], r["method"], r["path"], sizes[r["size"]][1 if r["path"] == "batched" or r["method"] == "fmix" else 0],
          f"{r['samples_per_cpu_second']:.1f}", f"{r['vs_baseline']:.2f}", r["baseline"].split("/")[1],
          "" if r["step_ratio"] is None else f"{r['step_ratio']:.3f}"] for r in rows],
    )
    if gpu:
        table += "\n\nOn the GPU (views of one JSD batch of 128 at 32x32 vs WRN-40-2 forward + backward + SGD on its 384 images):\n\n"
        table += markdown_table(
            ["method", "device", "augment batches/s", "train steps/s", "augment / step"],
            [[g["method"], g["device"], f"{g['augment_batches_per_second']:.1f}", f"{g['train_steps_per_second']:.1f}",
              f"{g['augment_over_step']:.3f}"] for g in gpu],
        )
    print(table)
    notes = [
        "machine shared: 2 CPU cores with other processes running (load average above); the ratios, "
        "taken within a round in one process, are the steadier figures",
        "augmentation runs on 1 thread (one data-loader worker); the WRN-40-2 step on all threads "
        f"({step['train_threads']}): {step['wrn40_2_step_cpu_seconds']:.2f} CPU-s per step of 128 at 32x32",
        "step ratio = CPU time to augment 128 samples / CPU time of one training step (forward + backward + SGD); "
        "< 1: the augmentation of a batch costs less than the step on it",
        "a sample: clean + 2 views for AugMix and PRIME (JSD), one view for PixMix, TrivialAugment, RandAugment, "
        "a mixed image for FMix; flip/crop left out everywhere",
        "torchvision TrivialAugmentWide/RandAugment on a uint8 batch share one draw across the batch: not per-image",
        "PRIME's reference transcription draws per image (its per-call draws on a batch of one), in NumPy float64; "
        "PixMix uses 8 synthetic mixing pictures",
        f"CPU allocator: {allocator}; " + ("no GPU in this run" if not gpu else "GPU figures: the second table"),
        f"medians of {rounds} interleaved rounds of about {seconds} s per method (at least 2 timed calls after a warm-up)",
    ]
    name = args.name or ("bench_successors_gpu" if gpu else "bench_successors_cpu")
    payload = {"benchmark": "successors", "allocator": allocator, "images": {str(k): v for k, v in sizes.items()},
               **step, "results": rows, "gpu": gpu}
    path = write_report(name, "Augmentation methods: throughput beside their reference code, and cost per WRN-40-2 step",
                        payload, table, notes, args.out_dir)
    print(f"wrote {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
