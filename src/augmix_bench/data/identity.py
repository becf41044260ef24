"""What data a run used, for ``results.json``'s ``data`` entry, so a report never pools different data.

A dataset is its name, plus, where the name alone does not say which files it is (an image
folder), a fingerprint of its files' listing: a hash of the sorted (relative path, size) of every
file of its split folders. Its -C set is where it came from: ``released`` (the benchmark's published
files in their usual place), ``generated`` (an ``augmix-corrupt`` output, fingerprinted by its
manifest of settings and finished files) or ``corruptions_dir`` (other files named by
``dataset.corruptions_dir``, or an image folder's ``corruptions/``, fingerprinted by their listing
where that is cheap enough to take).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: The file ``augmix-corrupt`` writes into every output folder (``corrupt/writers.py`` writes it).
CORRUPT_MANIFEST = "augmix_corrupt.json"
#: Hex digits kept of a fingerprint (64 bits: collisions among one user's datasets are not a concern).
FINGERPRINT_DIGITS = 16


def _files(folder: Path) -> Iterator[tuple[str, int]]:
    """(path relative to ``folder``, size) of every file below it; hidden files and folders skipped."""
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from ((f"{entry.name}/{name}", size) for name, size in _files(Path(entry.path)))
        elif entry.is_file():
            yield entry.name, entry.stat().st_size


def listing_fingerprint(folders: Mapping[str, Path]) -> str | None:
    """A hash of the sorted (label/path relative to the folder, size) of every file in ``folders``
    (label -> folder; those that exist); None when none exists. Reads no file, only the listing."""
    digest = hashlib.sha256()
    found = False
    for label, folder in sorted(folders.items()):
        if not folder.is_dir():
            continue
        found = True
        for path, size in sorted(_files(folder)):
            digest.update(f"{label}/{path}\0{size}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:FINGERPRINT_DIGITS] if found else None


def corruption_source(folder: Path, given: bool, list_files: bool) -> dict[str, Any]:
    """``{"source": ..., "fingerprint": ...}`` of the -C set in ``folder``.

    ``given``: the folder was named by the user (``corruptions_dir``) rather than the release's
    usual place; ``list_files``: its listing is small enough to fingerprint (else None).
    """
    manifest = folder / CORRUPT_MANIFEST
    if manifest.is_file():
        try:
            recorded = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = None
        if isinstance(recorded, dict):
            text = json.dumps(recorded, sort_keys=True)
            return {"source": "generated", "fingerprint": hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_DIGITS]}
    if not given:
        return {"source": "released", "fingerprint": None}
    fingerprint = listing_fingerprint({"": folder}) if list_files else None
    return {"source": "corruptions_dir", "fingerprint": fingerprint}


def generation_record(folder: Path) -> dict[str, Any] | None:
    """How ``augmix-corrupt`` generated ``folder``, read from its manifest: ``tool``, ``version``
    (None in manifests written before they were recorded), the generation ``settings`` (seed,
    suite, parameter table, ...) and the manifest's path; None for a folder it did not write."""
    manifest = folder / CORRUPT_MANIFEST
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict):
        return None
    generator = recorded.get("generator") if isinstance(recorded.get("generator"), dict) else {}
    return {
        "tool": generator.get("tool", "augmix-corrupt"),
        "version": generator.get("version"),
        "settings": recorded.get("settings"),
        "manifest": str(manifest),
    }
