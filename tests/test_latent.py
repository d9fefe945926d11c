"""zoo.latent: interpolation paths and the mid-point diagnostics."""

import math

import numpy as np
import pytest

from zoo import latent, priors
from zoo.errors import ConfigError


def test_linear_paths_endpoints_midpoint_and_batches():
    z0, z1 = np.array([1.0, -2.0, 0.5]), np.array([3.0, 2.0, -0.5])
    path = latent.interpolate(z0, z1, 5)
    assert path.shape == (5, 3) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], z0)
    np.testing.assert_allclose(path[-1], z1)
    np.testing.assert_allclose(path[2], (z0 + z1) / 2)
    batch = latent.interpolate(np.stack([z0, z1]), np.stack([z1, z0]), 4)
    assert batch.shape == (2, 4, 3)
    np.testing.assert_allclose(batch[1, 0], z1)


def test_extrapolation_and_paths_through_origin():
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = latent.interpolate(z0, z1, 7, extrapolate=0.5)
    np.testing.assert_allclose(path[0], 1.5 * z0 - 0.5 * z1)
    np.testing.assert_allclose(path[-1], 1.5 * z1 - 0.5 * z0)
    np.testing.assert_allclose(path[3], (z0 + z1) / 2)
    through = latent.interpolate(np.array([2.0, -1.0]), None, 5, through_origin=True)
    np.testing.assert_allclose(through[2], [0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(through[-1], [-2.0, 1.0])


def test_slerp_keeps_norm_and_uniform_angles():
    z0, z1 = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = latent.interpolate(z0, z1, 5, method="slerp").astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0, rtol=1e-6)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(np.diff(angles), math.pi / 8, rtol=1e-6)
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    # Parallel codes: the great circle degenerates, the path is the straight line.
    parallel = latent.interpolate(z0, 3 * z0, 3, method="slerp")
    np.testing.assert_allclose(parallel[1], 2 * z0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "cubic"}, "linear, slerp"),
        ({"steps": 1}, "steps"),
        ({"extrapolate": -0.1}, "extrapolate"),
        ({"z1": np.ones(4)}, "same shape"),
        ({"z0": np.array([np.nan, 1.0, 2.0])}, "NaN"),
        ({"through_origin": True}, "z1=None"),
        ({"z1": None}, "z1 is required"),
        ({"z1": -np.arange(1.0, 4.0), "method": "slerp"}, "opposite"),
        ({"z0": np.zeros(3), "method": "slerp"}, "non-zero"),
    ],
)
def test_interpolate_bad_inputs(kwargs, message):
    args = {"z0": np.arange(1.0, 4.0), "z1": np.ones(3), "steps": 4}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        latent.interpolate(**args)
    with pytest.raises(ConfigError, match="undefined"):
        latent.interpolate(np.ones(3), None, 4, method="slerp", through_origin=True)


def test_midpoint_kl_matches_continuous_values_and_the_solver():
    # Continuous values: uniform 1 - ln 2, normal (1 - ln 2) / 2 (the discretisation adds ~1e-4).
    uniform = latent.midpoint_kl(priors.get("uniform", 3), bins=4096, domain=(-1.0, 1.0))
    assert abs(uniform - (1 - math.log(2))) < 2e-3
    normal = latent.midpoint_kl("normal", bins=8192, domain=(-9.0, 9.0))
    assert abs(normal - (1 - math.log(2)) / 2) < 1e-3
    # Cauchy is stable (mid-point law = prior law): only the truncation leaves a small KL.
    assert latent.midpoint_kl("cauchy") < 0.01
    # The non-parametric prior on its own grid: exactly the paper's objective.
    from zoo.priors.midpoint import midpoint_kl as grid_kl

    layer = priors.LatentPrior("nonparametric", 4)
    assert latent.midpoint_kl(layer) == pytest.approx(grid_kl(priors.default_probs()), rel=1e-9)
    assert latent.midpoint_kl(layer) < 0.0075


def test_coordinate_grid_and_bad_inputs():
    masses, domain = latent.coordinate_grid("normal")
    assert masses.size == 1024 and masses.sum() == pytest.approx(1.0)
    assert domain[1] == pytest.approx(3.2905, abs=1e-3)  # the central 99.9%
    with pytest.raises(ConfigError, match="bins"):
        latent.midpoint_kl("normal", bins=1)
    with pytest.raises(ConfigError, match="low < high"):
        latent.midpoint_kl("normal", domain=(1.0, -1.0))
    with pytest.raises(ConfigError, match="no mass"):
        latent.midpoint_kl("uniform", domain=(5.0, 6.0))
    with pytest.raises(ConfigError, match="tail"):
        latent.midpoint_kl("normal", tail=1.5)
    with pytest.raises(ConfigError, match="a name"):
        latent.midpoint_kl(42)


def test_midpoint_norm_distance():
    # Cauchy is stable: mid-points have the prior's law in every dimension.
    assert latent.midpoint_norm_distance("cauchy", 50, samples=4000) < 0.04
    # A Gaussian's mid-points shrink by 1/sqrt(2): in 100-D the norm laws barely overlap.
    assert latent.midpoint_norm_distance(priors.Normal(latent_dim=100), samples=4000) > 0.9
    with pytest.raises(ConfigError, match="latent_dim"):
        latent.midpoint_norm_distance("normal")
    with pytest.raises(ConfigError, match="event size 8"):
        latent.midpoint_norm_distance(priors.Normal(latent_dim=8), latent_dim=9)
    with pytest.raises(ConfigError, match="samples"):
        latent.midpoint_norm_distance("normal", 4, samples=2)


def test_midpoint_projection_distance():
    from scipy import optimize, stats

    # Normal: <w, z> ~ N(0, 1) against N(0, 1/2) for mid-points; KS = max_x Phi(sqrt(2) x) - Phi(x).
    gap = optimize.minimize_scalar(lambda x: stats.norm.cdf(x) - stats.norm.cdf(np.sqrt(2) * x), bounds=(0, 3),
                                   method="bounded")
    measured = latent.midpoint_projection_distance("normal", 20, directions=8, samples=8000, seed=(0, 1))
    assert measured == pytest.approx(-gap.fun, abs=0.02)
    assert latent.midpoint_projection_distance("cauchy", 20, directions=8, samples=8000) < 0.03
    # The non-parametric prior's 1-D match survives a projection of few coordinates, fades with many.
    small = latent.midpoint_projection_distance("nonparametric", 8, directions=8, samples=8000)
    large = latent.midpoint_projection_distance("nonparametric", 200, directions=8, samples=8000)
    assert small < 0.5 * measured and small < large
    with pytest.raises(ConfigError, match="directions"):
        latent.midpoint_projection_distance("normal", 4, directions=0)
