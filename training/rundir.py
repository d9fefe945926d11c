"""The run directory: everything one training run leaves behind, written so nothing is lost.

Layout of ``RUN_DIR``::

    run.json            recipe, status (running | completed | stopped_nan | failed), times, command, message
    config.json         the resolved, validated config
    environment.json    Python/TensorFlow/Keras/TFP/NumPy versions, platform, devices, strategy, precision
    history.csv         one row per completed epoch: epoch, step, every tracked loss, seconds
    history.json        the same as a JSON list
    checkpoint/         weights + optimizer state of the last completed epoch (see callbacks.Checkpoint)
    samples/            epoch_NNNN.png grids and interpolation_NNNN.png strips
    tensorboard/        scalars and images
    model.keras         the trained model (written when training ends)
    metrics.json        zoo.metrics.evaluate on the trained model

Every JSON file is written to a temporary name and renamed, so a killed run never leaves half a file.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import pathlib
import platform
import shutil
import sys
import tempfile

from zoo.errors import ConfigError

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


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_atomic(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: pathlib.Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(value):
    # NumPy scalars and arrays from metrics and logs.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_json(path: pathlib.Path):
    return json.loads(path.read_text())


def _resumable(key: str) -> bool:
    return key == "train.epochs" or key.startswith(("samples.", "eval."))


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
        return (self.path / RUN_FILE).is_file() and (self.path / CONFIG_FILE).is_file()

    def run_record(self) -> dict:
        return read_json(self.path / RUN_FILE)

    def saved_config(self) -> dict:
        return read_json(self.path / CONFIG_FILE)

    def prepare(self, config: dict, *, resume: bool = False, overwrite: bool = False) -> str:
        """Check the directory can take this run: ``"fresh"``, ``"resume"`` or ``"replace"`` (an old run).

        * absent or empty: a fresh run.
        * the same config, not completed: continue it (so re-running a killed command resumes).
        * the same config, completed: refused; ``--overwrite`` retrains, ``--resume`` with a larger
          ``train.epochs`` trains on.
        * another config: refused unless ``--overwrite``, or ``--resume`` when only keys that do not
          change what was trained differ (``train.epochs``, ``samples.*``, ``eval.*``: train on, or
          redo a failed evaluation with other settings).
        * files that are not a run: always refused (they are not ours to delete).

        Nothing is written or deleted here: :meth:`start` acts on the answer once the data and the
        model have been checked.
        """
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other; pass one.")
        self._check_writable()
        if not self.path.exists() or not any(self.path.iterdir()):
            if resume:
                raise ConfigError(f"--resume: {self.path} holds no run to resume. Drop --resume to start one.")
            return "fresh"
        if not self.is_run():
            raise ConfigError(
                f"{self.path} is not empty and holds no zoo run ({RUN_FILE} missing); refusing to write into "
                "it. Choose another --out directory."
            )
        if overwrite:
            return "replace"
        changed = config_lib.diff(self.saved_config(), config)
        status = self.run_record().get("status")
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
                "samples.* and eval.* may change when resuming. Use another --out directory, or --overwrite."
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
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        resumed = mode == "resume"
        record = self.run_record() if resumed else {"recipe": config.get("recipe"), "started": now(), "resumes": []}
        if resumed:
            record.setdefault("resumes", []).append(now())
        record.update(status="running", command=command, message="")
        write_json(self.path / CONFIG_FILE, config)
        write_json(self.path / ENVIRONMENT_FILE, environment)
        write_json(self.path / RUN_FILE, record)

    def finish(self, status: str, message: str = "", **extra) -> None:
        record = self.run_record()
        record.update(status=status, message=message, finished=now(), **extra)
        write_json(self.path / RUN_FILE, record)

    def write_history(self, rows: list[dict]) -> None:
        """Loss history, one dict per completed epoch, as ``history.json`` and ``history.csv``."""
        write_json(self.path / HISTORY_JSON, rows)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.path / HISTORY_CSV, buffer.getvalue())

    def history(self) -> list[dict]:
        path = self.path / HISTORY_JSON
        return read_json(path) if path.is_file() else []


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
