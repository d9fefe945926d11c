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
versions. An exporter holds an ``flock`` on its staging directory while writing; staging
directories older than :data:`STALE_STAGING_SECONDS` whose lock is free (their exporter was killed)
are removed by the next export of that model.

``models.config`` is merged, never rewritten: models missing from it are added and everything an
operator wrote (other models, pinned versions, version policies, comments) is kept, under a lock
so racing exports cannot drop each other's entries. The repository files are written with the
permissions of any file the process creates (``0644`` under the usual umask; an existing file keeps
its mode), so a server running under another uid can read them. ``BASE/NAME`` must be a real
directory, not a symbolic link (the server resolves ``base_path`` in its own filesystem, where the
link's target may not exist). This module needs no TensorFlow.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from zoo.errors import ConfigError
from zoo.files import atomic_write, locked

MODELS_CONFIG = "models.config"
BATCHING_PARAMETERS = "batching_parameters.txt"
# Where the repository is mounted inside the serving container (the image's MODEL_BASE_PATH).
DEFAULT_SERVING_ROOT = "/models"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LOCK = ".export.lock"
_CONFIG_LOCK = ".repository.lock"  # guards models.config
_STAGING_PREFIX = ".staging-"
_STAGING = re.compile(re.escape(_STAGING_PREFIX) + r"[0-9a-f]{32}")
# A staging directory this old whose exporter no longer holds its lock is a killed export's leftover.
STALE_STAGING_SECONDS = 300


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


def check_serving_root(serving_root: str) -> str:
    """``serving_root`` without trailing slashes, if usable as a ``base_path`` prefix inside the server."""
    if not isinstance(serving_root, str) or not serving_root.startswith("/") or any(
            c in serving_root for c in "\"'\\\n"):
        raise ConfigError(
            f"serving root {serving_root!r} must be an absolute path inside the server "
            "without quotes, backslashes or newlines (e.g. /models)"
        )
    return serving_root.rstrip("/") or "/"


def check_model_dir(base: str | os.PathLike, name: str) -> Path:
    """``base/name`` if a new version can be published there (nothing is created)."""
    check_model_name(name)
    base = Path(base)
    if base.exists() and not base.is_dir():
        raise ConfigError(f"the export base {base} is a file; choose a directory with --base")
    model_dir = base / name
    if model_dir.is_symlink():
        raise ConfigError(
            f"{model_dir} is a symbolic link; the server resolves base_path {name!r} inside its own filesystem, "
            "where the link's target may not exist. Replace the link by a directory, or export with --base "
            "set to the directory the server mounts."
        )
    if model_dir.exists() and not model_dir.is_dir():
        raise ConfigError(f"{model_dir} exists and is not a directory; choose another --name or --base")
    return model_dir


def remove_stale_staging(model_dir: Path, older_than: float = STALE_STAGING_SECONDS) -> list[Path]:
    """Delete the staging directories of killed exports of one model; returns what was removed.

    Only names this module makes (``.staging-`` + 32 hex digits), only when older than ``older_than``
    seconds, and only when no exporter holds their lock.
    """
    removed = []
    now = time.time()
    for entry in model_dir.iterdir() if model_dir.is_dir() else ():
        if not _STAGING.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            if now - entry.stat().st_mtime < older_than:
                continue
            fd = os.open(entry, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its exporter is still writing
        finally:
            os.close(fd)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


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
    check_version(version)
    model_dir = check_model_dir(base, name)
    if version is not None and (model_dir / str(version)).exists():
        raise ConfigError(
            f"{model_dir / str(version)} already exists and versions are never overwritten; "
            "omit the version to get the next free one"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(model_dir)
    staging = model_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    # Held until this function returns: tells remove_stale_staging this exporter is alive.
    staging_fd = os.open(staging, os.O_RDONLY)
    fcntl.flock(staging_fd, fcntl.LOCK_EX)
    try:
        write(staging)
        with locked(model_dir / _LOCK):
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
    finally:
        os.close(staging_fd)
    return target


def check_version(version) -> None:
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ConfigError(f"version must be a positive integer, got {version!r}")


def _model_configs(names: Sequence[str], root: str) -> list:
    """One ``ModelConfig`` per name: ``base_path`` under ``root``, the latest version served."""
    configs = []
    for name in names:
        config = model_server_config_pb2.ModelConfig(
            name=check_model_name(name), base_path=f"{root}/{name}" if root != "/" else f"/{name}",
            model_platform="tensorflow",
        )
        config.model_version_policy.latest.num_versions = 1
        configs.append(config)
    return configs


def models_config_text(names: Sequence[str], serving_root: str = DEFAULT_SERVING_ROOT) -> str:
    """``ModelServerConfig`` text proto serving the latest version of each model in ``names``.

    ``serving_root`` is where the repository is mounted inside the server (``base_path`` of each
    model is ``serving_root/NAME``).
    """
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.SetInParent()  # written even when empty
    config.model_config_list.config.extend(_model_configs(names, check_serving_root(serving_root)))
    return text_format.MessageToString(config, as_utf8=True)


def _parse_models_config(text: str, source: str):
    """``text`` parsed as TF Serving's own ``ModelServerConfig``; ``ConfigError`` naming ``source`` otherwise."""
    try:
        return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    except text_format.ParseError as error:
        raise ConfigError(f"{source} is not a valid ModelServerConfig ({error}); fix it or delete it") from None


# Strings, comments and closing brackets of a text proto, left to right (so a bracket inside a
# string or a comment is skipped with it).
_CLOSERS = re.compile(r'''"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|#[^\n]*|[}>]''')


def merge_models_config(text: str, names: Sequence[str], serving_root: str = DEFAULT_SERVING_ROOT,
                        source: str = MODELS_CONFIG) -> str:
    """``text`` (a ``ModelServerConfig`` text proto) with a ``config`` entry added for each of ``names``
    it does not list yet; everything else in it (entries, version policies, comments) is kept as is.

    Raises ``ConfigError`` naming ``source`` when ``text`` is not a ``ModelServerConfig``, or holds a
    ``custom_model_config`` instead of a ``model_config_list``.
    """
    root = check_serving_root(serving_root)
    config = _parse_models_config(text, source)
    if config.WhichOneof("config") == "custom_model_config":
        raise ConfigError(f"{source} configures models with custom_model_config; add {', '.join(names)} to it yourself")
    listed = {entry.name for entry in config.model_config_list.config}
    new = _model_configs([name for name in dict.fromkeys(names) if name not in listed], root)
    if not new:
        return text
    entries = model_server_config_pb2.ModelConfigList(config=new)
    added = text_format.MessageToString(entries, indent=2, as_utf8=True)
    if not config.HasField("model_config_list"):
        separator = "" if not text or text.endswith("\n") else "\n"
        merged = f"{text}{separator}model_config_list {{\n{added}}}\n"
    else:
        # model_config_list is the file's one top-level message (Parse refuses a repeated one), so
        # its closing bracket is the file's last; the entries go before it, on a line of their own.
        close = [match.start() for match in _CLOSERS.finditer(text) if match.group() in "}>"][-1]
        line_start = text.rfind("\n", 0, close) + 1
        if text[line_start:close].strip():
            merged = f"{text[:close]}\n{added}{text[close:]}"
        else:
            merged = text[:line_start] + added + text[line_start:]
    _parse_models_config(merged, source)
    return merged


def write_models_config(base: str | os.PathLike, serving_root: str = DEFAULT_SERVING_ROOT) -> Path:
    """Add every model under ``base`` that has a version to ``base/models.config`` (merging; see the
    module docstring) and return its path."""
    check_serving_root(serving_root)
    base = Path(base)
    path = base / MODELS_CONFIG
    base.mkdir(parents=True, exist_ok=True)
    with locked(base / _CONFIG_LOCK):
        names = sorted(p.name for p in base.iterdir() if p.is_dir() and _NAME.fullmatch(p.name) and versions(p))
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text; fix it or delete it (the next export writes a new one)") from None
        merged = merge_models_config(text, names, serving_root, source=str(path))
        if merged != text or not path.exists():
            atomic_write(path, merged if merged else models_config_text([], serving_root))
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
    atomic_write(path, (parameters or BatchingParameters()).text())
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
