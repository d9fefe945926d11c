"""Stateless seeds in the project's one convention: an int32 pair ``[2]``.

Keras seed generators hand out int64 pairs, users pass tuples, lists or a plain int; TFP's stateless
samplers want an int32 ``[2]`` tensor. Everything that samples goes through :func:`as_seed`.
"""

from __future__ import annotations

from zoo._tf import tf
from zoo._seeds import seed_pair
from zoo.errors import ConfigError


def as_seed(seed) -> tf.Tensor:
    """Return ``seed`` as an int32 tensor of shape ``[2]``.

    Concrete seeds follow :mod:`zoo._seeds`: an integer ``s`` (Python, NumPy or a 0-d tensor) in
    ``[0, 2**32 - 1]`` means ``(0, s)``; a pair (tuple, list, NumPy array or tensor) holds two int32
    values. Out-of-range values are refused (``ConfigError``), never wrapped. Symbolic tensors (inside
    a ``tf.function``), whose values are unknown until run time, are only checked for dtype and
    shape and then cast to int32: a 0-d one means ``(0, s)``, int64 pairs (as Keras seed generators
    make) wrap modulo ``2**32``.
    """
    if seed is None:
        raise ConfigError("a seed is required: pass a pair such as seed=(0, 42) (sampling is stateless)")
    if tf.is_tensor(seed):
        value = tf.get_static_value(seed)
        if value is not None:
            return tf.constant(seed_pair(value), tf.int32)
        if not seed.dtype.is_integer:
            raise ConfigError(f"seed must hold integers, got dtype {seed.dtype.name}")
        if seed.shape.rank == 0:
            return tf.stack([tf.constant(0, tf.int32), tf.cast(seed, tf.int32)])
        if seed.shape.rank is not None and seed.shape.as_list() not in ([2], [None]):
            raise ConfigError(f"seed must have shape [2], got {seed.shape.as_list()}")
        return tf.ensure_shape(tf.cast(seed, tf.int32), [2])
    return tf.constant(seed_pair(seed), tf.int32)


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
