"""Walking the latent space: interpolation paths and mid-point diagnostics for priors.

* :func:`interpolate`: linear or spherical paths between codes, paths through the origin
  (``z -> -z``, as Singh et al. show them) and extrapolation past the end points.
* :func:`midpoint_kl`: the 1-D discretised KL(P || R_0.5) of a prior's coordinate law on a grid
  (the quantity the non-parametric prior minimises).
* :func:`midpoint_norm_distance`: in ``latent_dim`` dimensions, how far the law of ``||z||`` for
  prior samples is from that of ``||(z_a + z_b) / 2||`` for mid-points of independent pairs
  (two-sample Kolmogorov-Smirnov statistic in [0, 1]: 0 = same law; scale-free, so priors of
  different spread compare directly).
* :func:`midpoint_projection_distance`: the same comparison for random 1-D projections
  ``<w, z>``, which is what a generator's dense first layer sees.

NumPy in, NumPy out (float32 paths, float64 statistics).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from zoo.errors import ConfigError

METHODS = ("linear", "slerp")


def interpolate(z0, z1, steps, method="linear", through_origin=False, extrapolate=0.0) -> np.ndarray:
    """Points along a path from ``z0`` to ``z1``.

    Args:
        z0, z1: codes of equal shape ``[..., D]`` (one pair or a batch of pairs).
        steps: number of points (>= 2), evenly spaced in the path parameter ``t``.
        method: ``"linear"``: ``(1 - t) z0 + t z1`` (the straight line along which the
            non-parametric prior is matched); ``"slerp"``: the great-circle formula
            ``sin((1 - t) W) / sin W z0 + sin(t W) / sin W z1`` with ``W`` the angle between the codes
            (White 2016; falls back to linear for parallel codes).
        through_origin: end at ``-z0`` (pass ``z1=None``): the paper's paths through the origin,
            which probe the low-norm region that linear mid-points of symmetric priors crowd into.
        extrapolate: extend ``t`` to ``[-extrapolate, 1 + extrapolate]`` (>= 0).

    Returns:
        float32 ``[..., steps, D]``; ``t = 0`` and ``t = 1`` give ``z0`` and ``z1`` when
        ``extrapolate = 0``.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown interpolation method {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    try:
        extrapolate = float(extrapolate)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"extrapolate must be a number >= 0, got {extrapolate!r}") from error
    if not (math.isfinite(extrapolate) and extrapolate >= 0):
        raise ConfigError(f"extrapolate must be a finite number >= 0, got {extrapolate}")
    z0 = _as_codes("z0", z0)
    if through_origin:
        if z1 is not None:
            raise ConfigError("through_origin=True ends the path at -z0; pass z1=None")
        if method == "slerp":
            raise ConfigError("a slerp from z to -z is undefined (every great circle joins them); use method='linear'")
        z1 = -z0
    elif z1 is None:
        raise ConfigError("z1 is required unless through_origin=True")
    z1 = _as_codes("z1", z1)
    if z0.shape != z1.shape:
        raise ConfigError(f"z0 and z1 must have the same shape, got {z0.shape} and {z1.shape}")
    t = np.linspace(-extrapolate, 1.0 + extrapolate, int(steps))
    a, b = z0[..., None, :], z1[..., None, :]
    t_col = t[:, None]
    if method == "linear":
        return ((1.0 - t_col) * a + t_col * b).astype(np.float32)
    norms = np.linalg.norm(z0, axis=-1) * np.linalg.norm(z1, axis=-1)
    if np.any(norms == 0):
        raise ConfigError("slerp needs non-zero codes (the angle to the zero vector is undefined)")
    cosine = np.clip(np.sum(z0 * z1, axis=-1) / norms, -1.0, 1.0)
    angle = np.arccos(cosine)[..., None, None]
    if np.any(np.pi - angle < 1e-6):
        raise ConfigError("slerp between opposite codes is undefined; use method='linear'")
    sin = np.sin(angle)
    parallel = sin < 1e-6
    safe = np.where(parallel, 1.0, sin)
    spherical = (np.sin((1.0 - t_col) * angle) * a + np.sin(t_col * angle) * b) / safe
    linear = (1.0 - t_col) * a + t_col * b
    return np.where(parallel, linear, spherical).astype(np.float32)


def _as_codes(name, z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim < 1 or z.shape[-1] < 1:
        raise ConfigError(f"{name} must have shape [..., latent_dim], got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ConfigError(f"{name} holds NaN or infinite values")
    return z


def _distribution(prior, latent_dim):
    from zoo import priors

    if isinstance(prior, priors.LatentPrior):
        return priors.as_layer(prior, latent_dim if latent_dim is not None else prior.latent_dim).distribution()
    if isinstance(prior, priors.LatentDistribution):
        if latent_dim is not None and prior.latent_dim != latent_dim:
            raise ConfigError(f"the prior has event size {prior.latent_dim}, not latent_dim={latent_dim}")
        return prior
    if isinstance(prior, str):
        return priors.get(prior, 1 if latent_dim is None else latent_dim)
    raise ConfigError(
        f"prior must be a name ({', '.join(priors.names())}), a LatentPrior or a zoo.priors distribution, "
        f"got {type(prior).__name__}"
    )


def _coordinate_quantile(distribution, q: float) -> float:
    """Invert the (continuous, increasing) coordinate CDF by bracketing and Brent's method."""
    cdf = distribution.coordinate_cdf
    low, high = -1.0, 1.0
    while cdf(low) > q:
        low *= 2.0
    while cdf(high) < q:
        high *= 2.0
    return float(optimize.brentq(lambda x: float(cdf(x)) - q, low, high, xtol=1e-12, rtol=1e-12))


def coordinate_grid(prior, bins=None, domain=None, tail=1e-3):
    """Bin masses of one coordinate on a grid: ``(probs float64 [bins], (low, high))``.

    The non-parametric prior uses its own grid by default (so this reproduces the solver's KL).
    Others use ``bins = 1024`` over the central ``1 - tail`` interval ``[q(tail/2), q(1 - tail/2)]``
    of the coordinate law: unbounded laws are truncated there and the masses renormalised (for the
    Cauchy the default ``tail = 1e-3`` gives ``[-636.6, 636.6]``, bins 1.24 wide).
    """
    from zoo.priors import NonParametric

    distribution = _distribution(prior, None)
    own_grid = isinstance(distribution, NonParametric)
    if bins is None:
        bins = distribution.marginal.bins if own_grid else 1024
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ConfigError(f"bins must be an integer >= 2, got {bins!r}")
    if domain is None:
        if own_grid:
            domain = (distribution.marginal.low, distribution.marginal.high)
        else:
            if not 0.0 < tail < 1.0:
                raise ConfigError(f"tail must lie in (0, 1), got {tail}")
            domain = (_coordinate_quantile(distribution, tail / 2), _coordinate_quantile(distribution, 1 - tail / 2))
    low, high = (float(v) for v in domain)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"domain needs finite low < high, got {domain!r}")
    if own_grid and int(bins) == distribution.marginal.bins and (low, high) == (
        distribution.marginal.low,
        distribution.marginal.high,
    ):
        # The bin masses themselves: differencing the CDF would cost tail bins ~1e-7 relative.
        masses = np.asarray(distribution.marginal.probs, np.float64)
        return masses / masses.sum(), (low, high)
    edges = np.linspace(low, high, int(bins) + 1)
    masses = np.diff(distribution.coordinate_cdf(edges))
    masses = np.maximum(masses, 0.0)
    total = masses.sum()
    if not total > 0:
        raise ConfigError(f"the prior puts no mass on the domain {domain}; choose one that covers it")
    return masses / total, (low, high)


def midpoint_kl(prior, bins=None, domain=None, tail=1e-3) -> float:
    """The 1-D discretised KL(P || R_0.5) of one coordinate (``KL_div.m``'s formula).

    ``prior``: a name, a :class:`~zoo.priors.LatentPrior` or a :mod:`zoo.priors` distribution; the
    grid is :func:`coordinate_grid`'s. Exact for i.i.d. priors (every coordinate has this law); for
    the radial Gamma prior it is the law of one coordinate (which depends on ``latent_dim``).
    """
    from zoo.priors.midpoint import midpoint_kl as grid_midpoint_kl

    masses, _ = coordinate_grid(prior, bins=bins, domain=domain, tail=tail)
    return grid_midpoint_kl(masses)


def _prior_and_midpoints(prior, latent_dim, samples, seed):
    """``(z [samples, D], mid [samples, D])`` float64: prior codes and mid-points of other pairs."""
    if isinstance(prior, str) and latent_dim is None:
        raise ConfigError("a prior given by name needs latent_dim")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 10:
        raise ConfigError(f"samples must be an integer >= 10, got {samples!r}")
    from zoo.priors import as_seed

    distribution = _distribution(prior, latent_dim)
    z = distribution.sample(3 * int(samples), seed=as_seed(seed)).numpy().astype(np.float64)
    return z[:samples], (z[samples : 2 * samples] + z[2 * samples :]) / 2.0


def midpoint_norm_distance(prior, latent_dim=None, samples=20000, seed=(0, 0)) -> float:
    """KS distance between the laws of ``||z||`` (prior samples) and ``||(z_a + z_b) / 2||``.

    Draws ``3 * samples`` independent codes in ``latent_dim`` dimensions (``prior`` as in
    :func:`midpoint_kl`; a name needs ``latent_dim``), compares the norms of the first third with
    those of the mid-points of the other two thirds, and returns the two-sample
    Kolmogorov-Smirnov statistic (sup distance between the empirical CDFs, in [0, 1]). Its
    sampling noise is about ``1.4 / sqrt(samples)`` (0.01 at 20,000).
    """
    z, mid = _prior_and_midpoints(prior, latent_dim, samples, seed)
    return float(stats.ks_2samp(np.linalg.norm(z, axis=1), np.linalg.norm(mid, axis=1)).statistic)


def midpoint_projection_distance(prior, latent_dim=None, directions=16, samples=20000, seed=(0, 0)) -> float:
    """Mean KS distance between the laws of ``<w, z>`` and ``<w, (z_a + z_b) / 2>`` over random unit ``w``.

    What a generator's dense first layer sees of the latent: each unit takes one projection. The
    non-parametric prior matches the mid-point law coordinate by coordinate, but a projection sums
    ``latent_dim`` coordinates, and the sum drifts towards a Gaussian whose mid-points have half the
    variance (for every finite-variance i.i.d. prior), so the match fades as ``latent_dim`` grows.
    Codes as in :func:`midpoint_norm_distance`; ``directions`` (>= 1) directions drawn from the
    seed. Returns a float in [0, 1]; noise about ``1.4 / sqrt(samples)`` per direction.
    """
    if isinstance(directions, bool) or not isinstance(directions, (int, np.integer)) or directions < 1:
        raise ConfigError(f"directions must be an integer >= 1, got {directions!r}")
    from zoo.priors import as_seed

    z, mid = _prior_and_midpoints(prior, latent_dim, samples, seed)
    w = np.random.default_rng(np.asarray(as_seed(seed)).astype(np.uint32)).normal(size=(z.shape[1], int(directions)))
    w /= np.linalg.norm(w, axis=0)
    prior_proj, mid_proj = z @ w, mid @ w
    return float(np.mean([stats.ks_2samp(prior_proj[:, j], mid_proj[:, j]).statistic for j in range(w.shape[1])]))
