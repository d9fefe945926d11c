"""What this machine can hold: memory for models, disk space for what runs and exports write."""

from __future__ import annotations

import os
import pathlib
import shutil

from zoo.errors import ConfigError, DiskFullError


def memory_limit() -> int | None:
    """Bytes of memory this process may use: the machine's RAM, or a smaller container (cgroup) limit.

    ``None`` where the operating system does not say. A GPU's own memory is not consulted (TensorFlow
    reports it only by allocating), so on a GPU this is an upper bound of what fits.
    """
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = pathlib.Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = min(limit, int(text))
    return limit


def format_bytes(size: float) -> str:
    """``size`` bytes as a short human string (``24.0 GiB``, ``14.6 TiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024


def check_memory(need: int, what: str, remedy: str) -> None:
    """``ConfigError`` when ``need`` bytes (for ``what``, a lower bound of its memory) exceed
    :func:`memory_limit`, raised before anything is allocated; what fits is never refused."""
    limit = memory_limit()
    if limit is not None and need > limit:
        raise ConfigError(
            f"{what} needs at least {format_bytes(need)}, more than the {format_bytes(limit)} of memory this "
            f"machine has; {remedy}"
        )


def check_disk_space(directory: str | os.PathLike, need: int, what: str, consequence: str) -> None:
    """``DiskFullError`` when the disk holding ``directory`` has less than ``need`` bytes free for
    ``what``; ``consequence`` says what was kept and what to do. Checked before writing, so a full
    disk stops a write before it starts rather than halfway through a file."""
    free = shutil.disk_usage(directory).free
    if free < need:
        raise DiskFullError(
            f"the disk holding {directory} is full ({format_bytes(free)} free, {what} needs about "
            f"{format_bytes(need)}): {consequence}"
        )
