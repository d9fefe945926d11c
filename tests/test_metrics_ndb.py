"""NDB/K (zoo.metrics.ndb) on cases with a known answer (NumPy/SciPy/scikit-learn, no TensorFlow)."""

import numpy as np
import pytest
from scipy.stats import norm

from zoo import data
from zoo.errors import ConfigError
from zoo.metrics.ndb import NDBBins, detectable_difference, ndb, two_proportion_z_test


def _mixture(n, seed, weights=None):
    """``n`` points of a fixed 10-component Gaussian mixture in 8-d (component weights ``weights``)."""
    centres = np.random.default_rng(123).normal(size=(10, 8)) * 6.0
    rng = np.random.default_rng(seed)
    components = rng.choice(10, size=n, p=weights)
    return centres[components] + rng.normal(size=(n, 8))


@pytest.fixture(scope="module")
def mixture_bins():
    return NDBBins(_mixture(4000, 0), 50, seed=0)


def test_z_test_matches_the_textbook_formula_and_handles_empty_bins():
    z, p = two_proportion_z_test([0.10, 0.0, 0.3], 4000, [0.12, 0.0, 0.3], 20000)
    pooled = (0.10 * 4000 + 0.12 * 20000) / 24000
    expected = (0.10 - 0.12) / np.sqrt(pooled * (1 - pooled) * (1 / 4000 + 1 / 20000))
    assert z[0] == pytest.approx(expected, rel=1e-12)
    assert p[0] == pytest.approx(2 * norm.sf(abs(expected)), rel=1e-12)
    assert (z[1], p[1]) == (0.0, 1.0)  # an empty bin in both sets: nothing to test
    assert (z[2], p[2]) == (0.0, 1.0)


def test_the_training_set_against_itself_scores_exactly_zero(mixture_bins):
    training = _mixture(4000, 0)
    assert mixture_bins.test(training)["ndb_k"] == 0.0
    assert mixture_bins.train_counts.sum() == 4000 and np.all(mixture_bins.train_counts > 0)


def test_an_independent_draw_of_the_same_law_differs_in_about_alpha_of_the_bins(mixture_bins):
    # Each bin is a level-0.05 test: ~2.5 of 50 bins differ by chance. The bound (0.16, 8 bins)
    # is where a Binomial(50, 0.05) count exceeds it with probability < 0.2 %.
    values = [mixture_bins.test(_mixture(20000, seed))["ndb_k"] for seed in (1, 2, 3)]
    assert max(values) <= 0.16, values


def test_a_generator_that_emits_one_sample_or_one_mode_differs_almost_everywhere(mixture_bins):
    training = _mixture(4000, 0)
    one_sample = np.repeat(training[:1], 20000, axis=0)
    assert mixture_bins.test(one_sample)["ndb_k"] == 1.0  # one full bin, every other bin empty
    one_mode = _mixture(20000, 4, weights=np.eye(10)[3])
    assert mixture_bins.test(one_mode)["ndb_k"] >= 0.9
    # One mode of ten dropped: its bins (empty now) all differ; the others, 11 % fuller, mostly not.
    result = mixture_bins.test(_mixture(20000, 5, weights=np.r_[np.full(9, 1 / 9), 0.0]))
    empty = result["sample_shares"] == 0
    assert empty.sum() >= 2 and np.all(result["different"][empty])
    assert empty.mean() <= result["ndb_k"] <= 0.4


def test_held_out_mnist_digits_score_near_alpha_and_one_digit_near_one():
    train, train_labels = data.arrays("mnist_5k", split="train")
    test, _ = data.arrays("mnist_5k", split="test")
    bins = NDBBins(train, 100, seed=0)
    assert bins.test(test)["ndb_k"] <= 0.15  # paper (60,000 digits): 0.06 at K = 100
    sevens = train[train_labels == 7]
    result = bins.test(np.repeat(sevens, 20000 // len(sevens) + 1, axis=0)[:20000])
    assert result["ndb_k"] >= 0.8
    assert np.all(result["z"][result["different"] & (result["sample_shares"] == 0)] > 0)


def test_deterministic_for_a_seed_and_counts_add_over_batches(mixture_bins):
    training, samples = _mixture(4000, 0), _mixture(3000, 7)
    again = NDBBins(training, 50, seed=0)
    np.testing.assert_array_equal(again.centres, mixture_bins.centres)
    whole = mixture_bins.test(samples)
    counts = sum(mixture_bins.counts(samples[i : i + 700]) for i in range(0, 3000, 700))
    streamed = mixture_bins.test(counts=counts)
    assert streamed["ndb_k"] == whole["ndb_k"]
    np.testing.assert_array_equal(streamed["z"], whole["z"])
    assert ndb(training, samples, 50, seed=0) == whole["ndb_k"]
    # Another seed gives other bins (the statistic itself stays similar).
    assert not np.array_equal(NDBBins(training, 50, seed=1).centres, mixture_bins.centres)


def test_images_are_flattened_and_shapes_checked(mixture_bins):
    images = _mixture(300, 0).reshape(300, 2, 2, 2)
    assert NDBBins(images, 5, seed=0).test(images)["ndb_k"] == 0.0
    with pytest.raises(ConfigError, match="9 values each but the bins were fitted on 8"):
        mixture_bins.assign(np.zeros((3, 9)))
    with pytest.raises(ConfigError, match="bins must be an int >= 2"):
        NDBBins(images, 1)
    with pytest.raises(ConfigError, match="at least as many training samples"):
        NDBBins(images[:4], 5)
    with pytest.raises(ConfigError, match="NaN"):
        mixture_bins.test(np.full((3, 8), np.nan))
    with pytest.raises(ConfigError, match="either samples or counts"):
        mixture_bins.test()
    with pytest.raises(ConfigError, match="non-negative bin counts"):
        mixture_bins.test(counts=np.zeros(50))


def test_detectable_difference_has_the_stated_power():
    share, n_1, n_2 = 1 / 300, 4000, 20000
    lower, upper = detectable_difference(share, n_1, n_2)
    assert 0 < lower < share and upper > 0
    # Simulated: a generated share of share + upper is flagged ~80 % of the time.
    rng = np.random.default_rng(0)
    p_train = rng.binomial(n_1, share, 20000) / n_1
    for shifted in (share + upper, share - lower):
        p_gen = rng.binomial(n_2, shifted, 20000) / n_2
        power = np.mean(two_proportion_z_test(p_train, n_1, p_gen, n_2)[1] < 0.05)
        assert 0.72 <= power <= 0.88, (shifted, power)
    # More training samples per bin detect smaller changes.
    assert detectable_difference(1 / 100, n_1, n_2)[1] / (1 / 100) < upper / share
    with pytest.raises(ConfigError):
        detectable_difference(0.0, n_1, n_2)
