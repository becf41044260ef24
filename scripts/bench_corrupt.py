"""Images per second of ``augmix-corrupt``'s corruptions against a transcription of the original
functions (tests/original_corruptions.py: the make_cifar_c.py functions, one image at a time, the
frost texture re-read on every call), both on one core in the same process, CIFAR parameters.

For each corruption every step runs all five severities: this implementation on a chunk of images
as a worker does (per-image generators included), the transcription image by image. Figures are
per second of the process's CPU time (steadier than wall-clock time on a shared machine) and as
ratios to the transcription. The overall rate weighs every corruption equally, as generating a
whole -C set does. Without ``--quick`` the script also times the real command end to end
(``run_corrupt``, all cores, writing the files) on a CIFAR-format folder of ``--end-to-end`` images.
The original's motion blur and snow called ImageMagick through Wand, which the transcription
replaces by its NumPy formula, so those two baselines are not the original's own speed. Run from
the repository root:

    python scripts/bench_corrupt.py --quick
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

import original_corruptions as original  # noqa: E402
from bench_report import markdown_table, time_calls, write_report  # noqa: E402

from augmix_bench.corrupt import ALL_CORRUPTIONS, DETERMINISTIC, CorruptionSetting, corrupt_images, image_generators  # noqa: E402
from augmix_bench.commands.corrupt import run_corrupt  # noqa: E402
from augmix_bench.corrupt.runner import default_workers  # noqa: E402
from augmix_bench.corrupt.textures import frost_folder  # noqa: E402
from augmix_bench.data.cifar_pickles import read_cifar  # noqa: E402

#: Images of the whole CIFAR-10-C: 10,000 test images x 19 corruptions x 5 severities.
CIFAR10_C_IMAGES = 10_000 * 19 * 5


def sample_images(count: int, seed: int = 0) -> np.ndarray:
    """Natural-looking 32 px test images: smooth colour fields with edges and a little noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(count, 4, 4, 3)).astype(np.float32)
    images = np.stack([cv2.resize(c, (32, 32), interpolation=cv2.INTER_CUBIC) for c in coarse])
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def ours_step(images: np.ndarray, name: str) -> int:
    """All five severities of ``name`` on ``images``, as a worker runs a chunk."""
    for severity in range(1, 6):
        rngs = None if name in DETERMINISTIC else image_generators(0, name, severity, range(len(images)))
        corrupt_images(images, name, CorruptionSetting("cifar", 32, severity), rngs)
    return 5 * len(images)


def original_step(images: np.ndarray, name: str) -> int:
    """All five severities of ``name``, image by image, as make_cifar_c.py's loop."""
    for severity in range(1, 6):
        for image in images:
            original.corrupt(image, name, severity, original.CIFAR)
    return 5 * len(images)


def end_to_end(count: int) -> dict[str, float]:
    """Wall-clock images per second of ``run_corrupt`` (all cores, files written) on ``count`` images."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cifar-10-batches-py"
        folder.mkdir()
        images = sample_images(count, seed=1)
        entry = {b"data": images.transpose(0, 3, 1, 2).reshape(count, -1), b"labels": [i % 10 for i in range(count)]}
        for name in ("test_batch", "data_batch_1"):
            (folder / name).write_bytes(pickle.dumps(entry))
        assert len(read_cifar(Path(tmp), "cifar10", train=False)[0]) == count
        config = OmegaConf.create({
            "dataset": {"name": "cifar10", "_target_": "augmix_bench.data.CifarBenchmark", "variant": "cifar10", "root": tmp},
            "output": None, "seed": 0, "progress": False, "corrupt": {"workers": None},
        })
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        run_corrupt(config)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    made = count * len(ALL_CORRUPTIONS) * 5
    workers = default_workers()
    return {"images": made, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "images_per_second": round(made / seconds),
            "workers": workers, "projected_cifar10_c_seconds": round(CIFAR10_C_IMAGES * seconds / made),
            "projected_cifar10_c_seconds_on_idle_cores": round(CIFAR10_C_IMAGES * cpu / made / workers)}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    """Measure, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and shorter timings (< 2 minutes)")
    parser.add_argument("--end-to-end", type=int, default=1000, metavar="N",
                        help="without --quick: time augmix-corrupt on N test images (10000 = a whole CIFAR-10-C)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    original.FROST_DIR = frost_folder()
    ours_images = sample_images(100 if args.quick else 250)
    original_images = ours_images[: 3 if args.quick else 10]
    seconds = 0.6 if args.quick else 3.0
    rows, figures = [], {}
    for name in ALL_CORRUPTIONS:
        _, ours = time_calls(lambda: ours_step(ours_images, name), seconds)
        _, theirs = time_calls(lambda: original_step(original_images, name), seconds)
        figures[name] = {"ours_images_per_cpu_second": round(ours), "original_images_per_cpu_second": round(theirs),
                         "ratio": round(ours / theirs, 2)}
        rows.append((name, f"{ours:,.0f}", f"{theirs:,.0f}", f"{ours / theirs:.1f}x"))
        print(*rows[-1], sep="\t", flush=True)
    overall_ours = len(figures) / sum(1 / f["ours_images_per_cpu_second"] for f in figures.values())
    overall_theirs = len(figures) / sum(1 / f["original_images_per_cpu_second"] for f in figures.values())
    rows.append(("**all 19 (equal shares)**", f"{overall_ours:,.0f}", f"{overall_theirs:,.0f}", f"{overall_ours / overall_theirs:.1f}x"))
    print(*rows[-1], sep="\t")
    payload = {
        "per_corruption": figures,
        "overall": {"ours_images_per_cpu_second": round(overall_ours), "original_images_per_cpu_second": round(overall_theirs),
                    "ratio": round(overall_ours / overall_theirs, 2),
                    "projected_cifar10_c_cpu_seconds_ours": round(CIFAR10_C_IMAGES / overall_ours),
                    "projected_cifar10_c_cpu_seconds_original": round(CIFAR10_C_IMAGES / overall_theirs)},
        "load_average": os.getloadavg(),
    }
    notes = [
        "images per second of one process's CPU time (one core, OMP/OpenCV threads 1); ratio = this implementation / transcription",
        f"projected CPU time of the whole CIFAR-10-C (950,000 images): {CIFAR10_C_IMAGES / overall_ours / 60:.1f} core-minutes "
        f"(original functions: {CIFAR10_C_IMAGES / overall_theirs / 60:.1f})",
        "motion_blur and snow: the original called ImageMagick (Wand); the transcription's NumPy formula stands in for it",
        f"load average during the run: {', '.join(f'{v:.1f}' for v in os.getloadavg())} (a shared machine)",
    ]
    if not args.quick:
        payload["end_to_end"] = end_to_end(args.end_to_end)
        e2e = payload["end_to_end"]
        print("end to end:", e2e)
        notes.append(
            f"end to end (augmix-corrupt on {args.end_to_end} test images, {e2e['workers']} workers, files written): {e2e['images_per_second']:,} "
            f"images/s wall-clock, i.e. {e2e['projected_cifar10_c_seconds'] / 60:.1f} minutes for CIFAR-10-C on this shared machine; "
            f"its CPU time ({e2e['cpu_seconds']:,} s) spread over {e2e['workers']} idle cores would be "
            f"{e2e['projected_cifar10_c_seconds_on_idle_cores'] / 60:.1f} minutes"
        )
    table = markdown_table(("corruption", "this (img/CPU-s)", "original (img/CPU-s)", "ratio"), rows)
    name = "bench_corrupt_quick" if args.quick else "bench_corrupt"
    path = write_report(name, "Corruption generation speed (CIFAR, one core)", payload, table, notes)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
