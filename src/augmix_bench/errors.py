"""The one exception type for bad user input.

Every ``UserError`` is printed by the command-line entry points as a single line (no traceback):
the message names the bad value and what would have been accepted.
"""


class UserError(Exception):
    """Bad input from the user (config value, missing data, corrupt file) that the user can fix."""


class Interrupted(Exception):
    """Training stopped by Ctrl-C or SIGTERM; ``epoch`` epochs are saved in ``run_dir``."""

    def __init__(self, epoch: int, run_dir: str) -> None:
        super().__init__(f"interrupted after epoch {epoch}")
        self.epoch = epoch
        self.run_dir = run_dir
