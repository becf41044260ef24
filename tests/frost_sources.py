"""Where the tests find the real frost textures offline (third-party files, not in this repository).

The tests that need the original files (their sizes, augmix-corrupt end to end in a subprocess,
where the md5 table cannot be replaced) copy them into a temporary ``$AUGMIX_CACHE/frost``
(conftest's ``frost_cache``) from the first of these folders holding all five with their md5:

1. the folder augmix-corrupt reads them from under the environment pytest was started in
   (``$AUGMIX_CACHE/frost``, by default ``~/.cache/augmix-bench/frost``): filled once by
   ``python -m augmix_bench.corrupt.texture_download``;
2. the ``frost/`` folder of an installed ``imagecorruptions`` package (found, not imported), which
   ships the same bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from augmix_bench.corrupt import textures


def _has_all(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and hashlib.md5((folder / name).read_bytes()).hexdigest() == md5
        for name, md5 in textures.FROST_FILES
    )


def candidate_folders() -> list[Path]:
    """The folders searched, in order."""
    found = [textures.frost_folder()]
    spec = importlib.util.find_spec("imagecorruptions")
    if spec is not None and spec.origin:
        found.append(Path(spec.origin).parent / "frost")
    return found


def real_frost_folder() -> Path | None:
    """The first candidate folder holding the five original textures, or None."""
    return next((folder for folder in candidate_folders() if _has_all(folder)), None)


MISSING = (
    "the tests need the original frost textures, found in none of {folders}: fetch them once with "
    f"`{textures.FETCH_COMMAND}` (2 MB from PyPI, checked)"
)
