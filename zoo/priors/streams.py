"""TensorFlow's stateless random stream, vectorised over per-row seeds.

``tf.random.stateless_uniform(shape, seed, minval=None, maxval=None, dtype=tf.uint32)`` (graph and
eager mode on CPU and GPU) turns the seed into a Philox-4x32-10 key and counter
(``StatelessRandomGetKeyCounter``: one Philox block of the seed under a fixed key) and fills the
output with the blocks ``Philox(key, counter + g)``, four 32-bit words each. Its kernels take one seed
per call, so drawing a batch of rows each from its own seed needed a loop. :func:`row_words`
computes the same words for every row at once with element-wise integer ops (``Mul``, shifts, xor on
uint64 holding 32-bit values): row ``i`` equals the native draw of ``[count]`` words from
``seeds[i]`` bit for bit (a test checks it against the kernels), at the cost of ten rounds of six ops
on ``[2, B, count / 4]`` tensors, whatever the batch. XLA compiles the native ops to another
generator, so under ``jit_compile`` the two differ (as XLA's stream differs from graph mode's).
"""

from __future__ import annotations

import numpy as np

from zoo._tf import tf

_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
_KEY_STEPS = (0x9E3779B9, 0xBB67AE85)
_SEED_KEY = (0x3EC8F720, 0x02461E29)  # the fixed key StatelessRandomGetKeyCounter scrambles seeds with
_ROUNDS = 10
_MASK = 0xFFFFFFFF


def _philox(x, y, key):
    """Philox-4x32-10 on counters ``(x[0], y[0], x[1], y[1])`` under ``key = (key[0], key[1])``.

    ``x``, ``y``: uint64 ``[2, ...]`` holding 32-bit values; ``key``: uint64 ``[2, ...]`` broadcasting
    against them. Returns the four output words in the same ``(x, y)`` layout.
    """
    multipliers = tf.reshape(tf.constant(_MULTIPLIERS, tf.uint64), [2] + [1] * (x.shape.rank - 1))
    steps = tf.reshape(tf.constant(_KEY_STEPS, tf.uint64), [2] + [1] * (key.shape.rank - 1))
    shift, mask = tf.constant(32, tf.uint64), tf.constant(_MASK, tf.uint64)
    for round_ in range(_ROUNDS):
        round_key = key if round_ == 0 else tf.bitwise.bitwise_and(key + round_ * steps, mask)
        # (hi, lo) of M0 * c0 and M1 * c2; the next counters are (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0).
        product = tf.reverse(x * multipliers, [0])
        x = tf.bitwise.bitwise_xor(tf.bitwise.bitwise_xor(tf.bitwise.right_shift(product, shift), y), round_key)
        y = tf.bitwise.bitwise_and(product, mask)
    return x, y


def _split(value):
    """int32 -> the two 32-bit halves of its sign extension to 64 bits, as uint64."""
    low = tf.cast(tf.bitcast(value, tf.uint32), tf.uint64)
    high = tf.where(value < 0, tf.constant(_MASK, tf.uint64), tf.constant(0, tf.uint64))
    return low, high


def row_words(seeds, count: int):
    """Uniform 32-bit words for each row: int32 ``[B, 2]`` seeds -> uint32 ``[B, count]``.

    Row ``i`` equals ``tf.random.stateless_uniform([count], seed=seeds[i], minval=None,
    maxval=None, dtype=tf.uint32)`` (graph/eager mode), and so depends on ``seeds[i]`` only.
    """
    seeds = tf.convert_to_tensor(seeds, tf.int32)
    (a_low, a_high), (b_low, b_high) = _split(seeds[:, 0]), _split(seeds[:, 1])
    # The key and counter of each seed: one Philox block of the seed words under the fixed key.
    seed_key = tf.reshape(tf.constant(_SEED_KEY, tf.uint64), [2, 1])
    mix_x, mix_y = _philox(tf.stack([a_low, b_low]), tf.stack([a_high, b_high]), seed_key)
    # The block (mix0, mix1, mix2, mix3) is held as x = (mix0, mix2), y = (mix1, mix3).
    key = tf.stack([mix_x[0], mix_y[0]])[:, :, None]  # [2, B, 1]
    blocks = -(-count // 4)
    # Block g runs on the counter (g, 0, mix2, mix3).
    shape = tf.stack([tf.shape(seeds)[0], blocks])
    index = tf.broadcast_to(tf.constant(np.arange(blocks, dtype=np.uint64)), shape)
    x = tf.stack([index, tf.broadcast_to(mix_x[1][:, None], shape)])
    y = tf.stack([tf.zeros_like(index), tf.broadcast_to(mix_y[1][:, None], shape)])
    x, y = _philox(x, y, key)
    words = tf.stack([x[0], y[0], x[1], y[1]], axis=-1)  # [B, blocks, 4]
    return tf.cast(tf.reshape(words, [-1, 4 * blocks])[:, :count], tf.uint32)


def words(shape, seed):
    """The native draw: uint32 words of ``shape`` from one int32 ``[2]`` seed, filled row-major."""
    return tf.random.stateless_uniform(shape, seed=seed, minval=None, maxval=None, dtype=tf.uint32)
