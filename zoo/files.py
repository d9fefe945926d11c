"""Writing files others read while they change: an atomic replacement and an advisory lock.

Every record the zoo writes (run directories, ``zoo evaluate --json``, TF Serving's repository
files) goes through :func:`atomic_write`, so a reader (a resuming run, a polling model server) sees
the old file or the new one, never a part, and every such file gets one mode: the one a plain
``open()`` gives, 0666 less the umask (0644 under the usual 022), like the ``.keras`` files and
checkpoints Keras writes; a replaced file keeps its own. Standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from pathlib import Path


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Replace ``path`` by ``data`` (text is written as UTF-8) in one rename; returns the path.

    The data goes to a hidden file next to ``path`` (``.NAME.<hex>.tmp``, same filesystem), which is
    then renamed over it; on any error the hidden file is removed and ``path`` is left as it was.
    Missing parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # 0o666 through os.open: the kernel applies the umask, as for any file the process creates.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
            with contextlib.suppress(FileNotFoundError):
                os.fchmod(stream.fileno(), path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def locked(lock_file: str | os.PathLike):
    """Hold an exclusive ``flock`` on ``lock_file`` (created if missing) for the ``with`` block.

    Blocks until other holders (threads or processes of this host) release it; the kernel releases
    it when a holder dies.
    """
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of the file at ``path``, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
