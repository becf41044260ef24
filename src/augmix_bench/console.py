"""What a running command shows and hears at the console: progress, and Ctrl-C / SIGTERM.

Progress: a live bar when stderr is a terminal. A redirected stderr (a log file, a SLURM output
file, a pipe) gets no carriage returns: a plain line at most every ``LINE_INTERVAL`` seconds, each
state once (tqdm's monitor thread, which redraws a bar idle for 10 s, is kept off these lines), and
the final state (100% for a loop that ran to its end) as the last line; nothing for a loop that
ends sooner than the interval.

Stopping: inside a batch loop (``between_batches``) the first Ctrl-C or SIGTERM only asks to stop
(``stop_requested``); the loop looks at the flag before each batch (``raise_if_stop_requested``)
and raises ``KeyboardInterrupt`` there, so the data-loader iterators are shut down in order (their
workers are joined, no worker writes into a closed pipe) and the last finished epoch's checkpoint
is the saved state. Anywhere else (loading data, a download, writing a checkpoint) the signal also
raises ``KeyboardInterrupt`` at once, and so does a second signal anywhere (``FORCE_AFTER`` seconds
or more after the first: sooner it is the same Ctrl-C passed on by a launcher). Data-loader workers
forked inside a loop inherit the handler: a Ctrl-C that reaches the whole process group only sets
their copy of the flag, and the main process stops them.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import IO, Any

from tqdm import tqdm

#: Seconds between progress lines when stderr is not a terminal.
LINE_INTERVAL = 60.0
#: A progress line, e.g. ``epoch 3/100: 31% 120/391 batches [00:42<01:35, 2.84it/s]``.
LINE_FORMAT = "{desc}: {percentage:.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
#: A progress line without a known total (a download of unknown size).
UNSIZED_LINE_FORMAT = "{desc}: {n_fmt}{unit} [{elapsed}, {rate_fmt}{postfix}]"

#: Set by the first Ctrl-C or SIGTERM; checked between batches.
stop_requested = threading.Event()

#: The signals that ask a run to stop.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)

#: A signal this many seconds or more after the first one forces the stop; sooner, it is the same
#: request arriving twice (from the terminal and again from a launcher that passes it on).
FORCE_AFTER = 2.0

#: How many batch loops (``between_batches``) are running in this process.
_batch_loops = 0
#: When the first stop signal arrived (``time.monotonic``).
_first_signal_at: float | None = None


def stop_on_signals() -> None:
    """Install the handler: in a batch loop the first Ctrl-C/SIGTERM asks to stop at the next batch;
    elsewhere, or again ``FORCE_AFTER`` seconds later, it raises ``KeyboardInterrupt`` at once.
    A stop asked for before (an earlier run in this process) is forgotten."""
    global _first_signal_at
    stop_requested.clear()
    _first_signal_at = None
    for number in STOP_SIGNALS:
        signal.signal(number, _ask_to_stop)
    sys.unraisablehook = _quiet_swallowed_interrupts


def raise_if_stop_requested() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for (call between batches)."""
    if stop_requested.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def between_batches() -> Iterator[None]:
    """Mark a batch loop (which calls ``raise_if_stop_requested`` before each batch): a first
    signal inside it waits for the next batch instead of raising wherever the loop is."""
    global _batch_loops
    _batch_loops += 1
    try:
        yield
    finally:
        _batch_loops -= 1


def in_batch_loop() -> bool:
    """Whether a batch loop (``between_batches``) is running: a stop request waits for its next batch."""
    return _batch_loops > 0


def _ask_to_stop(signum: int, frame: FrameType | None) -> None:
    """Signal handler: set the flag; raise at once outside batch loops, or for a second signal
    ``FORCE_AFTER`` seconds or more after the first."""
    global _first_signal_at
    now = time.monotonic()
    if _first_signal_at is None:
        _first_signal_at = now
    stop_requested.set()
    if _batch_loops == 0 or now - _first_signal_at >= FORCE_AFTER:
        raise KeyboardInterrupt


def _quiet_swallowed_interrupts(unraisable: Any) -> None:
    """Print nothing for a forced ``KeyboardInterrupt`` that Python swallowed inside a finalizer:
    the flag set by the first signal still ends the run with its one ``interrupted`` line."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> tqdm:
    """A ``tqdm`` over ``iterable`` (options as tqdm's): a bar on a terminal, plain periodic lines
    on a redirected stderr, nothing when not ``enabled``."""
    if not enabled:
        return tqdm(iterable, disable=True, **options)
    if sys.stderr.isatty():
        return tqdm(iterable, **options)
    total = options.get("total")
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    lines = {
        "mininterval": LINE_INTERVAL,
        "delay": LINE_INTERVAL,
        "miniters": 1,  # fixed: tqdm's monitor thread redraws only bars whose miniters it raised
        "bar_format": LINE_FORMAT if total else UNSIZED_LINE_FORMAT,
    }
    return _LineBar(iterable, file=_Lines(sys.stderr), **{**options, **lines})


class _LineBar(tqdm):
    """A tqdm whose display is a series of lines (``_Lines``): closing it writes the final state,
    unless that was the last line written or no line was written at all."""

    def close(self) -> None:
        """Write the final state as the last line (``leave`` would clear a bar; a line stays)."""
        if not self.disable and self.fp.lines and self.last_print_n != self.n:
            self.refresh()
        self.leave = False  # tqdm would otherwise draw the final state again
        super().close()


class _Lines:
    """A stream for tqdm that turns each redraw (``\\r`` + status) into one line of its own."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines = 0  # lines written so far

    def write(self, text: str) -> None:
        """Write the status in ``text`` as a line; clearing writes (blanks) are dropped."""
        status = text.replace("\r", "").strip()
        if status:
            self.stream.write(status + "\n")
            self.lines += 1

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()
