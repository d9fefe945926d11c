"""Distribution-matched interpolation: zoo.latent (method="matched") and zoo.priors.transport."""

import math

import numpy as np
import pytest
from scipy import stats

from zoo import latent, priors
from zoo.errors import ConfigError
from zoo.priors import transport


def _pairs(prior, n, seed):
    """Three independent sets of ``n`` draws (float64) of a LatentPrior."""
    z = prior.sample(3 * n, seed).numpy().astype(np.float64)
    return z[:n], z[n : 2 * n], z[2 * n :]


def test_normal_and_cauchy_closed_forms():
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    path = latent.interpolate(z0, z1, 5, method="matched", prior="normal", extrapolate=0.5)
    t = np.linspace(-0.5, 1.5, 5)[:, None]
    linear = (1 - t) * z0[:, None] + t * z1[:, None]
    np.testing.assert_allclose(path, linear / np.sqrt((1 - t) ** 2 + t**2), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(latent.midpoint(z0, z1, "matched", "normal"), (z0 + z1) / math.sqrt(2), rtol=1e-6)
    shifted = priors.get("normal", 5, loc=2.0, scale=3.0)
    np.testing.assert_allclose(
        latent.midpoint(z0, z1, "matched", shifted), 2.0 + ((z0 + z1) / 2 - 2.0) * math.sqrt(2), rtol=1e-6
    )
    # Cauchy: the identity inside [0, 1]; outside, the spread |1 - t| + |t| is divided out.
    cauchy = latent.interpolate(z0, z1, 5, method="matched", prior="cauchy", extrapolate=0.5)
    np.testing.assert_allclose(cauchy[:, 1:4], linear[:, 1:4], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cauchy[:, 0], linear[:, 0] / 2.0, rtol=1e-6, atol=1e-6)


def test_trapezoid_cdf_matches_quadrature():
    v = (np.arange(20000) + 0.5) / 20000 - 0.5  # V2 on a midpoint rule
    for alpha, beta in [(1.0, 0.0), (0.5, 0.5), (0.7, 0.3), (1.5, 0.5)]:
        s = np.linspace(-1.2, 1.2, 41)
        quadrature = np.mean(np.clip((s[:, None] - beta * v) / alpha + 0.5, 0.0, 1.0), axis=1)
        np.testing.assert_allclose(transport.trapezoid_cdf(s, alpha, beta), quadrature, atol=1e-6)


@pytest.mark.parametrize("a", [0.5, 0.3, -0.25])
def test_histogram_path_cdf_is_exact_within_its_bound(a):
    b = 1.0 - a
    probs = np.random.default_rng(1).dirichlet(np.ones(6))
    nodes, cdf = transport.histogram_path_cdf(probs, a, b, subdivision=16)
    # Reference: the law of a (I1 + U1) + b (I2 + U2) by quadrature over U2 for every bin pair.
    u = (np.arange(4000) + 0.5) / 4000
    y = np.linspace(nodes[0], nodes[-1], 97)
    reference = np.zeros_like(y)
    for i, p_i in enumerate(probs):
        for j, p_j in enumerate(probs):
            rest = (y[:, None] - b * (j + u)) / a - i  # U1 below this
            below = np.clip(rest, 0.0, 1.0) if a > 0 else 1.0 - np.clip(rest, 0.0, 1.0)
            reference += p_i * p_j * below.mean(axis=1)
    bound = 2 / 16 * probs.max() / max(abs(a), abs(b))
    error = np.abs(np.interp(y, nodes, cdf) - reference).max()
    assert error <= bound + 1e-6
    assert cdf[0] == 0.0 and cdf[-1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", ["uniform", "normal", "nonparametric"])
def test_matched_points_have_the_prior_law(name):
    prior = priors.as_layer(name, 4)
    z0, z1, reference = _pairs(prior, 20000, (0, 7))
    path = latent.interpolate(z0, z1, 6, method="matched", prior=prior)
    # KS noise of two 80,000-value samples is ~0.007 (99 %); the linear mid-point is far off
    # for the uniform and normal priors.
    for step in range(6):
        assert stats.ks_2samp(path[:, step].ravel(), reference.ravel()).statistic < 0.01
    linear_ks = stats.ks_2samp(latent.midpoint(z0, z1).ravel(), reference.ravel()).statistic
    if name != "nonparametric":
        assert linear_ks > 0.05
    np.testing.assert_allclose(path[:, 0], z0, atol=1e-5)
    np.testing.assert_allclose(path[:, -1], z1, atol=1e-5)
    if name == "uniform":
        assert np.all(np.abs(path) <= 1.0)


def test_midpoint_kl_matched_is_about_zero():
    assert latent.midpoint_kl("uniform") > 0.3 and latent.midpoint_kl("uniform", method="matched") < 1e-4
    assert latent.midpoint_kl("normal") > 0.15 and latent.midpoint_kl("normal", method="matched") < 1e-4
    nonparametric = priors.get("nonparametric", 8)
    assert latent.midpoint_kl(nonparametric) > 0.005
    assert latent.midpoint_kl(nonparametric, method="matched") < 1e-4
    # The check sees a map that does not fit the law: a normal cut to [-1, 1] is not normal.
    wrong = latent.midpoint_kl(priors.get("normal", 1, scale=0.58), domain=(-1.0, 1.0), method="matched")
    assert wrong > 1e-3


def test_tensorflow_maps_equal_numpy_maps():
    t = np.linspace(-0.25, 1.25, 7)
    for name in ("uniform", "normal", "cauchy", "nonparametric"):
        prior = priors.as_layer(name, 3)
        z0, z1, _ = _pairs(prior, 50, (1, 2))
        linear = latent.interpolate(z0, z1, 7, extrapolate=0.25)
        matched = transport.MatchedPath(prior, t)
        np.testing.assert_allclose(matched.apply_tf(linear).numpy(), matched(linear), atol=2e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prior": "gamma"}, "radial"),
        ({"prior": None}, "needs the prior"),
        ({"prior": "normal", "method": "linear"}, "drop it"),
        ({"prior": priors.get("normal", 5)}, "event size 5"),
        ({"prior": "normal", "z1": None, "through_origin": True}, "independent"),
        ({"prior": 3}, "prior must be"),
    ],
)
def test_matched_bad_inputs(kwargs, message):
    args = {"z0": np.arange(1.0, 4.0), "z1": np.ones(3), "steps": 4, "method": "matched"}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        latent.interpolate(**args)
    with pytest.raises(ConfigError, match="radial"):
        latent.midpoint_kl("gamma", method="matched")
    with pytest.raises(ConfigError, match="mid-point method"):
        latent.midpoint(np.ones(3), np.ones(3), method="slerp")
