"""scikit-learn's bundled 8x8 digits (offline) and three of them stacked as RGB channels.

``digits``: the 1,797 images of ``sklearn.datasets.load_digits`` (values 0..16), resized from 8x8 to
``image_size`` (default 28) with PIL's bilinear filter on the float values (a convex combination of
neighbouring pixels, so no overshoot), then scaled to [-1, 1]: ``x / 8 - 1``. One channel.
The ``train``/``test`` split is fixed and stratified: in every class, a fixed permutation puts 25%
of the images (rounded) in ``test`` (450 images) and the rest in ``train`` (1,347); it never
depends on the seed, so a digit classifier scored on ``test`` never saw those images.

``stacked_digits``: :mod:`zoo.data.stacked` applied to the ``digits`` split of the same name:
``num_examples`` (default 50,000 for ``train``, 10,000 for ``test``) triplets drawn with the
``distribution`` recipe (default ``"gdpp"``), each channel a random image of its digit. The seed
fixes the classes and the images chosen. ``load`` stacks on the fly from the small digit pool, so
memory does not grow with ``num_examples``.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from zoo.data import _checks, stacked
from zoo.data.spec import DatasetSpec

DEFAULT_IMAGE_SIZE = 28
TEST_FRACTION = 0.25
# Fixed: the split must not move with the user's seed (see the module docstring).
_SPLIT_SEED = 20190609
_STACKED_STREAM = {"train": 10, "test": 11}


@functools.lru_cache(maxsize=1)
def _raw():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


def split_indices(split: str) -> np.ndarray:
    """Sorted indices into ``load_digits()`` of the fixed stratified ``train`` or ``test`` split."""
    _, labels = _raw()
    rng = np.random.default_rng(_SPLIT_SEED)
    test = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test.append(rng.permutation(members)[: int(round(TEST_FRACTION * len(members)))])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[np.concatenate(test)] = True
    return np.flatnonzero(is_test if split == "test" else ~is_test)


@functools.lru_cache(maxsize=8)
def _resized(split: str, image_size: int):
    images, labels = _raw()
    index = split_indices(split)
    if image_size == 8:
        out = images[index]
    else:
        out = np.stack(
            [np.asarray(Image.fromarray(img).resize((image_size, image_size), Image.BILINEAR)) for img in images[index]]
        )
    x = np.clip(out / 8.0 - 1.0, -1.0, 1.0).astype(np.float32)[..., None]
    x.setflags(write=False)
    y = labels[index]
    y.setflags(write=False)
    return x, y


def digits_spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    """``class_probs`` is the exact label histogram of the fixed ``train`` split."""
    _, labels = _raw()
    probs = np.bincount(labels[split_indices("train")], minlength=10) / len(split_indices("train"))
    return DatasetSpec(
        name=name, kind="images", element_shape=(image_size, image_size, 1), num_classes=10, class_probs=probs
    )


def digits_arrays(name: str, split: str, image_size: int, seed, options: dict):
    """``(x [N, S, S, 1] float32 in [-1, 1], labels [N] int64 0..9)`` in a fixed order (seed unused)."""
    x, y = _resized(split, image_size)
    return x.copy(), y.copy()


def digits_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo.data import pipeline

    x, _ = _resized(split, image_size)
    return pipeline.from_array(x, batch_size=batch_size, seed=seed, name=name, split=split)


def _stacked_plan(name: str, split: str, seed, options: dict):
    """``(labels [N], sources [N, 3])`` of a stacked_digits configuration."""
    distribution, num_examples = stacked.settings(name, split, options)
    _, digit_labels = _raw()
    rng = _checks.rng(seed, _STACKED_STREAM[split])
    return stacked.plan(num_examples, distribution, digit_labels[split_indices(split)], rng)


def stacked_arrays(name: str, split: str, image_size: int, seed, options: dict):
    """``(x [N, S, S, 3] float32 in [-1, 1], labels [N] int64 in 0..999)``; label = 100*c0 + 10*c1 + c2.

    Materialises every image (470 MB for the 50,000 default at 28 px); ``load`` stacks per batch.
    """
    labels, sources = _stacked_plan(name, split, seed, options)
    pool, _ = _resized(split, image_size)
    return stacked.stack_numpy(pool, sources), labels


def stacked_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo.data import pipeline

    _, sources = _stacked_plan(name, split, seed, options)
    pool, _ = _resized(split, image_size)
    return pipeline.stacked_from_pool(pool, sources, batch_size=batch_size, seed=seed, name=name, split=split)
