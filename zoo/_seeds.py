"""The project's seed convention on concrete values (no TensorFlow needed).

A seed is either one integer ``s`` or a pair ``(a, b)``; everything that samples turns it into the
stateless int32 pair TensorFlow's ``stateless_*`` ops take:

* an integer ``s`` is one unsigned 32-bit word, ``0 <= s <= MAX_SEED`` (``2**32 - 1``, the range
  of ``np.random.seed`` and ``keras.utils.set_random_seed``), meaning the pair ``(0, s)``; ``s`` is
  stored in the pair's int32 slot by its bit pattern (``3_000_000_000`` becomes ``-1_294_967_296``).
  Python ints, NumPy integer scalars and 0-d integer tensors are all accepted.
* a pair ``(a, b)`` holds two int32 values, ``-2**31 <= a, b < 2**31`` (a tuple, list, NumPy array
  or tensor of any integer dtype).

Values outside these ranges are refused rather than wrapped, so two different seeds never give the
same samples (before, ``2**40`` drew seed 0's values and ``-1`` those of ``2**32 - 1``).
"""

from __future__ import annotations

import numbers

from zoo.errors import ConfigError

MAX_SEED = 2**32 - 1
_INT32 = (-(2**31), 2**31 - 1)


def check_seed(seed, name: str = "seed") -> int:
    """The integer seed ``seed`` (a Python, NumPy or 0-d tensor integer) as a Python int in [0, MAX_SEED]."""
    value = _scalar(seed)
    if value is None:
        raise ConfigError(f"{name} must be an integer between 0 and {MAX_SEED}, got {seed!r}.")
    if not 0 <= value <= MAX_SEED:
        raise ConfigError(
            f"{name} must be between 0 and {MAX_SEED} (one 32-bit word), got {value}; larger or negative values "
            "would silently repeat another seed's samples. For more streams pass a pair (a, b) of int32 values."
        )
    return value


def as_int32(word: int) -> int:
    """The int32 with the bit pattern of the 32-bit word ``word`` (``0 <= word <= MAX_SEED``)."""
    return word - 2**32 if word > _INT32[1] else word


def seed_pair(seed) -> tuple[int, int]:
    """``(a, b)``, two int32 values, of a concrete seed in the convention of the module docstring."""
    import numpy as np

    if _scalar(seed) is not None or _is_bool(seed):
        return 0, as_int32(check_seed(seed))
    try:
        values = np.asarray(seed)
    except Exception:  # odd objects: reported below
        values = None
    if values is None or values.shape != (2,) or values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
        raise ConfigError(f"a seed must be an integer or a pair of integers (a, b), got {seed!r}.")
    pair = (int(values[0]), int(values[1]))
    if not all(_INT32[0] <= part <= _INT32[1] for part in pair):
        raise ConfigError(
            f"the values of a seed pair must be int32 ({_INT32[0]} to {_INT32[1]}), got {pair}; larger values "
            "would silently repeat another seed's samples."
        )
    return pair


def _is_bool(value) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # NumPy's, without importing it


def _scalar(seed) -> int | None:
    """``seed`` as a Python int when it is one integer (not a bool), else None."""
    if _is_bool(seed):
        return None
    if isinstance(seed, numbers.Integral):  # Python and NumPy integers
        return int(seed)
    import numpy as np

    if hasattr(seed, "numpy") and hasattr(seed, "dtype") and getattr(seed, "shape", None) is not None:
        try:  # an eager 0-d tensor
            value = np.asarray(seed.numpy())
        except Exception:
            return None
        if value.shape == () and np.issubdtype(value.dtype, np.integer):
            return int(value)
    if isinstance(seed, np.ndarray) and seed.shape == () and np.issubdtype(seed.dtype, np.integer):
        return int(seed)
    return None
