"""tf.data plumbing shared by the datasets: shuffled, fixed-size float32 batches, prefetched.

Small sets live in memory as one tensor and batches are gathered from shuffled index batches: one
``tf.gather`` per batch instead of one dataset element per example, which is what keeps the
pipeline far faster than any training step (``benchmarks/data.py``).
"""

from __future__ import annotations

import numpy as np

from zoo._tf import tf
from zoo.data import _checks
from zoo.errors import ConfigError

AUTOTUNE = tf.data.AUTOTUNE


def check_enough(num_examples: int, batch_size: int, name: str, split: str) -> None:
    if num_examples < batch_size:
        raise ConfigError(
            f"dataset {name!r} ({split}) has {num_examples} examples, fewer than batch_size={batch_size}; "
            "with drop_remainder=True it would yield no batch. Use a smaller batch_size or more examples."
        )


def to_unit_range(images):
    """uint8 [0, 255] -> float32 [-1, 1]; float32 input is assumed to be in [-1, 1] already."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return tf.cast(images, tf.float32)


def shuffled_index_batches(num_examples: int, batch_size: int, seed):
    """Batches of int64 indices ``[batch_size]``: a fresh seeded permutation each epoch, remainder dropped.

    The permutation is drawn in one ``stateless_shuffle`` per epoch (keyed by a per-iteration value of
    a seeded ``Dataset.random``), so the cost per batch does not grow with the batch size as an
    element-wise ``shuffle`` does. ``Dataset.random`` combines its seed with TensorFlow's global seed
    when one is set (``tf.random.set_seed``), so batches are a function of ``seed`` and that seed.
    """
    num_batches = num_examples // batch_size

    def epoch(key):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(num_examples, dtype=tf.int64), seed=tf.stack([key, tf.constant(num_examples, tf.int64)])
        )
        batches = tf.reshape(order[: num_batches * batch_size], [num_batches, batch_size])
        return tf.data.Dataset.from_tensor_slices(batches)

    keys = tf.data.Dataset.random(seed=_checks.shuffle_seed(seed), rerandomize_each_iteration=True).take(1)
    return keys.flat_map(epoch)


def from_array(x: np.ndarray, *, batch_size: int, seed, name: str, split: str = "train"):
    """Dataset of float32 batches ``[batch_size, *x.shape[1:]]`` of the in-memory array ``x``."""
    check_enough(len(x), batch_size, name, split)
    data = tf.constant(x)
    ds = shuffled_index_batches(len(x), batch_size, seed)
    ds = ds.map(lambda index: to_unit_range(tf.gather(data, index)), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def stacked_from_pool(pool: np.ndarray, sources: np.ndarray, *, batch_size: int, seed, name: str, split: str = "train"):
    """Batches ``[batch_size, H, W, 3]`` whose channel k is ``pool[sources[i, k]]``.

    ``pool`` is ``[M, H, W, 1]`` (uint8, or float32 in [-1, 1]); ``sources`` is ``[N, 3]``.
    Only the pool and the index table are held, so memory is independent of N.
    """
    check_enough(len(sources), batch_size, name, split)
    images = tf.constant(pool[..., 0])
    table = tf.constant(sources, dtype=tf.int32)

    def stack(index):
        channels = tf.gather(images, tf.gather(table, index))  # [B, 3, H, W]
        return to_unit_range(tf.transpose(channels, [0, 2, 3, 1]))

    ds = shuffled_index_batches(len(sources), batch_size, seed)
    return ds.map(stack, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


# In-memory caching is automatic below this many bytes of decoded uint8 images (see `image_batches`).
AUTO_CACHE_BYTES = 2 * 1024**3
# Shuffle buffers are capped in bytes so a large set does not hold a second copy of itself.
SHUFFLE_BUFFER_BYTES = 256 * 1024**2


def centre_crop_resize(image, size: int, crop: int | None = None):
    """uint8 ``[H, W, C]`` -> uint8 ``[size, size, C]``.

    Crops the centred ``crop x crop`` window (the largest centred square when ``crop`` is None, or
    when the image is smaller than ``crop``), then resizes with antialiased bilinear filtering.
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.minimum(height, width) if crop is None else tf.minimum(tf.minimum(height, width), crop)
    top = (height - side) // 2
    left = (width - side) // 2
    square = image[top : top + side, left : left + side, :]
    resized = tf.image.resize(square, [size, size], method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def image_batches(
    images,
    *,
    num_examples: int | None,
    element_shape: tuple[int, int, int],
    batch_size: int,
    seed,
    cache,
    name: str,
    split: str,
):
    """Batches of float32 images in [-1, 1] from a dataset of decoded uint8 images (in a fixed order).

    ``num_examples`` may be None (unknown). ``cache=None`` caches in memory when the decoded set is
    known to be at most ``AUTO_CACHE_BYTES``; a string caches to that file prefix. The shuffle
    buffer holds the whole set when it is below ``SHUFFLE_BUFFER_BYTES``, else as many images as fit.
    """
    example_bytes = int(np.prod(element_shape))
    buffer = max(1, SHUFFLE_BUFFER_BYTES // example_bytes)
    if num_examples is not None:
        check_enough(num_examples, batch_size, name, split)
        buffer = min(buffer, num_examples)
    if cache is None:
        cache = num_examples is not None and num_examples * example_bytes <= AUTO_CACHE_BYTES
    if cache is not False:
        images = images.cache("" if cache is True else cache)
    images = images.shuffle(buffer, seed=_checks.shuffle_seed(seed), reshuffle_each_iteration=True)
    images = images.batch(batch_size, drop_remainder=True)
    return images.map(to_unit_range, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def resize_many(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` square images -> uint8 ``[N, size, size, C]`` (antialiased bilinear)."""
    resized = tf.image.resize(images, [size, size], method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8).numpy()
