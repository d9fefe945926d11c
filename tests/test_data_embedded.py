"""zoo.data embedded sets: ring, grid, digits, stacked_digits (arrays, spec and load)."""

import numpy as np
import pytest

from zoo import data
from zoo.data import digits as digits_module
from zoo.data import stacked


def _batches(ds, n=None):
    return [b.numpy() for b in (ds if n is None else ds.take(n))]


def test_names_cover_every_dataset():
    assert data.names() == sorted(
        ["ring", "grid", "digits", "stacked_digits", "mnist", "fashion_mnist", "cifar10", "celeb_a", "stacked_mnist"]
        + ["folder", "mnist_5k", "stacked_mnist_5k"]
    )


def test_ring_has_eight_distinct_unit_centres():
    s = data.spec("ring")
    assert s.kind == "points" and s.element_shape == (2,) and s.std == 0.01
    assert s.centres.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(s.centres, axis=1), 1.0)
    angles = np.sort(np.mod(np.arctan2(s.centres[:, 1], s.centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)


def test_ring_official_centres_duplicate_one_mode():
    centres = data.spec("ring", official_centres=True).centres
    assert centres.shape == (8, 2)
    assert len(np.unique(centres.round(9), axis=0)) == 7
    np.testing.assert_allclose(centres[0], centres[-1], atol=1e-12)


def test_grid_centres_and_std():
    s = data.spec("grid")
    assert s.std == 0.05
    expected = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in s.centres.astype(int)} == expected and len(s.centres) == 25


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_points_follow_their_mixture(name):
    s = data.spec(name)
    x, component = data.arrays(name, num_points=20_000, seed=5)
    assert x.shape == (20_000, 2) and x.dtype == np.float32 and component.dtype == np.int64
    offsets = x - s.centres[component]
    # Each coordinate is N(0, std^2) around its own centre.
    np.testing.assert_allclose(offsets.std(axis=0), s.std, rtol=0.05)
    assert np.abs(offsets).max() < 6 * s.std
    counts = np.bincount(component, minlength=len(s.centres))
    expected = 20_000 / len(s.centres)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_official_ring_points_sit_on_seven_modes():
    x, _ = data.arrays("ring", official_centres=True, num_points=4000)
    centres = data.spec("ring").centres
    nearest = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert len(np.unique(nearest)) == 7


def test_points_depend_on_seed_and_split():
    a, _ = data.arrays("ring", num_points=100, seed=1)
    b, _ = data.arrays("ring", num_points=100, seed=1)
    c, _ = data.arrays("ring", num_points=100, seed=2)
    t, _ = data.arrays("ring", num_points=100, seed=1, split="test")
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, t)
    # An int seed s is the pair (0, s).
    np.testing.assert_array_equal(a, data.arrays("ring", num_points=100, seed=(0, 1))[0])


def test_points_load_batches_one_epoch_of_the_arrays():
    x, _ = data.arrays("grid", num_points=1000, seed=3)
    ds = data.load("grid", batch_size=64, num_points=1000, seed=3)
    assert tuple(ds.element_spec.shape) == (64, 2)
    batches = _batches(ds)
    assert len(batches) == 1000 // 64
    seen = np.concatenate(batches)
    assert seen.dtype == np.float32
    # A permutation without repeats: every row is a distinct row of the arrays.
    rows = {tuple(r) for r in x}
    assert all(tuple(r) in rows for r in seen) and len({tuple(r) for r in seen}) == len(seen)


@pytest.mark.parametrize("name", ["ring", "digits", "stacked_digits"])
def test_load_is_deterministic_under_a_seed(name):
    options = {"num_examples": 2000} if name == "stacked_digits" else {}
    first = _batches(data.load(name, batch_size=32, seed=7, **options), 3)
    again = _batches(data.load(name, batch_size=32, seed=7, **options), 3)
    other = _batches(data.load(name, batch_size=32, seed=8, **options), 3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_repeat_reshuffles_each_epoch_over_the_same_examples():
    epochs = _batches(data.load("digits", batch_size=449, split="test", seed=0).repeat(2))
    assert len(epochs) == 2
    assert not np.array_equal(epochs[0], epochs[1])
    first, second = ({image.tobytes() for image in epoch} for epoch in epochs)
    # 450 test images, one dropped per epoch: the epochs share at least 448 of them.
    assert len(first) == 449 and len(first & second) >= 448


def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test = digits_module.split_indices("train"), digits_module.split_indices("test")
    assert len(train) + len(test) == 1797 and not set(train) & set(test)
    x_train, y_train = data.arrays("digits", split="train", seed=1)
    x_test, y_test = data.arrays("digits", split="test", seed=2)
    assert x_train.shape == (len(train), 28, 28, 1) and x_test.shape == (len(test), 28, 28, 1)
    assert len(test) == 450
    counts = np.bincount(y_train, minlength=10) + np.bincount(y_test, minlength=10)
    assert np.all(np.abs(np.bincount(y_test, minlength=10) - 0.25 * counts) <= 1)
    # The seed does not move the split or the order.
    np.testing.assert_array_equal(y_train, data.arrays("digits", split="train", seed=9)[1])


def test_digits_values_and_resize():
    from sklearn.datasets import load_digits

    raw = load_digits()
    x8, y8 = data.arrays("digits", image_size=8)
    index = digits_module.split_indices("train")
    np.testing.assert_allclose(x8[..., 0], raw.images[index] / 8.0 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y8, raw.target[index])
    x28, _ = data.arrays("digits")
    assert x28.dtype == np.float32 and x28.min() == -1.0 and x28.max() == 1.0
    # Bilinear upsampling keeps each image's mean intensity close to the original's.
    np.testing.assert_allclose(x28.mean(axis=(1, 2, 3)), x8.mean(axis=(1, 2, 3)), atol=0.08)
    assert data.arrays("digits", image_size=32)[0].shape[1:] == (32, 32, 1)


def test_digits_load_shape_and_range():
    ds = data.load("digits", batch_size=64, image_size=32)
    batch = next(iter(ds)).numpy()
    assert batch.shape == (64, 32, 32, 1) and batch.dtype == np.float32
    assert -1.0 <= batch.min() and batch.max() <= 1.0
    assert len(_batches(ds)) == 1347 // 64


def test_digits_spec_class_probs_is_the_train_histogram():
    s = data.spec("digits", image_size=16)
    assert s.element_shape == (16, 16, 1) and s.num_classes == 10
    _, y = data.arrays("digits", image_size=8)
    np.testing.assert_allclose(s.class_probs, np.bincount(y, minlength=10) / len(y))


def test_stacked_digits_channels_are_digits_of_the_label():
    pool, pool_labels = data.arrays("digits", split="test")
    x, labels = data.arrays("stacked_digits", split="test", num_examples=300, seed=4)
    assert x.shape == (300, 28, 28, 3) and x.dtype == np.float32 and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() <= 999
    flat_pool = pool.reshape(len(pool), -1)
    for image, label in zip(x[:60], labels[:60]):
        for channel, digit in enumerate((label // 100, label // 10 % 10, label % 10)):
            match = np.flatnonzero((flat_pool == image[..., channel].reshape(-1)).all(axis=1))
            assert len(match) and set(pool_labels[match]) == {digit}


def test_stacked_uniform_distribution_is_balanced():
    _, labels = data.arrays("stacked_digits", distribution="uniform", num_examples=3000, image_size=8)
    assert np.all(np.bincount(labels, minlength=1000) == 3)
    np.testing.assert_allclose(data.spec("stacked_digits", distribution="uniform").class_probs, 1e-3)


def test_stacked_gdpp_distribution_matches_its_law():
    law = data.spec("stacked_digits").class_probs
    assert law.shape == (1000,) and np.isclose(law.sum(), 1.0) and law.min() > 0
    # 0.3/1000 uniform + 0.7 * a discretised N(700, 200): density peak at 700, clipped tails at 0 and 999.
    np.testing.assert_allclose(law[700], 0.3e-3 + 0.7 / (200 * np.sqrt(2 * np.pi)), rtol=1e-3)
    from scipy.stats import norm

    np.testing.assert_allclose(law[999], 0.3e-3 + 0.7 * norm.sf(998.5, 700, 200), rtol=1e-9)
    np.testing.assert_allclose(law[0], 0.3e-3 + 0.7 * norm.cdf(0.5, 700, 200), rtol=1e-9)
    _, labels = data.arrays("stacked_digits", num_examples=50_000, image_size=8, seed=1)
    counts = np.bincount(labels, minlength=1000)
    # The official 50k recipe: 15 cyclic copies of every class, 35,000 normal draws.
    assert counts.min() >= 15
    hist = counts / counts.sum()
    assert 0.5 * np.abs(hist - law).sum() < 0.05
    np.testing.assert_allclose(hist[999], law[999], rtol=0.05)


def test_class_labels_recipe_counts():
    rng = np.random.default_rng(0)
    labels = stacked.class_labels(2000, "gdpp", rng)
    assert labels.shape == (2000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(stacked.digits_of(np.array([7, 470, 999])), [[0, 0, 7], [4, 7, 0], [9, 9, 9]])


def test_stacked_digits_load_matches_spec():
    s = data.spec("stacked_digits", image_size=16)
    ds = data.load("stacked_digits", batch_size=64, image_size=16, num_examples=640)
    batches = _batches(ds)
    assert len(batches) == 10 and batches[0].shape == (64, *s.element_shape)
    stacked_all = np.concatenate(batches)
    assert stacked_all.dtype == np.float32 and stacked_all.min() >= -1.0 and stacked_all.max() <= 1.0
    x, _ = data.arrays("stacked_digits", image_size=16, num_examples=640)
    # Same 640 images as arrays() (in another order): compare sorted per-image sums.
    sums = np.sort(stacked_all.reshape(640, -1).sum(1))
    np.testing.assert_allclose(sums, np.sort(x.reshape(640, -1).sum(1)), rtol=1e-5)
