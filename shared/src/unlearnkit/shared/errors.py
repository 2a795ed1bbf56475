"""User-facing errors.

Library code raises :class:`UnlearnkitError` for anything a user can fix (a typo in a name, a missing file,
a checksum that does not match). The CLIs turn it into one line on stderr and exit code 2, so nobody reads a
traceback for a bad flag; genuine bugs still surface as tracebacks.
"""


class UnlearnkitError(Exception):
    """A problem with the user's input or files, explained in one line."""


class ChecksumError(UnlearnkitError):
    """A file's content does not match the checksum that was promised for it."""
