"""A lock on a run folder for the lifetime of the run writing it: a second run into the same
folder is refused instead of overwriting the first one's checkpoint and results.

The lock is ``fcntl.flock`` on ``<folder>/.lock``. The OS releases it when the holding process ends,
however it ends (a SIGKILL included), so the file a killed run leaves behind never blocks a later
run. The file holds the holder's pid, named in the refusal, and is removed when the lock is released.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError

#: The lock file's name inside the locked folder.
LOCK_NAME = ".lock"


class FolderBusy(UserError):
    """Another process holds the lock on the folder."""


@dataclass
class _Held:
    """A lock this process holds: its open file, how many ``folder_locked`` blocks hold it, and
    the folders its taking made (removed again at the release when they are still empty)."""

    fd: int
    path: Path
    depth: int = 1
    made: list[Path] = field(default_factory=list)


#: This process's locks by resolved folder: a block taking a lock this process holds nests in it.
_held: dict[Path, _Held] = {}


@contextlib.contextmanager
def folder_locked(folder: str | Path, key: str) -> Iterator[None]:
    """Hold the lock on ``folder`` (made if missing) while the block runs; a ``FolderBusy`` naming
    the folder, the holder's pid and ``key`` (the setting that chose the folder) if another process
    holds it. Nested blocks on the same folder in one process share one lock."""
    folder = Path(folder).absolute()
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    folder.mkdir(parents=True, exist_ok=True)
    resolved = folder.resolve()
    held = _held.get(resolved)
    if held is not None:
        held.depth += 1
    else:
        try:
            held = _Held(_acquire(folder / LOCK_NAME, key), folder / LOCK_NAME, made=made)
        except BaseException:
            _remove_empty(made)
            raise
        _held[resolved] = held
    try:
        yield
    finally:
        held.depth -= 1
        if held.depth == 0:
            del _held[resolved]
            _release(held)


def _acquire(path: Path, key: str) -> int:
    """Open and lock ``path``; write this process's pid into it. Returns the open descriptor."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            by = f"another run (pid {pid})" if pid is not None else "another run"
            raise FolderBusy(
                f"{path.parent} is in use by {by}; wait until it ends or choose another {key}"
            ) from None
        if _is_current(fd, path):
            break
        os.close(fd)  # its holder removed it after this process opened it: lock the file there now
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _is_current(fd: int, path: Path) -> bool:
    """Whether the open ``fd`` is still the file at ``path``."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _holder(fd: int) -> int | None:
    """The pid written in a lock file (None while its holder has not written it yet)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _release(held: _Held) -> None:
    """Remove the lock file (while still holding it, so no one locks a file that then vanishes),
    release the lock and remove the folders its taking made if nothing was written into them."""
    if _is_current(held.fd, held.path):
        with contextlib.suppress(FileNotFoundError):
            held.path.unlink()
    os.close(held.fd)
    _remove_empty(held.made)


def _remove_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
