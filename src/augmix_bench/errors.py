"""The exceptions the command-line entry points turn into one line (no traceback).

``UserError``: bad input; the message names the bad value and what would have been accepted.
``Interrupted``: training stopped by a signal; the line says how to continue.
``missing_extra``: the ``UserError`` for an optional dependency that is not installed, with the
install command that works from a checkout (the package is not on the index).
``Diverged``: training stopped at a non-finite loss; the line names where, and what is kept.
"""

from collections.abc import Sequence


class UserError(ValueError):
    """Bad input from the user (config value, missing data, corrupt file) that the user can fix.

    A ``ValueError``, so library callers can catch it as one.
    """


class Interrupted(Exception):
    """Training stopped by Ctrl-C or SIGTERM. ``run_dir`` holds a checkpoint if ``resumable``,
    of epoch ``epoch`` where that is known (None: stopped while loading, or before any epoch ended)."""

    def __init__(self, epoch: int | None, run_dir: str, resumable: bool) -> None:
        super().__init__("interrupted" if epoch is None else f"interrupted after epoch {epoch}")
        self.epoch = epoch
        self.run_dir = run_dir
        self.resumable = resumable


def install_command(extra: str) -> str:
    """The command that installs the optional ``extra`` into a source checkout (editable install)."""
    return f'pip install -e ".[{extra}]"'


def missing_extra(needed_by: str, extra: str, missing: Sequence[str] = ()) -> UserError:
    """The one-line refusal of ``needed_by`` (a command or a key), whose optional ``extra`` is not
    installed (``missing``: the modules that did not import)."""
    detail = f" (missing: {', '.join(missing)})" if missing else ""
    return UserError(
        f"{needed_by} needs the [{extra}] extra{detail}; install it in the augmix-bench checkout: "
        f"{install_command(extra)}"
    )


def require_modules(needed_by: str, extra: str, modules: Sequence[str]) -> None:
    """Import each of ``modules``; if any fails, raise ``missing_extra`` naming the ones that did not."""
    import importlib

    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise missing_extra(needed_by, extra, missing)


class Diverged(UserError):
    """Training stopped at a non-finite loss. ``saved``: the run folder keeps a checkpoint (of the
    last epoch whose losses were all finite), so the run stands as it is."""

    def __init__(self, message: str, saved: bool) -> None:
        super().__init__(message)
        self.saved = saved
