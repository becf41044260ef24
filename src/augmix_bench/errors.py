"""The exceptions the command-line entry points turn into one line (no traceback).

``UserError``: bad input; the message names the bad value and what would have been accepted.
``Interrupted``: training stopped by a signal; the line says how to continue.
``Diverged``: training stopped at a non-finite loss; the line names where, and what is kept.
"""


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


class Diverged(UserError):
    """Training stopped at a non-finite loss. ``saved``: the run folder keeps a checkpoint (of the
    last epoch whose losses were all finite), so the run stands as it is."""

    def __init__(self, message: str, saved: bool) -> None:
        super().__init__(message)
        self.saved = saved
