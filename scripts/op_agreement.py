"""How far the tensor ops of BatchedAugMix are from the reference PIL ops (``apply_op``).

For every op, at 32x32 and 224x224, both signs and levels spread over the whole severity range
(0.1-10), the same images go through ``apply_op`` and ``apply_tensor_op``; the script reports the
mean and largest absolute difference in intensity levels (of 255) and the fraction of differing
values. Writes ``results/benchmarks/op_agreement.{json,md}``. Run from the repository root:

    python scripts/op_agreement.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_augment import smooth_images  # noqa: E402
from bench_report import markdown_table, write_report  # noqa: E402

from augmix_bench.augment import ALL_OPS, apply_op  # noqa: E402
from augmix_bench.augment.tensor_ops import apply_tensor_op  # noqa: E402


def agreement(name: str, images: np.ndarray, fill: int, seed: int) -> dict:
    """Differences of op ``name`` over ``images`` at random levels (0.1-10) and signs."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(0.1, 10, size=len(images))
    negate = rng.uniform(size=len(images)) > 0.5
    expected = np.stack([
        np.asarray(apply_op(Image.fromarray(img), name, float(level), bool(neg), fill))
        for img, level, neg in zip(images, levels, negate, strict=True)
    ]).astype(int)
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32)
    got = apply_tensor_op(pixels, name, torch.from_numpy(levels), torch.from_numpy(negate), fill)
    difference = np.abs(got.permute(0, 2, 3, 1).numpy().astype(int) - expected)
    return {
        "op": name,
        "size": images.shape[1],
        "fill": fill,
        "images": len(images),
        "mean_abs_difference": float(difference.mean()),
        "max_abs_difference": int(difference.max()),
        "fraction_differing": float((difference > 0).mean()),
    }


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="fewer images")
    args = parser.parse_args(argv)
    counts = {32: 200, 224: 8} if args.quick else {32: 2000, 224: 64}
    rows = []
    for side, count in counts.items():
        for fill in (0, 128):
            images = smooth_images(count, side, seed=side + fill)
            rows += [agreement(name, images, fill, seed=k) for k, name in enumerate(ALL_OPS)]
    table = markdown_table(
        ["op", "size", "fill", "images", "mean abs diff", "max abs diff", "fraction differing"],
        [
            [r["op"], r["size"], r["fill"], r["images"], f"{r['mean_abs_difference']:.6f}",
             r["max_abs_difference"], f"{r['fraction_differing']:.2e}"]
            for r in rows
        ],
    )
    print(table)
    notes = ["levels uniform in (0.1, 10) and random signs, one draw per image; differences in levels of 255"]
    path = write_report("op_agreement", "Tensor ops vs apply_op (PIL)", {"results": rows}, table, notes)
    print(f"wrote {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
