"""Stateless seeds in the project's one convention: an int32 pair ``[2]``.

Keras seed generators hand out int64 pairs, users pass tuples, lists or a plain int; TFP's stateless
samplers want an int32 ``[2]`` tensor. Everything that samples goes through :func:`as_seed`.
"""

from __future__ import annotations

from zoo._tf import tf
from zoo.errors import ConfigError


def as_seed(seed) -> tf.Tensor:
    """Return ``seed`` as an int32 tensor of shape ``[2]``.

    Accepts a pair (tuple, list, NumPy array or tensor, int32 or int64) or a plain Python int ``s``,
    which means ``(0, s)``. int64 values are cast (wrapping modulo 2**32), as Keras seed generators
    produce int64 pairs.
    """
    if seed is None:
        raise ConfigError("a seed is required: pass a pair such as seed=(0, 42) (sampling is stateless)")
    if isinstance(seed, bool):
        raise ConfigError(f"seed must be an int or a pair of ints, got {seed!r}")
    if isinstance(seed, int):
        seed = (0, seed)
    if not tf.is_tensor(seed):
        try:
            seed = tf.constant(seed)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"seed must be an int or a pair of ints, got {seed!r}") from error
    if not (seed.dtype.is_integer):
        raise ConfigError(f"seed must hold integers, got dtype {seed.dtype.name}")
    if seed.shape.rank is not None and seed.shape.as_list() != [2]:
        raise ConfigError(f"seed must have shape [2], got {seed.shape.as_list()}")
    if seed.dtype != tf.int32:
        seed = tf.cast(seed, tf.int32)
    return seed


def fresh_or_seed(seed) -> tf.Tensor:
    """:func:`as_seed` of ``seed``, or a fresh random int32 ``[2]`` seed when ``seed`` is None.

    The fresh seed comes from TensorFlow's global generator, as TFP's samplers draw one for
    ``seed=None``: new values on every call, repeatable after ``keras.utils.set_random_seed``.
    """
    if seed is None:
        return tf.random.uniform([2], minval=tf.int32.min, maxval=tf.int32.max, dtype=tf.int32)
    return as_seed(seed)


def as_row_seeds(seeds) -> tf.Tensor:
    """Return per-row seeds as an int32 tensor ``[B, 2]`` (int64 values are cast)."""
    if not tf.is_tensor(seeds):
        try:
            seeds = tf.constant(seeds)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"seeds must be an integer array of shape [B, 2], got {seeds!r}") from error
    if not seeds.dtype.is_integer:
        raise ConfigError(f"seeds must hold integers, got dtype {seeds.dtype.name}")
    if seeds.shape.rank is not None and (seeds.shape.rank != 2 or seeds.shape[-1] not in (None, 2)):
        raise ConfigError(f"seeds must have shape [B, 2], got {seeds.shape.as_list()}")
    if seeds.dtype != tf.int32:
        seeds = tf.cast(seeds, tf.int32)
    return seeds
