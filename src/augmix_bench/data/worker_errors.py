"""A ``UserError`` raised in a data-loader worker, kept as the one line it was.

PyTorch re-raises a worker's exception in the main process as the same type, but with the
worker's whole traceback as its message (``Caught UserError in DataLoader worker process 0.``,
``Original Traceback (most recent call last): ...``, then the original ``<type>: <message>``
line). ``unwrapped_worker_errors`` recovers the original message, so an unreadable image met in a
worker ends in the same one line as without workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from ..errors import UserError

T = TypeVar("T")

#: How PyTorch's ``ExceptionWrapper.reraise`` begins the message of a re-raised worker exception.
WORKER_PREFIX = "Caught "


def worker_message(error: UserError) -> str:
    """The message ``error`` had in the worker that raised it (its own message if it was not re-raised
    from a worker)."""
    text = str(error)
    if not text.startswith(WORKER_PREFIX) or "\nOriginal Traceback" not in text:
        return text
    kind = type(error)
    builtin = kind.__module__ in ("__main__", "builtins")  # traceback's own spelling of the type
    label = kind.__qualname__ if builtin else f"{kind.__module__}.{kind.__qualname__}"
    _, found, message = text.rpartition(f"\n{label}: ")
    return message.rstrip("\n") if found else text


def unwrapped_worker_errors(batches: Iterable[T]) -> Iterator[T]:
    """The items of ``batches`` (a ``DataLoader``); a ``UserError`` from a worker is raised again
    with the worker's own message, without the worker's traceback.

    The new error does not chain the re-raised one: a traceback printed after it (by a library
    caller) shows only where the tool met it.
    """
    try:
        yield from batches
    except UserError as error:
        message = worker_message(error)
    else:
        return
    raise UserError(message)
