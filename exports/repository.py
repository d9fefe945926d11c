"""TF Serving's model repository on disk.

Layout (what ``tensorflow_model_server`` watches)::

    BASE/
      models.config              model_config_list: one entry per model directory under BASE
      batching_parameters.txt    BatchingParameters text proto for --batching_parameters_file
      NAME/
        1/  2/  ...              one SavedModel per integer version; the server serves the highest

A version directory appears in one ``rename``: the SavedModel is written into a hidden staging
directory next to the versions (same filesystem, a name the server ignores because it is not an
integer), then renamed to the next free integer. The server therefore never sees half a model,
and an existing version is never replaced. Writers of the same model serialise the choice of
version number and the rename through an advisory lock file, so two concurrent exports get two
versions. This module needs no TensorFlow.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ConfigError

MODELS_CONFIG = "models.config"
BATCHING_PARAMETERS = "batching_parameters.txt"
# Where the repository is mounted inside the serving container (the image's MODEL_BASE_PATH).
DEFAULT_SERVING_ROOT = "/models"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LOCK = ".export.lock"
_STAGING_PREFIX = ".staging-"


def check_model_name(name: str) -> str:
    """Return ``name`` if it can be a TF Serving model name and a directory name, else raise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"model name {name!r} is not usable: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (it becomes a directory and the URL path /v1/models/NAME)"
        )
    return name


def versions(model_dir: str | os.PathLike) -> list[int]:
    """The integer version directories under ``model_dir``, ascending ([] when there is none)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(model_dir: str | os.PathLike) -> int:
    """One more than the highest existing version (1 for a new model)."""
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


@contextlib.contextmanager
def _locked(model_dir: Path):
    with open(model_dir / _LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(
    base: str | os.PathLike,
    name: str,
    write: Callable[[Path], None],
    version: int | None = None,
) -> Path:
    """Write a new version of model ``name`` under ``base`` atomically and return its directory.

    ``write(staging_dir)`` fills an empty directory with the SavedModel (and anything else the
    version holds). Only when it returns is the directory renamed to ``base/name/<version>``:
    ``version`` if given (refused when it exists), otherwise the next integer. When ``write`` raises,
    the staging directory is removed and the repository is left exactly as it was.
    """
    check_model_name(name)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ConfigError(f"version must be a positive integer, got {version!r}")
    model_dir = Path(base) / name
    if model_dir.exists() and not model_dir.is_dir():
        raise ConfigError(f"{model_dir} exists and is not a directory; choose another --name or --base")
    if version is not None and (model_dir / str(version)).exists():
        raise ConfigError(
            f"{model_dir / str(version)} already exists and versions are never overwritten; "
            "omit the version to get the next free one"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        write(staging)
        with _locked(model_dir):
            target = model_dir / str(version if version is not None else next_version(model_dir))
            if target.exists():
                raise ConfigError(
                    f"{target} appeared while exporting and versions are never overwritten; "
                    "export again to get the next free version"
                )
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _atomic_write_text(path: Path, text: str) -> None:
    # The server polls these files; a reader must see the old file or the new one, never a prefix.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def models_config_text(names: Sequence[str], serving_root: str = DEFAULT_SERVING_ROOT) -> str:
    """``ModelServerConfig`` text proto serving the latest version of each model in ``names``.

    ``serving_root`` is where the repository is mounted inside the server (``base_path`` of each
    model is ``serving_root/NAME``).
    """
    if not serving_root.startswith("/") or any(c in serving_root for c in "\"'\\\n"):
        raise ConfigError(
            f"serving root {serving_root!r} must be an absolute path inside the server "
            "without quotes, backslashes or newlines (e.g. /models)"
        )
    root = serving_root.rstrip("/") or "/"
    entries = []
    for name in names:
        check_model_name(name)
        base_path = f"{root}/{name}" if root != "/" else f"/{name}"
        entries.append(
            "  config {\n"
            f'    name: "{name}"\n'
            f'    base_path: "{base_path}"\n'
            '    model_platform: "tensorflow"\n'
            "    model_version_policy {\n      latest {\n        num_versions: 1\n      }\n    }\n"
            "  }\n"
        )
    return "model_config_list {\n" + "".join(entries) + "}\n"


def write_models_config(base: str | os.PathLike, serving_root: str = DEFAULT_SERVING_ROOT) -> Path:
    """(Re)write ``base/models.config`` listing every model under ``base`` that has a version."""
    base = Path(base)
    names = sorted(
        p.name
        for p in base.iterdir()
        if p.is_dir() and _NAME.fullmatch(p.name) and versions(p)
    ) if base.is_dir() else []
    path = base / MODELS_CONFIG
    _atomic_write_text(path, models_config_text(names, serving_root))
    return path


@dataclass(frozen=True)
class BatchingParameters:
    """Server-side batching (``--enable_batching``), shared by every model the server loads.

    ``max_batch_size`` caps a merged batch; ``batch_timeout_micros`` is how long the server waits to
    fill one; ``allowed_batch_sizes`` (increasing, last equal to ``max_batch_size``) pads merged
    batches to a few fixed sizes so the GPU sees few distinct shapes. Every signature this project
    exports takes inputs that share dimension 0, which batching requires.
    """

    max_batch_size: int = 64
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 100
    num_batch_threads: int = 4
    allowed_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self):
        for field in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"batching {field} must be a positive integer, got {value!r}")
        if not isinstance(self.batch_timeout_micros, int) or self.batch_timeout_micros < 0:
            raise ConfigError(f"batch_timeout_micros must be an integer >= 0, got {self.batch_timeout_micros!r}")
        sizes = tuple(self.allowed_batch_sizes)
        if sizes:
            if any(not isinstance(s, int) or s < 1 for s in sizes) or list(sizes) != sorted(set(sizes)):
                raise ConfigError(f"allowed_batch_sizes must be strictly increasing positive integers, got {sizes}")
            if sizes[-1] != self.max_batch_size:
                raise ConfigError(
                    f"the last allowed batch size ({sizes[-1]}) must equal max_batch_size ({self.max_batch_size})"
                )

    def text(self) -> str:
        """The ``BatchingParameters`` text proto the server reads."""
        lines = [
            f"max_batch_size {{ value: {self.max_batch_size} }}",
            f"batch_timeout_micros {{ value: {self.batch_timeout_micros} }}",
            f"max_enqueued_batches {{ value: {self.max_enqueued_batches} }}",
            f"num_batch_threads {{ value: {self.num_batch_threads} }}",
            *(f"allowed_batch_sizes: {size}" for size in self.allowed_batch_sizes),
        ]
        return "\n".join(lines) + "\n"


def write_batching_parameters(base: str | os.PathLike, parameters: BatchingParameters | None = None) -> Path:
    """Write ``base/batching_parameters.txt`` (defaults: :class:`BatchingParameters`)."""
    path = Path(base) / BATCHING_PARAMETERS
    _atomic_write_text(path, (parameters or BatchingParameters()).text())
    return path


def read_max_batch_size(base: str | os.PathLike) -> int | None:
    """``max_batch_size`` of ``base/batching_parameters.txt``; None when there is no file."""
    path = Path(base) / BATCHING_PARAMETERS
    if not path.is_file():
        return None
    match = re.search(r"max_batch_size\s*\{\s*value:\s*(\d+)\s*\}", path.read_text())
    if match is None:
        raise ConfigError(f"{path} has no max_batch_size {{ value: N }}; fix or delete it")
    return int(match.group(1))
