"""User-facing errors and warnings.

A `StyleDropError` is something the user can fix: the message names the file or the value and
says what to do. The CLI prints it without a traceback (``--debug`` shows one) and exits 2.
Programming errors stay ordinary exceptions.

Strings read from files (adapter metadata, pool records) can hold anything, terminal escapes and
newlines included: messages quote them with `!r`, and the CLI prints every message through
`one_line`, so no file can fake a line on the user's terminal.
"""


class StyleDropError(Exception):
    """An error caused by input the user controls (a file, a flag, a config value)."""


class StyleDropWarning(UserWarning):
    """Something the user should know and may want to fix, though the run goes on."""


def one_line(text: str) -> str:
    """`text` with every non-printable character escaped as Python writes it (\\n, \\x1b, ...)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
