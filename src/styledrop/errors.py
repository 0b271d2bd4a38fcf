"""User-facing errors.

A `StyleDropError` is something the user can fix: the message names the file or the value and
says what to do. The CLI prints it without a traceback (``--debug`` shows one) and exits 2.
Programming errors stay ordinary exceptions.
"""


class StyleDropError(Exception):
    """An error caused by input the user controls (a file, a flag, a config value)."""
