"""``results.json``'s ``protocol``: how the numbers were measured, from the built benchmark.

Two runs whose protocols differ (a limited evaluation, another normalization, a regenerated -C
set, ...) measured different things; the report prints a table's common protocol once and marks
the rows that differ (``report/protocol.py``). docs/benchmarks.md lists every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..data.benchmark import Benchmark
from ..data.identity import generation_record
from ..data.names import EXTRA_CORRUPTIONS
from . import alexnet

#: Where the AlexNet errors that normalize ImageNet-C's CE / mCE / relative mCE come from.
ALEXNET_SOURCE = (
    "augmix_bench/evaluation/alexnet.py: AlexNet's ImageNet-C top-1 errors per corruption (mean over "
    "severities) as used by Hendrycks & Dietterich (2019) and the AugMix paper (REFERENCE.md section 5); "
    f"clean error {alexnet.CLEAN_ERROR} (torchvision AlexNet IMAGENET1K_V1)"
)
#: The robustness suites whose sets the protocol records.
SET_SUITES: tuple[str, ...] = ("corruptions", "corruptions_bar")


def set_source(benchmark: Benchmark, part: str, identity: dict[str, Any] | None) -> dict[str, Any]:
    """Where one robustness set came from: ``released`` (with the archives and their md5 when the
    tool installs it from them), ``generated`` (the ``augmix-corrupt`` record: tool, version, seed,
    manifest) or ``folder`` (another folder, with its listing's fingerprint where taken)."""
    folder = benchmark.set_folder(part)
    source = (identity or {}).get("source")
    entry: dict[str, Any] = {
        "source": "folder" if source == "corruptions_dir" else source,
        "folder": str(folder) if folder is not None else None,
        "fingerprint": (identity or {}).get("fingerprint"),
    }
    record = generation_record(folder) if folder is not None and source == "generated" else None
    if record is not None:
        settings = record["settings"] if isinstance(record["settings"], dict) else {}
        entry.update(
            tool=record["tool"], version=record["version"], seed=settings.get("seed"),
            suite=settings.get("suite", "c"), parameters=settings.get("parameters"), manifest=record["manifest"],
        )
    if source == "released":
        entry["archives"] = [
            {"file": a.filename, "url": a.url, "md5": a.md5} for a in benchmark.released_archives(part)
        ]
    return entry


def headline_corruptions(benchmark: Benchmark, part: str) -> list[str]:
    """The corruptions whose errors enter the set's headline mean (the held-out -C corruptions do not,
    unless only those were found: then they are the headline, as ``Evaluator.corruptions`` computes)."""
    if part == "corruptions_bar":
        return list(benchmark.corruption_bar_names())
    names = list(benchmark.corruption_names())
    kept = [c for c in names if c not in EXTRA_CORRUPTIONS]
    return kept or names


def build_protocol(
    benchmark: Benchmark, suites: Sequence[str], limit: int | None, test_images: int | None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``protocol`` entry of a run evaluated on ``suites`` with ``eval.limit`` ``limit``.

    ``test_images`` is the size of the whole clean test set (None when unknown); ``data`` the
    benchmark's ``data_identity(suites)`` (computed here when not given).
    """
    data = benchmark.data_identity(suites) if data is None else data
    sets = {
        part: {**set_source(benchmark, part, data.get(part)), "headline": headline_corruptions(benchmark, part)}
        for part in SET_SUITES
        if part in suites
    }
    normalized = benchmark.alexnet_normalized and "corruptions" in suites
    return {
        "normalization": {"mean": [float(v) for v in benchmark.mean], "std": [float(v) for v in benchmark.std]},
        "image_size": int(benchmark.image_size),
        **benchmark.transform_protocol(),
        "eval_limit": limit,
        "test_images": test_images,
        "sets": sets,
        "alexnet_normalization": ALEXNET_SOURCE if normalized else None,
    }
