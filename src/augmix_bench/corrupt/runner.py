"""Generating a -C (or -C-bar) set: chunks of (corruption, severity, images) over a pool of processes.

Each chunk draws its randomness from per-image generators (``seeding``), so the bytes written do
not depend on the number of workers or on the order in which chunks finish. Finished chunks and
files are kept, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Union

import cv2
import numpy as np

from ..console import progress_bar
from .cbar import corrupt_cbar
from .parameters import CorruptionSetting
from .registry import DETERMINISTIC, corrupt_images
from .seeding import image_generators
from .sources import ArraySource, FileSource
from .writers import WORK_FOLDER, ImageLayout, Manifest, NpyLayout

Source = Union[ArraySource, FileSource]
Layout = Union[NpyLayout, ImageLayout]


@dataclass(frozen=True)
class Job:
    """What to generate: images of ``source`` into ``layout`` with table ``table`` and ``seed``;
    ``suite`` ``c`` (the -C corruptions) or ``cbar`` (the -C-bar ones, ``table`` naming their set)."""

    source: Source
    layout: Layout
    table: str
    seed: int
    suite: str = "c"


_JOB: Job | None = None


def _set_job(job: Job) -> None:
    global _JOB
    _JOB = job


def _start_worker(job: Job) -> None:
    """A pool process: one OpenCV thread (the processes are the parallelism), then the job."""
    cv2.setNumThreads(1)
    _set_job(job)


def corrupt_chunk(job: Job, corruption: str, severity: int, start: int, stop: int) -> np.ndarray:
    """The corrupted images ``start``..``stop`` of one corruption and severity."""
    images = job.source.load(start, stop)
    if job.suite == "cbar":
        rngs = image_generators(job.seed, corruption, severity, range(start, stop))
        return np.stack([corrupt_cbar(image, corruption, severity, rng, job.table) for image, rng in zip(images, rngs)])
    setting = CorruptionSetting(job.table, job.source.side, severity)
    rngs = None if corruption in DETERMINISTIC else image_generators(job.seed, corruption, severity, range(start, stop))
    return corrupt_images(images, corruption, setting, rngs)


def _run_chunk(corruption: str, severity: int, start: int, stop: int) -> int:
    assert _JOB is not None
    _JOB.layout.write_chunk(corruption, severity, start, corrupt_chunk(_JOB, corruption, severity, start, stop))
    return stop - start


def default_workers() -> int:
    """All the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def generate(
    job: Job,
    corruptions: Sequence[str],
    severities: Sequence[int],
    manifest: Manifest,
    workers: int | None = None,
    chunk_size: int = 250,
    progress: bool = True,
) -> None:
    """Write every corruption x severity of ``job``, skipping what a previous run finished."""
    workers = workers or default_workers()
    count = len(job.source)
    chunks = [(s, a, min(a + chunk_size, count)) for s in severities for a in range(0, count, chunk_size)]
    _set_job(job)
    pool = ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(job,)) if workers > 1 else None
    try:
        for corruption in corruptions:
            if job.layout.finished(corruption, manifest):
                continue
            todo = [c for c in chunks if not job.layout.chunk_done(corruption, *c)]
            with progress_bar(
                total=len(severities) * count,
                initial=len(severities) * count - sum(b - a for _, a, b in todo),
                desc=corruption,
                unit="img",
                enabled=progress,
            ) as bar:
                if pool is None:
                    for severity, start, stop in todo:
                        bar.update(_run_chunk(corruption, severity, start, stop))
                else:
                    futures = [pool.submit(_run_chunk, corruption, *c) for c in todo]
                    for future in as_completed(futures):
                        bar.update(future.result())
            job.layout.finish(corruption, chunks, manifest)
        with contextlib.suppress(OSError):
            (job.layout.folder / WORK_FOLDER).rmdir()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
