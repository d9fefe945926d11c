"""zoo.files: the one atomic write and lock every record of the zoo goes through."""

import os
import stat
import threading
import time

import pytest

from zoo.files import atomic_write, locked


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_gives_new_files_the_umask_mode_and_keeps_a_replaced_files_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "a" / "record.json", "{}\n")
        assert path.read_text() == "{}\n" and _mode(path) == 0o644  # not mkstemp's 0600
        os.chmod(path, 0o640)
        atomic_write(path, b"\x00\x01")
        assert path.read_bytes() == b"\x00\x01" and _mode(path) == 0o640
        os.umask(0o077)
        assert _mode(atomic_write(tmp_path / "private.txt", "x")) == 0o600
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "private.txt", "record.json"]  # no leftovers


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = atomic_write(tmp_path / "record.txt", "old")
    with pytest.raises(TypeError):
        atomic_write(path, 3.5)  # neither text nor bytes
    real_fdopen = os.fdopen

    def full_disk(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        handle.write = lambda data: (_ for _ in ()).throw(OSError(28, "No space left on device"))
        return handle

    monkeypatch.setattr(os, "fdopen", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["record.txt"]


def test_locked_excludes_other_holders(tmp_path):
    lock = tmp_path / ".lock"
    entered = threading.Event()

    def wait_for_the_lock():
        with locked(lock):
            entered.set()

    with locked(lock):
        worker = threading.Thread(target=wait_for_the_lock)
        worker.start()
        time.sleep(0.3)
        assert not entered.is_set()
    worker.join(5)
    assert entered.is_set()
