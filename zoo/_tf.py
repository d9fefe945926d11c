"""Quiet, lazy access to TensorFlow.

TensorFlow's C++ runtime prints start-up banners (CUDA probing, oneDNN notices) straight to file
descriptor 2 before any Python logging is configured, so environment variables alone cannot silence
them. Every module of the library imports TensorFlow through :func:`tensorflow` below, which mutes
that descriptor for the duration of the first import only. Errors still surface as exceptions.
"""

from __future__ import annotations

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@contextlib.contextmanager
def _muted_stderr_fd():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (e.g. some notebook kernels)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_quietly(name: str):
    if name in sys.modules:
        return sys.modules[name]
    import importlib

    with _muted_stderr_fd():
        module = importlib.import_module(name)
    return module


def tensorflow():
    """Return the ``tensorflow`` module, importing it without the C++ start-up noise.

    Physical devices are discovered inside the muted section too: on a machine without a GPU
    driver, the first discovery prints a CUDA error line. Discovery does not initialise the
    runtime, so logical devices can still be configured afterwards.
    """
    first = "tensorflow" not in sys.modules
    tf = _import_quietly("tensorflow")
    if first:
        with _muted_stderr_fd():
            tf.config.list_physical_devices()
        tf.get_logger().setLevel("ERROR")
    return tf


def probability():
    """Return ``tensorflow_probability`` (imports TensorFlow quietly first)."""
    tensorflow()
    return _import_quietly("tensorflow_probability")


# Library modules start with `from zoo._tf import tf` (and `tfp` when needed) before `import keras`.
tf = tensorflow()


def __getattr__(name):
    if name == "tfp":
        return probability()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
