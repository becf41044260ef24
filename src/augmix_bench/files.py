"""Writing files and folders atomically: a temporary name in the same folder, then a rename.

A crash or kill at any moment leaves either the old content or the new one, never half of it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import UserError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            # name the file being written, not the temporary one that no longer exists
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented, strict JSON to ``path`` atomically; a ``UserError`` naming the
    first NaN or infinity in it (JSON has none), with nothing written."""
    atomic_write_text(path, strict_json(obj, path, indent=2) + "\n")


def strict_json(obj: Any, path: str | Path, **options: Any) -> str:
    """``obj`` as strict JSON (``json.dumps`` options as given; no NaN or infinity, which JSON
    readers refuse): a ``UserError`` naming ``path`` and the first non-finite entry otherwise."""
    try:
        return json.dumps(obj, allow_nan=False, **options)
    except ValueError:
        where = _non_finite_entry(obj)
        if where is None:  # another reason (a circular reference): a bug, not a value
            raise
        raise UserError(f"cannot write {path}: {where} is not a finite number (JSON has no NaN or infinity)") from None


def _non_finite_entry(obj: Any, prefix: str = "") -> str | None:
    """The dotted key and value of the first NaN or infinity in nested dicts and lists (None: none)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return f"{prefix or 'the value'} ({obj})"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite_entry(value, f"{prefix}.{key}" if prefix else str(key))
        if found is not None:
            return found
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_directory(final: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``final``; rename it to ``final`` on success.

    On an exception the temporary folder is removed and ``final`` is left as it was. An existing
    ``final`` is replaced only once the new folder is complete.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, trash / final.name)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.filename is not None and Path(exc.filename).is_relative_to(tmp):
            # name the file being made, not its place in the temporary folder that no longer exists
            raise OSError(exc.errno, exc.strerror, str(final / Path(exc.filename).relative_to(tmp))) from None
        raise


@contextlib.contextmanager
def naming_os_errors(path: str | Path) -> Iterator[None]:
    """Give ``path`` to an ``OSError`` raised without a file name while the block writes ``path``
    (a full disk as NumPy or pickle report it: ``7680000 requested and 1957760 written``), with
    the space left on its disk when the error has no reason of the system's."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        reason = exc.strerror
        if reason is None:
            reason = str(exc)
            with contextlib.suppress(OSError):
                reason += f" ({shutil.disk_usage(Path(path).parent).free / 1e6:.1f} MB free on its disk)"
        raise OSError(exc.errno, reason, str(path)) from None


@contextlib.contextmanager
def folder_kept_on_success(folder: str | Path) -> Iterator[Path]:
    """Make ``folder`` (and missing parents); if the block fails, remove again those of them that
    this call made and that are still empty, so a failed command leaves no empty folders behind."""
    folder = Path(folder)
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        raise


def check_writable(path: str | Path, key: str) -> None:
    """Refuse, in one ``UserError`` naming ``key``, the path and the OS reason, a file ``path``
    that cannot be written: its folder is missing and cannot be made, is not a folder, or is read-only."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{key}={path} is a folder; accepted: a file path")
    check_folder(path.parent, key, shown=path)


def check_folder(folder: str | Path, key: str, shown: str | Path | None = None) -> None:
    """Refuse a ``folder`` that is a file, lies under a file or cannot be written into (one line)."""
    folder = Path(folder)
    shown = folder if shown is None else shown
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{key}={shown} cannot be written: {existing} is not a folder")
    try:  # a real write, not os.access: root passes permission bits but not a read-only or immutable folder
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UserError(f"{key}={shown} cannot be written: {existing}: {exc.strerror or exc}") from None


def os_error_line(exc: OSError) -> str:
    """An ``OSError`` as ``<path>: <reason>`` (e.g. ``/runs/x/checkpoints: No space left on device``)."""
    where = exc.filename if exc.filename is not None else "?"
    return f"{where}: {exc.strerror or exc}"
