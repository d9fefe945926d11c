"""Exceptions the library raises for bad input (and for a full disk).

Every error a user can cause (a bad name, shape, value, a missing file or dataset) is raised as a
subclass of :class:`ZooError` with a message that says what to do. The command line prints these
without a traceback; anything else is a bug and keeps its traceback.
"""

import errno
import os

# errno values of a full disk and of an exhausted quota, and their texts, which h5py and TensorFlow
# carry in their messages rather than as an errno.
_FULL = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = tuple(os.strerror(code) for code in _FULL)


class ZooError(Exception):
    """Base class of the library's user-facing errors."""


class ConfigError(ZooError, ValueError):
    """A bad argument or configuration value (wrong name, range, type or shape)."""


class DataUnavailableError(ZooError, FileNotFoundError):
    """A dataset, file or weight that is not on this machine and cannot be fetched."""


class CorruptFileError(ZooError):
    """A file that exists but cannot be read: truncated, damaged, or not in the format its name says."""


class DiskFullError(ZooError):
    """A write failed because the disk (or the user's quota) is full; what was written before is kept."""


def is_disk_full(error: BaseException | None) -> bool:
    """Whether ``error``, or an exception it was raised from, reports a full disk or an exhausted quota."""
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        if any(text in str(error) for text in _FULL_TEXTS):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def first_line(error: BaseException) -> str:
    """The first non-empty line of ``error``'s message (at most 300 characters), for one-line reports
    of errors whose own messages run to many lines (TensorFlow's, h5py's)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    return lines[0][:300]
