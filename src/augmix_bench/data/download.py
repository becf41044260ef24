"""Verified downloads: streamed with a progress bar, resumed after an interruption, checked against
an md5 before anything is unpacked, and unpacked into a temporary folder that is renamed into place.

A failed or interrupted download therefore never leaves a half dataset: the bytes received so far
wait in ``<file>.part`` for the next attempt, and a dataset folder appears only once complete.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ..console import progress_bar
from ..errors import UserError
from ..files import atomic_directory, folder_kept_on_success
from .sources import Archive

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


def file_digest(path: Path, digest: Any) -> str:
    """The hex digest of the file at ``path`` through ``digest`` (a ``hashlib`` object, which may
    already hold a prefix), read in chunks."""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: Path) -> str:
    """The md5 hex digest of the file at ``path``."""
    return file_digest(path, hashlib.md5())


def _content_range_total(header: str | None) -> int | None:
    """The full size in a ``Content-Range: bytes a-b/total`` (or ``bytes */total``) header."""
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _fetch_once(url: str, part: Path, progress: bool, timeout: float) -> None:
    """One HTTP request appending to ``part`` from its current size (or rewriting it)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code == 416 and _content_range_total(exc.headers.get("Content-Range")) == offset:
            return  # the server has nothing past what .part holds: it is complete
        if exc.code == 416:
            part.unlink()
            raise ConnectionError(f"the server refused to resume at byte {offset}; starting over") from None
        raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    with response:
        resumed = bool(offset) and response.status == 206
        if resumed and not (response.headers.get("Content-Range") or "").startswith(f"bytes {offset}-"):
            part.unlink()
            raise ConnectionError(f"the server resumed at the wrong byte (wanted {offset}); starting over")
        if not resumed:
            offset = 0  # a server that ignores Range sends the whole file again
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        received = 0
        with (
            open(part, "ab" if resumed else "wb") as out,
            progress_bar(
                total=None if expected is None else offset + expected,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                enabled=progress,
            ) as bar,
        ):
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if expected is not None and received < expected:
            raise ConnectionError(f"connection closed after {offset + received} of {offset + expected} bytes")


#: Errors that a later attempt may not meet (a dropped connection, a timeout, a server hiccup).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, http.client.HTTPException)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may help: connection drops and timeouts, not a name that does not resolve,
    an unknown scheme, a full disk or a missing permission."""
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        reason = exc.reason
        return isinstance(reason, BaseException) and not isinstance(reason, socket.gaierror) and is_transient(reason)
    return isinstance(exc, TRANSIENT_ERRORS)


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase (the OS reason of a URL or file error)."""
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        inner = exc.reason
        if isinstance(inner, socket.gaierror):
            return f"the host name does not resolve ({inner.strerror or inner})"
        return _reason(inner) if isinstance(inner, BaseException) else str(inner)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def fetch(
    url: str, target: Path, progress: bool = True, retries: int = 3, timeout: float = 60.0, backoff: float = 1.0
) -> None:
    """Download ``url`` to ``target`` through ``<target>.part``, resuming after interruptions.

    A ``.part`` left by an earlier attempt is continued with an HTTP Range request; a server that
    ignores Range sends the whole file, which then replaces the ``.part``. Transient failures are
    retried ``retries`` times after ``backoff``, 2 x ``backoff``, 4 x ``backoff`` ... seconds; then
    the ``.part`` is kept for the next run and a ``UserError`` says so. Other failures (a name that
    does not resolve, an unknown scheme, a full disk) end at once.
    """
    target = Path(target)
    with folder_kept_on_success(target.parent):
        _fetch_with_retries(url, target, progress, retries, timeout, backoff)


def _fetch_with_retries(url: str, target: Path, progress: bool, retries: int, timeout: float, backoff: float) -> None:
    """``fetch``'s attempts, into an existing folder."""
    part = target.with_name(target.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, progress, timeout)
            break
        except UserError:  # already one line (an HTTP error status); a UserError is a ValueError too
            raise
        except (OSError, ValueError, http.client.HTTPException) as exc:
            kept = part.stat().st_size if part.exists() else 0
            transient = is_transient(exc)
            if transient and attempt < retries:
                delay = backoff * 2**attempt
                log.warning("download of %s interrupted (%s); retrying in %g s from byte %d", url, exc, delay, kept)
                time.sleep(delay)
                continue
            if isinstance(exc, OSError) and exc.filename is None and exc.strerror and part.exists() and not transient:
                exc = OSError(exc.errno, exc.strerror, str(part))  # a write into .part (e.g. a full disk)
            tries = f" after {attempt + 1} attempts" if attempt else ""
            keep = f"; {part} keeps the {kept} bytes received: run again to resume" if transient and kept else ""
            raise UserError(f"download of {url} failed{tries}: {_reason(exc)}{keep}") from None
    os.replace(part, target)


def _member_path(into: Path, member: tarfile.TarInfo, archive: Path) -> Path:
    """Where ``member`` goes under ``into``; members that would land elsewhere are refused."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or member.name.startswith("\\"):
        raise UserError(
            f"{archive}: refusing member {member.name!r}, which points outside the unpacking folder"
        )
    return into.joinpath(*[part for part in path.parts if part != "."])


def extract(archive: Path, into: Path, progress: bool = True) -> None:
    """Unpack the regular files and folders of a (possibly compressed) tar ``archive`` into ``into``.

    Links, devices and members with absolute or ``..`` paths are refused with a ``UserError``.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in progress_bar(tar, desc=f"unpacking {archive.name}", unit=" files", enabled=progress):
                target = _member_path(into, member, archive)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)  # a regular file's reader, never None
                    with source, open(target, "wb") as out:  # type: ignore[union-attr]
                        shutil.copyfileobj(source, out, CHUNK_BYTES)
                else:
                    raise UserError(
                        f"{archive}: refusing member {member.name!r}: "
                        "only regular files and folders are unpacked"
                    )
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UserError(f"{archive} is not a readable tar archive ({exc})") from None


def _folders_base(staging: Path, folders: tuple[str, ...], archive: Path) -> Path:
    """The folder holding ``folders``: the unpacked archive's top level or its single top-level folder."""
    if all((staging / f).is_dir() for f in folders):
        return staging
    entries = list(staging.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and all((entries[0] / f).is_dir() for f in folders):
        return entries[0]
    found = sorted(e.name for e in entries)
    raise UserError(
        f"{archive}: expected the folder(s) {', '.join(folders)} in the archive, "
        f"found {', '.join(found) or 'nothing'}"
    )


def unpack(archive: Path, destination: Path, folders: tuple[str, ...], progress: bool = True) -> None:
    """Unpack ``archive`` and install each of its ``folders`` as ``destination/<folder>``.

    Everything is unpacked into a temporary folder inside ``destination``; each folder is then moved
    into a temporary name and renamed into place (``files.atomic_directory``), so a folder is either
    absent or complete.
    """
    destination.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{archive.name}.", suffix=".unpack", dir=destination))
    try:
        extract(archive, staging, progress)
        base = _folders_base(staging, folders, archive)
        for folder in folders:
            with atomic_directory(destination / folder) as tmp:
                for child in (base / folder).iterdir():
                    os.replace(child, tmp / child.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_archive(archive: Archive, destination: Path, downloads: Path, progress: bool = True) -> None:
    """Download ``archive`` into ``downloads``, verify its md5, install its folders under ``destination``.

    A checksum mismatch deletes the download and raises a ``UserError`` naming both checksums; the
    archive is deleted once unpacked.
    """
    target = downloads / archive.filename
    if not target.is_file():
        fetch(archive.url, target, progress)
    found = file_md5(target)
    if found != archive.md5.lower():
        target.unlink()
        remove_if_empty(downloads)
        raise UserError(
            f"checksum did not match for {archive.url}: expected md5 {archive.md5.lower()}, found {found}; "
            "the download was deleted"
        )
    unpack(target, destination, archive.folders, progress)
    target.unlink()
    remove_if_empty(downloads)


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it is empty (a downloads folder after its archives are unpacked)."""
    try:
        folder.rmdir()
    except OSError:
        pass
