"""Exceptions the library raises for bad input.

Every error a user can cause (a bad name, shape, value, a missing file or dataset) is raised as a
subclass of :class:`ZooError` with a message that says what to do. The command line prints these
without a traceback; anything else is a bug and keeps its traceback.
"""


class ZooError(Exception):
    """Base class of the library's user-facing errors."""


class ConfigError(ZooError, ValueError):
    """A bad argument or configuration value (wrong name, range, type or shape)."""


class DataUnavailableError(ZooError, FileNotFoundError):
    """A dataset, file or weight that is not on this machine and cannot be fetched."""


class CorruptFileError(ZooError):
    """A file that exists but cannot be read: truncated, damaged, or not in the format its name says."""
