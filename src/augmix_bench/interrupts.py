"""Stopping on Ctrl-C and SIGTERM at a batch boundary, so that nothing is cut off half-way.

The first signal only asks to stop (``stop_requested``). Training and evaluation look at the flag
between batches (``raise_if_stop_requested``) and raise ``KeyboardInterrupt`` there: the
data-loader iterators are then shut down in order (their workers are joined, no worker writes into
a closed pipe) and the last finished epoch's checkpoint is the saved state. A second signal raises
``KeyboardInterrupt`` at once, for a process that is stuck outside the batch loops.

Data-loader workers forked after the handler is installed inherit it: a Ctrl-C that reaches the
whole process group only sets their copy of the flag, and the main process stops them.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

#: Set by the first Ctrl-C or SIGTERM; checked between batches.
stop_requested = threading.Event()

#: The signals that ask a run to stop.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals() -> None:
    """Install the handler: the first Ctrl-C/SIGTERM asks to stop at the next batch, a second forces it."""
    for number in STOP_SIGNALS:
        signal.signal(number, _ask_to_stop)
    sys.unraisablehook = _quiet_swallowed_interrupts


def raise_if_stop_requested() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for (call between batches)."""
    if stop_requested.is_set():
        raise KeyboardInterrupt


def _ask_to_stop(signum: int, frame: FrameType | None) -> None:
    """Signal handler: set the flag; raise at once only when the flag was already set."""
    if stop_requested.is_set():
        raise KeyboardInterrupt
    stop_requested.set()


def _quiet_swallowed_interrupts(unraisable: Any) -> None:
    """Print nothing for a forced ``KeyboardInterrupt`` that Python swallowed inside a finalizer:
    the flag set by the first signal still ends the run with its one ``interrupted`` line."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)
