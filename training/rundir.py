"""The run directory: everything one training run leaves behind, written so nothing is lost.

Layout of ``RUN_DIR``::

    run.json            recipe, status (running | completed | stopped_nan | failed | interrupted), times, command,
                        message
    config.json         the resolved, validated config
    environment.json    Python/TensorFlow/Keras/TFP/NumPy versions, platform, devices, strategy, precision
    history.csv         one row per completed epoch: epoch, step, every tracked loss, seconds
    history.json        the same as a JSON list
    checkpoint/         weights + optimizer state of the last completed epoch (see callbacks.Checkpoint)
    samples/            epoch_NNNN.png grids and interpolation_NNNN.png strips
    tensorboard/        scalars and images
    model.keras         the trained model (written when training ends)
    metrics.json        zoo.metrics.evaluate on the trained model
    .lock               while a process trains into it: that process's pid, host and start time

Every record is written to a temporary name and renamed (``zoo.files.atomic_write``), so a killed
run never leaves half a file; every file a run writes has the mode a plain ``open()`` gives (0644
under the usual umask), records, checkpoints, images and ``model.keras`` alike.
One process at a time owns a run directory (:class:`RunLock`). ``--overwrite`` deletes only these
entries (:meth:`RunDir.remove_outputs`); other files in the directory are left alone.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import fcntl
import io
import json
import os
import pathlib
import platform
import socket
import sys

from zoo.errors import ConfigError, CorruptFileError, ZooError, is_disk_full
from zoo.files import atomic_write

from training import config as config_lib

RUN_FILE = "run.json"
CONFIG_FILE = "config.json"
ENVIRONMENT_FILE = "environment.json"
HISTORY_CSV = "history.csv"
HISTORY_JSON = "history.json"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
CHECKPOINT_DIR = "checkpoint"
SAMPLES_DIR = "samples"
TENSORBOARD_DIR = "tensorboard"
LOCK_FILE = ".lock"
STATUSES = ("running", "completed", "stopped_nan", "failed", "interrupted")

# Everything a run writes, and so all that --overwrite removes: anything else in a run directory
# (a user's notes, code, figures) is not the zoo's to delete. Top-level files, with the temporary
# names of their atomic writes (atomic_write's ".NAME.*.tmp", model.save's ".model.tmp.keras"), and
# per sub-directory the patterns of its files (the directory goes too once nothing else is in it).
RUN_FILES = (RUN_FILE, CONFIG_FILE, ENVIRONMENT_FILE, HISTORY_CSV, HISTORY_JSON, METRICS_FILE, MODEL_FILE)
RUN_TEMPORARIES = (".*.tmp", ".model.tmp.keras")
RUN_DIRECTORIES = {
    CHECKPOINT_DIR: ("state.json", "epoch_*.weights.h5", ".*.tmp"),
    SAMPLES_DIR: ("epoch_*.png", "interpolation_*.png"),
    TENSORBOARD_DIR: ("events.out.tfevents.*",),
}
# What a record must hold to be a zoo run's (a run.json or config.json of another tool is not).
_RUN_KEYS = {"recipe", "status", "started"}
_CONFIG_KEYS = {"version", "data", "model", "train"}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_json(path: pathlib.Path, value) -> None:
    atomic_write(path, _json_text(value))


def _json_text(value) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=_jsonable) + "\n"


def _jsonable(value):
    # NumPy scalars and arrays from metrics and logs.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_json(path: pathlib.Path, remedy: str = ""):
    """The JSON value in ``path``; ``CorruptFileError`` (saying what to do) when it is not readable JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptFileError(
            f"{path} is damaged ({type(error).__name__}: {error}). "
            + (remedy or "Restore it from a backup, or start over with --overwrite (which deletes the run).")
        ) from None


class RunLockedError(ZooError):
    """Another live process is training into the run directory."""


class RunLock:
    """One process at a time in a run directory: ``.lock`` holds the owner's pid, host and start time.

    The owner also holds an ``flock`` on the file, which the kernel drops when the process dies, so a
    lock left by a killed run on this host is taken over (with a message) by the next one. A lock
    written on another host is only taken over once its file is deleted: whether that process is
    still alive cannot be told from here, and file locks do not reach across every network filesystem.
    """

    def __init__(self, directory: pathlib.Path):
        self.path = pathlib.Path(directory) / LOCK_FILE
        self._fd: int | None = None

    @staticmethod
    def _owner(fd: int) -> dict:
        try:
            owner = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return owner if isinstance(owner, dict) else {}

    @staticmethod
    def _alive(pid) -> bool:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, TypeError, ValueError, OverflowError):
            return True  # someone else's process (or an unreadable pid): assume it is running
        return True

    def _in_use(self, owner: dict) -> RunLockedError:
        return RunLockedError(
            f"{self.path.parent} is in use by another zoo train (pid {owner.get('pid', '?')} on "
            f"{owner.get('host', '?')}, since {owner.get('started', '?')}). Wait for it to end or choose another "
            f"--out; if that process is gone, delete {self.path}."
        )

    def acquire(self) -> None:
        host = socket.gethostname()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = self._owner(fd)
                os.close(fd)
                raise self._in_use(owner) from None
            try:  # the owner may have released (deleted) the file between our open and flock
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        owner = self._owner(fd)
        if owner.get("pid") not in (None, os.getpid()) or owner.get("host") not in (None, host):
            if owner.get("host") != host or self._alive(owner.get("pid")):
                os.close(fd)
                raise self._in_use(owner)
            print(f"zoo train: taking over the lock of {self.path.parent} left by pid {owner['pid']} "
                  f"(started {owner.get('started', '?')}), which is no longer running.", file=sys.stderr)
        record = json.dumps({"pid": os.getpid(), "host": host, "started": now()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _resumable(key: str) -> bool:
    # A recipe's prose (description, paper) may be reworded after a run started without changing it.
    return key in ("train.epochs", "description", "paper") or key.startswith(("samples.", "eval."))


class RunDir:
    """Paths and records of one run directory (see the module docstring for the layout)."""

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)

    def __truediv__(self, name: str) -> pathlib.Path:
        return self.path / name

    @property
    def checkpoint_dir(self) -> pathlib.Path:
        return self.path / CHECKPOINT_DIR

    @property
    def samples_dir(self) -> pathlib.Path:
        return self.path / SAMPLES_DIR

    @property
    def tensorboard_dir(self) -> pathlib.Path:
        return self.path / TENSORBOARD_DIR

    def is_run(self) -> bool:
        """Whether the directory holds a zoo run: ``run.json`` and ``config.json`` with the zoo's keys.

        A damaged record (not readable JSON) still counts, as long as the other one is the zoo's:
        resuming then names the damage, and ``--overwrite`` may replace the run. Records that read
        as another tool's JSON make the directory not a run.
        """
        kinds = {self._record_kind(RUN_FILE, _RUN_KEYS), self._record_kind(CONFIG_FILE, _CONFIG_KEYS)}
        return "zoo" in kinds and not kinds & {"missing", "foreign"}

    def _record_kind(self, name: str, keys: set) -> str:
        """``"zoo"``, ``"damaged"``, ``"foreign"`` (JSON without the zoo's keys) or ``"missing"``."""
        path = self.path / name
        if not path.is_file():
            return "missing"
        try:
            value = read_json(path)
        except CorruptFileError:
            return "damaged"
        if not isinstance(value, dict) or not keys <= set(value):
            return "foreign"
        if name == RUN_FILE and value["status"] not in STATUSES:
            return "foreign"
        return "zoo"

    def run_record(self) -> dict:
        return self._record(RUN_FILE)

    def saved_config(self) -> dict:
        return self._record(CONFIG_FILE)

    def _record(self, name: str) -> dict:
        value = read_json(self.path / name)
        if not isinstance(value, dict):
            raise CorruptFileError(
                f"{self.path / name} is damaged (it holds a {type(value).__name__}, not a JSON object). Restore it "
                "from a backup, or start over with --overwrite (which deletes the run)."
            )
        return value

    def entries(self) -> list[pathlib.Path]:
        """What the directory holds, apart from the lock file."""
        return [p for p in self.path.iterdir() if p.name != LOCK_FILE] if self.path.is_dir() else []

    @contextlib.contextmanager
    def locked(self):
        """Own the directory (see :class:`RunLock`) for the block, creating it when absent.

        Directories the block created and left empty are removed again, so a run refused before it
        wrote anything leaves nothing behind.
        """
        self._check_writable()
        created = []
        for directory in reversed([self.path, *self.path.parents]):
            if not directory.exists():
                directory.mkdir()
                created.append(directory)
        lock = RunLock(self.path)
        try:
            lock.acquire()
        except BaseException:
            _remove_empty(created)
            raise
        try:
            yield self
        finally:
            lock.release()
            _remove_empty(created)

    def prepare(self, config: dict, *, resume: bool = False, overwrite: bool = False) -> str:
        """Check the directory can take this run: ``"fresh"``, ``"resume"`` or ``"replace"`` (an old run).

        * absent or empty: a fresh run.
        * the same config, not completed: continue it (so re-running a killed command resumes).
        * the same config, completed: refused; ``--overwrite`` retrains, ``--resume`` with a larger
          ``train.epochs`` trains on.
        * another config: refused unless ``--overwrite``, or ``--resume`` when only keys that do not
          change what was trained differ (``train.epochs``, ``samples.*``, ``eval.*``: train on, or
          redo a failed evaluation with other settings; ``description``, ``paper``: the recipe's prose).
        * files that are not a run: always refused (they are not ours to delete).

        Nothing is written or deleted here: :meth:`start` acts on the answer once the data and the
        model have been checked.
        """
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other; pass one.")
        self._check_writable()
        if not self.entries():
            if resume:
                raise ConfigError(f"--resume: {self.path} holds no run to resume. Drop --resume to start one.")
            return "fresh"
        if not self.is_run():
            if (self.path / RUN_FILE).is_file() and (self.path / CONFIG_FILE).is_file():
                raise ConfigError(
                    f"{self.path} holds {RUN_FILE} and {CONFIG_FILE}, but not a zoo run's (they lack the keys zoo train "
                    "writes); refusing to write into it, and --overwrite would delete files the zoo did not write. "
                    "Choose another --out directory."
                )
            missing = RUN_FILE if not (self.path / RUN_FILE).is_file() else CONFIG_FILE
            raise ConfigError(
                f"{self.path} is not empty and holds no zoo run ({missing} missing); refusing to write into "
                "it. Choose another --out directory."
            )
        if overwrite:
            return "replace"
        changed = config_lib.diff(self.saved_config(), config)
        status = self.run_record().get("status")
        epochs = changed.get("train.epochs")
        if resume and epochs is not None and None not in epochs and epochs[1] < epochs[0]:
            raise ConfigError(
                f"--resume can only raise train.epochs: the run in {self.path} is set to {epochs[0]} epochs, "
                f"not {epochs[1]}. Keep train.epochs={epochs[0]} (or more), or train into another --out directory."
            )
        if not changed:
            if status == "completed" and not resume:
                raise ConfigError(
                    f"{self.path} holds a completed run of this config. Pass --overwrite to train it again, "
                    "or --resume --set train.epochs=N to train it for more epochs."
                )
            return "resume"
        listing = "; ".join(f"{k}: {json.dumps(a)} -> {json.dumps(b)}" for k, (a, b) in changed.items())
        if resume and all(_resumable(key) for key in changed):
            return "resume"
        if resume:
            raise ConfigError(
                f"--resume: the config differs from the run in {self.path} ({listing}); only train.epochs, "
                "samples.*, eval.* and the recipe's prose (description, paper) may change when resuming. "
                "Use another --out directory, or --overwrite."
            )
        raise ConfigError(
            f"{self.path} holds another run ({listing}). Choose another --out directory, pass --overwrite to "
            "replace it, or --resume to continue it."
        )

    def _check_writable(self) -> None:
        existing = self.path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"cannot create run directory {self.path}: {existing} is a file.")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write to {existing}; choose an --out directory you can write to.")

    def start(self, config: dict, environment: dict, *, mode: str, command: list[str]) -> None:
        """Create the directory (replacing an old run for ``mode="replace"``) and record the config,
        the environment and a ``running`` status."""
        if mode == "replace":
            self.remove_outputs()
        self.path.mkdir(parents=True, exist_ok=True)
        resumed = mode == "resume"
        record = self.run_record() if resumed else {"recipe": config.get("recipe"), "started": now(), "resumes": []}
        if resumed:
            record.setdefault("resumes", []).append(now())
        record.update(status="running", command=command, message="")
        write_json(self.path / CONFIG_FILE, config)
        write_json(self.path / ENVIRONMENT_FILE, environment)
        write_json(self.path / RUN_FILE, record)

    def remove_outputs(self) -> list[pathlib.Path]:
        """Delete what a run writes (:data:`RUN_FILES`, :data:`RUN_DIRECTORIES`), nothing else; returns
        what was deleted. The lock stays: the caller owns the directory. Symbolic links are not followed."""
        removed = []

        def unlink(path: pathlib.Path) -> None:
            if path.is_file() or path.is_symlink():
                path.unlink()
                removed.append(path)

        for name in RUN_FILES:
            unlink(self.path / name)
        for pattern in RUN_TEMPORARIES:
            for path in self.path.glob(pattern):
                unlink(path)
        for name, patterns in RUN_DIRECTORIES.items():
            directory = self.path / name
            if directory.is_symlink() or not directory.is_dir():
                continue
            for pattern in patterns:
                for path in directory.glob(pattern):
                    unlink(path)
            with contextlib.suppress(OSError):  # kept while it holds files the run did not write
                directory.rmdir()
                removed.append(directory)
        return removed

    def finish(self, status: str, message: str = "", **extra) -> None:
        """Record how the run ended in ``run.json``, even on a full disk.

        There the atomic write has no room for its temporary file, so the record is rewritten in place:
        a few hundred bytes over blocks the file already owns.
        """
        record = self.run_record()
        record.update(status=status, message=message, finished=now(), **extra)
        try:
            write_json(self.path / RUN_FILE, record)
        except OSError as error:
            if not is_disk_full(error):
                raise
            with open(self.path / RUN_FILE, "r+", encoding="utf-8") as handle:
                handle.write(_json_text(record))
                handle.truncate()

    def write_history(self, rows: list[dict]) -> None:
        """Loss history, one dict per completed epoch, as ``history.json`` and ``history.csv``."""
        write_json(self.path / HISTORY_JSON, rows)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.path / HISTORY_CSV, buffer.getvalue())

    def history(self) -> list[dict]:
        path = self.path / HISTORY_JSON
        return read_json(path) if path.is_file() else []


def _remove_empty(directories: list[pathlib.Path]) -> None:
    for directory in reversed(directories):
        with contextlib.suppress(OSError):
            directory.rmdir()


def environment(*, strategy: str, replicas: int, mixed_precision: str | None, jit: bool) -> dict:
    """Versions and devices this run used (imports TensorFlow: call inside the train handler)."""
    from zoo._tf import tf

    import keras
    import numpy as np

    import zoo

    versions = {"python": sys.version.split()[0], "zoo": zoo.__version__, "tensorflow": tf.__version__,
                "keras": keras.__version__, "numpy": np.__version__}
    try:
        import tensorflow_probability as tfp

        versions["tensorflow_probability"] = tfp.__version__
    except ImportError:  # recorded as absent; the priors need it, so training would already have failed
        versions["tensorflow_probability"] = None
    devices = [{"name": d.name, "type": d.device_type} for d in tf.config.list_logical_devices()]
    return {
        "versions": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "devices": devices,
        "strategy": strategy,
        "replicas": replicas,
        "mixed_precision": mixed_precision,
        "jit": jit,
        "tf_config": json.loads(os.environ["TF_CONFIG"]) if os.environ.get("TF_CONFIG") else None,
    }
