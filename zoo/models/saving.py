"""Reading ``.keras`` files with errors that say which file is damaged and what to do."""

from __future__ import annotations

import os
import pathlib
import zipfile
import zlib

from zoo.errors import ConfigError, CorruptFileError, DataUnavailableError, ZooError

# What Keras, zipfile, h5py and json raise on a truncated, bit-flipped or foreign file.
_READ_ERRORS = (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def load_file(path: str | os.PathLike, *, compile: bool = False, remedy: str = ""):
    """The Keras model in the ``.keras`` file ``path``.

    Raises ``DataUnavailableError`` when there is no such file, ``ConfigError`` when the name does
    not end in ``.keras``, and ``CorruptFileError`` when the file cannot be read (truncated, a damaged
    byte, not a Keras archive); ``remedy`` is appended to that message (e.g. how to rewrite the file).
    """
    from zoo._tf import tf  # noqa: F401 - quiet TensorFlow import before Keras

    import keras

    import zoo.models  # noqa: F401 - registers the zoo's classes for deserialisation

    path = pathlib.Path(path)
    if not path.is_file():
        raise DataUnavailableError(f"{path} does not exist (or is not a file).")
    if path.suffix != ".keras":
        raise ConfigError(f"{path} is not a .keras file; pass a model saved with model.save('model.keras').")
    remedy = remedy or "Copy it again from where it came from, or save the model again."

    def corrupt(reason: str) -> CorruptFileError:
        return CorruptFileError(
            f"{path} ({path.stat().st_size} bytes) could not be loaded as a zoo model: it is truncated, damaged "
            f"or not a Keras model file ({reason}). {remedy}"
        )

    # Keras reports a file that is not a whole zip archive as "File not found".
    if not zipfile.is_zipfile(path):
        raise corrupt("not a complete zip archive")
    try:
        return keras.saving.load_model(path, compile=compile)
    except ZooError:
        raise
    except _READ_ERRORS as error:
        raise corrupt(f"{type(error).__name__}: {str(error)[:300]}") from None
