"""Pure metric functions against references and closed forms (NumPy/SciPy only, no TensorFlow)."""

import warnings

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import entropy

from zoo.errors import ConfigError
from zoo.metrics.fid import FeatureStatistics, fid, frechet_distance, psd_factor, trace_sqrt_product
from zoo.metrics.inception_score import inception_score
from zoo.metrics.kid import kid, polynomial_mmd2
from zoo.metrics.modes import stacked_modes, synthetic_modes, triplet_labels
from zoo.metrics.prdc import density_coverage, knn_radii, precision_recall


def _scipy_fid(x, y):
    mu_1, mu_2 = x.mean(0), y.mean(0)
    s_1, s_2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_1 @ s_2).real
    return float(((mu_1 - mu_2) ** 2).sum() + np.trace(s_1) + np.trace(s_2) - 2 * np.trace(covmean))


def test_fid_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 64)) @ rng.normal(size=(64, 64))
    y = rng.normal(0.3, 1.2, size=(500, 64)) @ rng.normal(size=(64, 64))
    reference = _scipy_fid(x, y)
    assert fid(x, y) == pytest.approx(reference, rel=1e-6)


def test_streaming_statistics_equal_one_shot_and_survive_offsets():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 16)) + 1e4  # a large common offset must not cost precision
    stats = FeatureStatistics()
    for start in range(0, 1000, 137):
        stats.update(x[start : start + 137])
    assert stats.count == 1000
    np.testing.assert_allclose(stats.mean(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance(), np.cov(x, rowvar=False), rtol=1e-8, atol=1e-10)


def test_fid_closed_form_for_gaussians_and_identity():
    mu = np.array([1.0, -2.0, 0.5])
    # Commuting diagonal covariances: Tr sqrt(S1 S2) = sum sqrt(a_i b_i).
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = (mu**2).sum() + a.sum() + b.sum() - 2 * np.sqrt(a * b).sum()
    assert frechet_distance(mu, np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(expected, rel=1e-12)
    x = np.random.default_rng(2).normal(size=(200, 8))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)


def test_fid_rejects_too_few_samples_and_bad_shapes():
    rng = np.random.default_rng(3)
    with pytest.raises(ConfigError, match="more samples than feature dimensions"):
        fid(rng.normal(size=(10, 32)), rng.normal(size=(100, 32)))
    with pytest.raises(ConfigError, match="2-D"):
        fid(rng.normal(size=(10, 4, 4)), rng.normal(size=(10, 16)))
    with pytest.raises(ConfigError, match="NaN"):
        fid(np.full((10, 2), np.nan), rng.normal(size=(10, 2)))
    with pytest.raises(ConfigError, match="same extractor"):
        fid(rng.normal(size=(20, 3)), rng.normal(size=(20, 4)))


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_singular_covariances_use_the_eigh_factor_and_stay_exact():
    rng = np.random.default_rng(4)
    x = np.zeros((50, 4))
    x[:, :2] = rng.normal(size=(50, 2))  # rank-2 covariance: Cholesky fails, eigh factor takes over
    s = np.cov(x, rowvar=False)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(s)
    np.testing.assert_allclose(psd_factor(s) @ psd_factor(s).T, s, atol=1e-12)
    # Tr sqrt(S S) = Tr S for a symmetric PSD S.
    assert trace_sqrt_product(s, s) == pytest.approx(np.trace(s), rel=1e-10)
    y = rng.normal(size=(50, 4))
    expected = np.trace(scipy.linalg.sqrtm(s @ np.cov(y, rowvar=False))).real
    assert trace_sqrt_product(s, np.cov(y, rowvar=False)) == pytest.approx(expected, rel=1e-6)


def _naive_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_closed_form_and_naive_sum():
    a, b = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    k = lambda u, v: (u @ v / 2 + 1) ** 3  # noqa: E731
    # Constant sets: every off-diagonal kernel value is the same, so MMD^2 = k(a,a) + k(b,b) - 2 k(a,b).
    value = polynomial_mmd2(np.tile(a, (5, 1)), np.tile(b, (7, 1)))
    assert value == pytest.approx(k(a, a) + k(b, b) - 2 * k(a, b), rel=1e-12)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 4)), rng.normal(0.5, 1.0, size=(25, 4))
    assert polynomial_mmd2(x, y) == pytest.approx(_naive_mmd2(x, y), rel=1e-10)
    mean, std = kid(x, y, subset_size=None)
    assert (mean, std) == (pytest.approx(_naive_mmd2(x, y), rel=1e-10), 0.0)


def test_kid_is_unbiased_near_zero_for_same_distribution():
    rng = np.random.default_rng(6)
    mean, std = kid(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)), subset_size=500, subsets=20)
    assert abs(mean) < 3 * std + 1e-3
    far, _ = kid(rng.normal(size=(600, 8)), rng.normal(2.0, 1.0, size=(600, 8)), subset_size=300, subsets=5)
    assert far > 1.0
    with pytest.raises(ConfigError, match="subset_size"):
        kid(rng.normal(size=(100, 8)), rng.normal(size=(50, 8)), subset_size=80)


def test_inception_score_closed_forms():
    classes = 10
    one_hot = np.eye(classes)[np.arange(1000) % classes]
    assert inception_score(probabilities=one_hot)[0] == pytest.approx(classes, rel=1e-12)
    assert inception_score(logits=np.zeros((100, classes)))[0] == pytest.approx(1.0, rel=1e-12)
    # Two classes, every row p = (0.8, 0.2) or (0.2, 0.8) evenly: marginal uniform, IS = exp(ln 2 - H(0.8)).
    rows = np.array([[0.8, 0.2], [0.2, 0.8]] * 50)
    expected = np.exp(np.log(2) - entropy([0.8, 0.2]))
    assert inception_score(logits=np.log(rows))[0] == pytest.approx(expected, rel=1e-12)
    # A class nobody predicts contributes nothing (0 log 0), without warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert inception_score(probabilities=np.array([[1.0, 0, 0], [0, 1.0, 0]]))[0] == pytest.approx(2.0)
    mean, std = inception_score(probabilities=one_hot, splits=10)
    assert (mean, std) == (pytest.approx(classes), pytest.approx(0.0, abs=1e-12))
    with pytest.raises(ConfigError, match="sum to 1"):
        inception_score(probabilities=np.ones((4, 3)))


def _blobs(seed, n=4000, dim=8, shift=0.0):
    return np.random.default_rng(seed).normal(shift, 1.0, size=(n, dim))


def test_density_coverage_and_precision_recall_on_blobs():
    real, same, far = _blobs(10), _blobs(11), _blobs(12, shift=50.0)
    dc = density_coverage(real, same, k=5, block_size=700)
    assert dc["density"] == pytest.approx(1.0, abs=0.1)
    assert dc["coverage"] == pytest.approx(1 - 0.5**5, abs=0.02)
    pr = precision_recall(real, same, k=3, block_size=700)
    assert pr["precision"] > 0.6 and pr["recall"] > 0.6
    assert density_coverage(real, far) == {"density": 0.0, "coverage": 0.0}
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}
    # Mode dropping: real data has two far-apart blobs, the fakes only one of them; precision stays,
    # recall and coverage halve.
    two_modes = np.concatenate([real[:2000], far[:2000]])
    pr_half, dc_half = precision_recall(two_modes, same[:2000]), density_coverage(two_modes, same[:2000])
    assert pr_half["precision"] > 0.6 and 0.35 < pr_half["recall"] <= 0.5
    assert dc_half["coverage"] == pytest.approx(0.5 * (1 - 0.5**5), abs=0.03)


def test_knn_radii_match_brute_force():
    x = _blobs(13, n=300, dim=3)
    distances = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.testing.assert_allclose(knn_radii(x, 3, block_size=64), np.sort(distances, axis=1)[:, 3], rtol=1e-9)
    with pytest.raises(ConfigError, match="nearest neighbours"):
        knn_radii(x[:3], 3)


def test_synthetic_modes():
    centres = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    points = np.array([[0.01, 0.0], [2.0, 0.02], [2.0, -0.2], [1.0, 1.0]])
    result = synthetic_modes(points, centres, std=0.05)
    assert result == {"modes": 2, "max_modes": 3, "high_quality": 0.5}
    with pytest.raises(ConfigError, match="point datasets"):
        synthetic_modes(np.zeros((4, 28, 28)), centres, 0.05)


def test_stacked_modes_and_kl_with_empty_bins():
    q = np.full(1000, 1e-3)
    labels = triplet_labels(np.array([[1, 2, 3], [1, 2, 3], [9, 9, 9], [0, 0, 0]]))
    assert list(labels) == [123, 123, 999, 0]
    result = stacked_modes(labels, q)
    p = np.array([0.5, 0.25, 0.25])
    assert result["modes"] == 3
    assert result["kl"] == pytest.approx(float((p * np.log(p / 1e-3)).sum()), rel=1e-12)
    perfect = stacked_modes(np.arange(1000), q)
    assert perfect == {"modes": 1000, "max_modes": 1000, "kl": pytest.approx(0.0, abs=1e-12)}
    # A class absent from training stays finite thanks to the documented floor.
    q_missing = np.r_[0.0, np.full(999, 1 / 999)]
    assert np.isfinite(stacked_modes(np.array([0, 1]), q_missing)["kl"])
    with pytest.raises(ConfigError, match="0..9"):
        triplet_labels(np.array([[1, 2, 10]]))
