"""The one exception type for bad user input.

Every ``UserError`` is printed by the command-line entry points as a single line (no traceback):
the message names the bad value and what would have been accepted.
"""


class UserError(ValueError):
    """Bad input from the user (config value, missing data, corrupt file) that the user can fix.

    A ``ValueError``, so library callers can catch it as one.
    """
