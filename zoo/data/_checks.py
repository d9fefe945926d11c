"""Argument checks and seed handling shared by every dataset of :mod:`zoo.data`.

Every bad value becomes a :class:`zoo.errors.ConfigError` that names the argument, the value and what
is accepted, before anything reaches tf.data (whose own errors surface deep inside iteration).
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from zoo._seeds import seed_pair  # noqa: F401  (the datasets' seed convention)
from zoo.errors import ConfigError

# Largest image side accepted: one 1024x1024x3 float32 batch of 64 is already 800 MB.
MAX_IMAGE_SIZE = 1024


def suggestion(value: str, valid: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid names, or an empty string."""
    close = difflib.get_close_matches(str(value), list(valid), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def positive_int(value, what: str, *, minimum: int = 1) -> int:
    """``value`` as an ``int >= minimum``; bools, floats and strings are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{what} must be an integer >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ConfigError(f"{what} must be an integer >= {minimum}, got {value}.")
    return int(value)


def image_size(value, name: str, default: int | None) -> int | None:
    """Validate ``image_size`` for dataset ``name`` whose default is ``default`` (None: points set)."""
    if default is None:
        if value is not None:
            raise ConfigError(
                f"dataset {name!r} yields 2-D points, not images: image_size is unsupported "
                f"(got {value!r}); leave it as None."
            )
        return None
    if value is None:
        return default
    size = positive_int(value, f"image_size for dataset {name!r}")
    if size > MAX_IMAGE_SIZE:
        raise ConfigError(f"image_size={size} for dataset {name!r} is unsupported: the largest is {MAX_IMAGE_SIZE}.")
    return size


def choice(value, what: str, valid: Iterable[str]) -> str:
    valid = tuple(valid)
    if not isinstance(value, str) or value not in valid:
        listed = ", ".join(map(repr, valid))
        raise ConfigError(f"{what} must be one of {listed}; got {value!r}.{suggestion(value, valid)}")
    return value


def options(name: str, given: Mapping, accepted: Mapping) -> dict:
    """Merge ``given`` options over the ``accepted`` defaults; unknown option names are an error."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        hints = "".join(suggestion(u, accepted) for u in unknown)
        listed = ", ".join(sorted(accepted)) or "none"
        raise ConfigError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for dataset {name!r}; it accepts: {listed}.{hints}"
        )
    return {**accepted, **given}


def rng(seed, *stream: int) -> np.random.Generator:
    """A NumPy generator determined by ``seed`` (see :func:`seed_pair`) and a stream tag.

    The stream tag keeps independent draws (train vs test points, labels vs sources) apart while the
    user passes one seed.
    """
    a, b = seed_pair(seed)
    return np.random.default_rng([a & 0xFFFFFFFF, b & 0xFFFFFFFF, *stream])


def shuffle_seed(seed) -> int:
    """One non-negative int63 for ``tf.data.Dataset.shuffle``, derived from the seed pair."""
    state = np.random.SeedSequence([v & 0xFFFFFFFF for v in seed_pair(seed)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def check_cache(value, name: str):
    """The ``cache`` option: ``None`` (auto), ``True`` (memory), ``False`` or a file path prefix."""
    if value is None or isinstance(value, (bool, str)):
        return value
    raise ConfigError(
        f"option 'cache' of dataset {name!r} must be None (auto), True, False or a file path, got {value!r}."
    )
