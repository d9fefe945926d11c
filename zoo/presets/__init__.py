"""Pretrained models that load offline in one call, each with a model card.

A preset is a directory holding ``model.keras`` (weights, prior and config) and ``card.json``
(how it was trained and what it measures). The zoo's own presets ship as package data under
``zoo/presets/data/<name>/``; :func:`save_to_preset` writes the same layout anywhere, and
:func:`load` accepts either a shipped name or such a directory.

Card fields: ``name``, ``description`` (one line), ``model`` (class name), ``recipe`` and ``seed``,
``steps``, ``wall_time_s``, ``machine``, ``versions``, ``metrics`` (measured by ``zoo evaluate``),
``evaluation`` (the exact settings used to measure them, so a test can re-measure), ``paper``
(the paper's corresponding numbers, where there are any).

The module itself is callable: ``zoo.presets()`` is :func:`presets` (and ``zoo.load`` is
:func:`load`), so the one-call API needs no second name while ``zoo.presets.load`` keeps working.
"""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import shutil
import sys
import tempfile
import types

from zoo.errors import ConfigError, CorruptFileError, DataUnavailableError

MODEL_FILE = "model.keras"
CARD_FILE = "card.json"
_SHIPPED = pathlib.Path(__file__).resolve().parent / "data"

__all__ = ["presets", "card", "load", "save_to_preset", "preset_dir", "MODEL_FILE", "CARD_FILE"]


def _shipped_names() -> list[str]:
    if not _SHIPPED.is_dir():
        return []
    return sorted(p.name for p in _SHIPPED.iterdir() if (p / CARD_FILE).is_file() and (p / MODEL_FILE).is_file())


def presets() -> dict[str, str]:
    """Shipped presets: ``{name: one-line description}``, sorted by name."""
    return {name: card(name).get("description", "") for name in _shipped_names()}


def preset_dir(name_or_dir: str | os.PathLike) -> pathlib.Path:
    """The directory of a shipped preset name, or ``name_or_dir`` itself when it is a preset directory."""
    path = pathlib.Path(name_or_dir)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise DataUnavailableError(
                f"{path} is not a preset directory: it has no {MODEL_FILE}. "
                "Write one with zoo.presets.save_to_preset(model, directory)."
            )
        return path
    names = _shipped_names()
    if str(name_or_dir) in names:
        return _SHIPPED / str(name_or_dir)
    close = difflib.get_close_matches(str(name_or_dir), names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"Unknown preset {str(name_or_dir)!r}.{hint} Shipped presets: {', '.join(names) or 'none'}; "
        "or pass a directory written by zoo.presets.save_to_preset."
    )


def card(name_or_dir: str | os.PathLike) -> dict:
    """The model card of a preset, as a dict (empty when a user directory has no card)."""
    path = preset_dir(name_or_dir) / CARD_FILE
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptFileError(
            f"{path} is not valid JSON ({error}); fix it, delete it (the model still loads), or copy the "
            "preset again."
        ) from None
    if not isinstance(value, dict):
        raise CorruptFileError(f"{path} must hold a JSON object, not {type(value).__name__}; fix or delete it.")
    return value


def load(name_or_dir: str | os.PathLike, *, compile: bool = False, expected_class=None):
    """Load a preset (shipped name or directory) or a ``.keras`` file and return the ``keras.Model``.

    ``compile=False`` (the default) skips the optimizers, which inference does not need.
    ``compile=True`` returns a model ready for ``fit``: with the saved optimizer state when the file
    has one (``save_to_preset(..., include_optimizer=True)``, a training run's ``model.keras``), else
    compiled with the model's default optimizers (the shipped presets keep none), so fine-tuning a
    preset is ``zoo.load(name, compile=True).fit(images)``. ``expected_class`` (e.g. ``DCGAN``)
    raises :class:`ConfigError` when the file holds another kind of model.
    Presets depend on models, never the reverse: this is the one way to load a preset.
    """
    from zoo.models.saving import load_file

    model = load_file(_model_file(name_or_dir), compile=compile,
                      remedy="Copy the preset again, or re-save it with zoo.presets.save_to_preset.")
    if expected_class is not None and not isinstance(model, expected_class):
        raise ConfigError(
            f"Preset {str(name_or_dir)!r} holds a {type(model).__name__}, not a {expected_class.__name__}; "
            f"load it with zoo.presets.load({str(name_or_dir)!r})."
        )
    if compile and not model.compiled:
        model.compile()
    return model


def _model_file(name_or_dir: str | os.PathLike) -> pathlib.Path:
    """The ``.keras`` file of a preset name or directory, or ``name_or_dir`` itself when it is one."""
    path = pathlib.Path(name_or_dir)
    if path.is_file():
        if path.suffix != ".keras":
            raise ConfigError(f"{path} is not a .keras file; pass a preset name, a preset directory or a .keras file.")
        return path
    return preset_dir(name_or_dir) / MODEL_FILE


def save_to_preset(
    model,
    directory: str | os.PathLike,
    card: dict | None = None,
    *,
    overwrite: bool = False,
    include_optimizer: bool = False,
):
    """Write ``model`` (and its card) as a preset directory that :func:`load` reads back.

    By default only the model is kept, not its optimizers (Adam's two moments per weight would
    triple the file); pass ``include_optimizer=True`` to keep them for ``load(..., compile=True)``
    and further training. The files are written to a temporary sibling directory first and swapped
    into place, so an interrupted save never leaves a half-written preset. An existing directory is
    refused unless ``overwrite=True``, and even then only when it is a preset (nothing in it but
    ``model.keras`` and ``card.json``) or empty: no other directory is ever deleted. On Linux the old
    and new preset trade places in one ``renameat2(RENAME_EXCHANGE)``, so a kill at any instant leaves
    one whole preset; elsewhere the old one is renamed aside first (a kill between the two renames
    leaves it as ``.NAME.old-*`` beside the directory).
    """
    directory = pathlib.Path(directory)
    if directory.exists() or directory.is_symlink():
        if not overwrite:
            raise ConfigError(f"{directory} already exists; choose another directory or pass overwrite=True.")
        _check_replaceable(directory)
    if not callable(getattr(model, "save", None)) or not callable(getattr(model, "get_weights", None)):
        raise ConfigError(f"save_to_preset takes a Keras model (a zoo DCGAN or VAE), got a {type(model).__name__}.")
    if card is not None and not isinstance(card, dict):
        raise ConfigError(f"card must be a dict (written as {CARD_FILE}), got {type(card).__name__}.")
    if not include_optimizer and getattr(model, "compiled", False):
        model = _without_optimizer(model)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        # mkdtemp makes the directory private (0700); a preset is data others read, like any directory.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        model.save(staging / MODEL_FILE)
        if card is not None:
            (staging / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        if directory.exists():
            _replace_directory(staging, directory)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


_PRESET_FILES = frozenset({MODEL_FILE, CARD_FILE})


def _check_replaceable(directory: pathlib.Path) -> None:
    """Refuse to overwrite anything but a preset directory or an empty one (never a user's files)."""
    if directory.is_symlink() or not directory.is_dir():
        raise ConfigError(
            f"{directory} exists and is not a directory (or is a symbolic link); overwrite=True replaces "
            "only a preset directory. Choose another directory."
        )
    entries = {p.name for p in directory.iterdir()}
    others = sorted(entries - _PRESET_FILES)
    if others or (entries and MODEL_FILE not in entries):
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise ConfigError(
            f"{directory} is not a preset directory (it holds {shown or 'no ' + MODEL_FILE}); overwrite=True "
            f"replaces only a directory holding nothing but {MODEL_FILE} and {CARD_FILE}. Nothing was "
            "changed; choose another directory."
        )


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: pathlib.Path, b: pathlib.Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2``); False where that is not supported."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):  # filesystem without exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace_directory(staging: pathlib.Path, directory: pathlib.Path) -> None:
    """Put ``staging`` at ``directory`` and delete the directory it replaces, never leaving neither."""
    if _exchange(staging, directory):
        shutil.rmtree(staging)  # now the old preset
        return
    old = pathlib.Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
    old.rmdir()
    directory.rename(old)
    try:
        staging.rename(directory)
    except BaseException:
        old.rename(directory)
        raise
    shutil.rmtree(old)


def _without_optimizer(model):
    """An uncompiled copy of ``model`` with the same weights (its config rebuilt, weights copied)."""
    from zoo._tf import tf  # noqa: F401

    import keras

    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    copy.set_weights(model.get_weights())
    return copy


class _CallableModule(types.ModuleType):
    """``zoo.presets()`` lists the presets: the module answers calls with :func:`presets`."""

    def __call__(self) -> dict[str, str]:
        return presets()


sys.modules[__name__].__class__ = _CallableModule
