"""``augmix-download parts=[shifts]``: fetch a natural-shift set's released files, verify each against
the checksum recorded from its authors' repository (``shifts.SHIFT_SETS``), then move them into place.

Files wait in ``<root>/downloads`` (``<file>.part`` while incomplete, resumed by ``download.fetch``);
a file whose checksum differs is deleted and nothing is moved, so the set's folder gets either every
file of the set, verified, or none.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError
from .download import fetch, remove_if_empty
from .shifts import ShiftSet, file_checksum


def manual_placement(spec: ShiftSet, root: Path) -> str:
    """How to place ``spec`` by hand (the sets whose authors publish no verifiable checksum)."""
    return (
        f"{spec.title} has no download with a published checksum; place it by hand as "
        f"{Path(root).expanduser() / spec.folder} ({spec.layout}) from {spec.url} "
        "(docs/benchmarks.md, natural distribution shifts)"
    )


def install_shift_set(spec: ShiftSet, root: Path, downloads: Path, progress: bool = True) -> None:
    """Download the files of ``spec`` absent from ``<root>/<spec.folder>``, verify each checksum, and
    move them in; a set without ``downloads`` is refused with how to place it by hand."""
    if not spec.downloads or not spec.checksums:
        raise UserError(manual_placement(spec, root))
    folder = Path(root).expanduser() / spec.folder
    wanted = {name: url for name, url in spec.downloads.items() if not (folder / name).is_file()}
    fetched = []
    for name, url in wanted.items():
        target = downloads / name
        if not target.is_file():
            fetch(url, target, progress)
        expected = spec.checksums[name]
        found = file_checksum(target, expected.split(":", 1)[0])
        if found != expected:
            target.unlink()
            remove_if_empty(downloads)
            raise UserError(
                f"checksum did not match for {url}: expected {expected}, found {found}; the download was deleted"
            )
        fetched.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    for target in fetched:
        os.replace(target, folder / target.name)
    remove_if_empty(downloads)
