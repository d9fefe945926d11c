"""Walking the latent space: interpolation paths and mid-point diagnostics for priors.

* :func:`interpolate`: linear, spherical or distribution-matched paths between codes, paths
  through the origin (``z -> -z``, as Singh et al. show them) and extrapolation past the end points.
* :func:`midpoint`: the ``t = 1/2`` point of a linear or matched path.
* :func:`midpoint_kl`: the 1-D discretised KL(P || R_0.5) of a prior's coordinate law on a grid
  (the quantity the non-parametric prior minimises), or of the matched mid-point's law (~0).
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

METHODS = ("linear", "slerp", "matched")
MIDPOINT_METHODS = ("linear", "matched")


def interpolate(z0, z1, steps, method="linear", through_origin=False, extrapolate=0.0, prior=None) -> np.ndarray:
    """Points along a path from ``z0`` to ``z1``.

    Args:
        z0, z1: codes of equal shape ``[..., D]`` (one pair or a batch of pairs).
        steps: number of points (>= 2), evenly spaced in the path parameter ``t``.
        method: ``"linear"``: ``(1 - t) z0 + t z1`` (the straight line along which the
            non-parametric prior is matched); ``"slerp"``: the great-circle formula
            ``sin((1 - t) W) / sin W z0 + sin(t W) / sin W z1`` with ``W`` the angle between the codes
            (White 2016; falls back to linear for parallel codes); ``"matched"``: the linear point
            moved coordinate-wise by the optimal transport map ``F_P^{-1}(F_{R_t}(y))`` from its law
            ``R_t`` back to the prior ``P`` (Agustsson et al. 2019), so that for independent prior
            draws ``z0, z1`` every point of the path is distributed as the prior. Needs ``prior``;
            defined for the i.i.d. priors (uniform, normal, cauchy, nonparametric): exact for the
            first three (``y / sqrt((1 - t)^2 + t^2)`` for N(0, 1), a trapezoid CDF for the uniform,
            the identity for the Cauchy on ``t`` in [0, 1]); for the nonparametric prior from a fine
            1-D grid, within a Kolmogorov distance of about ``2e-3`` of the prior's law (bound
            derived in :mod:`zoo.priors.transport`; measured error far smaller).
        through_origin: end at ``-z0`` (pass ``z1=None``): the paper's paths through the origin,
            which probe the low-norm region that linear mid-points of symmetric priors crowd into.
            Not with ``"matched"`` (its map assumes independent end points).
        extrapolate: extend ``t`` to ``[-extrapolate, 1 + extrapolate]`` (>= 0).
        prior: for ``"matched"``: a prior name, a :class:`~zoo.priors.LatentPrior` or a
            :mod:`zoo.priors` distribution (e.g. ``model.prior``); the gamma prior is radial and
            raises :class:`~zoo.errors.ConfigError`.

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
    if method == "matched" and prior is None:
        raise ConfigError("method='matched' needs the prior the codes come from: pass prior=model.prior or a name")
    if method != "matched" and prior is not None:
        raise ConfigError(f"prior is used by method='matched' only; method={method!r} ignores it, so drop it")
    z0 = _as_codes("z0", z0)
    if through_origin:
        if z1 is not None:
            raise ConfigError("through_origin=True ends the path at -z0; pass z1=None")
        if method == "slerp":
            raise ConfigError("a slerp from z to -z is undefined (every great circle joins them); use method='linear'")
        if method == "matched":
            raise ConfigError(
                "a matched path maps the law of (1 - t) z0 + t z1 for independent z0, z1; z1 = -z0 is not "
                "independent of z0, so use method='linear' for paths through the origin"
            )
        z1 = -z0
    elif z1 is None:
        raise ConfigError("z1 is required unless through_origin=True")
    z1 = _as_codes("z1", z1)
    if z0.shape != z1.shape:
        raise ConfigError(f"z0 and z1 must have the same shape, got {z0.shape} and {z1.shape}")
    t = np.linspace(-extrapolate, 1.0 + extrapolate, int(steps))
    a, b = z0[..., None, :], z1[..., None, :]
    t_col = t[:, None]
    if method in ("linear", "matched"):
        path = (1.0 - t_col) * a + t_col * b
        if method == "matched":
            path = _matched_path(prior, z0.shape[-1], t)(path)
        return path.astype(np.float32)
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


def midpoint(z0, z1, method="linear", prior=None) -> np.ndarray:
    """The ``t = 1/2`` point of the path from ``z0`` to ``z1``: float32 ``[..., D]``.

    ``"linear"``: ``(z0 + z1) / 2``; ``"matched"``: that point mapped back onto ``prior`` as in
    :func:`interpolate` (for the standard normal ``(z0 + z1) / sqrt(2)``). Arguments as there.
    """
    if method not in MIDPOINT_METHODS:
        raise ConfigError(f"unknown mid-point method {method!r}; choose one of {', '.join(MIDPOINT_METHODS)}")
    return interpolate(z0, z1, 3, method=method, prior=prior)[..., 1, :]


def _matched_path(prior, latent_dim, t):
    from zoo.priors.transport import MatchedPath

    return MatchedPath(_distribution(prior, latent_dim), t)


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


def midpoint_kl(prior, bins=None, domain=None, tail=1e-3, method="linear") -> float:
    """The 1-D discretised KL(P || R) of one coordinate, R the law of the mid-point.

    ``prior``: a name, a :class:`~zoo.priors.LatentPrior` or a :mod:`zoo.priors` distribution; the
    grid is :func:`coordinate_grid`'s. ``method="linear"``: R is R_0.5 (``KL_div.m``'s formula), exact
    for i.i.d. priors (every coordinate has this law); for the radial Gamma prior it is the law of
    one coordinate (which depends on ``latent_dim``). ``method="matched"``: R is the law of the
    matched mid-point (:func:`midpoint`): the exact mid-point law of the grid's histogram
    (:func:`zoo.priors.transport.histogram_path_cdf`) pushed through the transport map (the pushed
    CDF follows the map's images of the grid edges) and binned again; for the uniform, normal and
    nonparametric priors 1e-4 or less when the map is right, whatever the linear value. The Cauchy
    map is the identity, so there both methods give the KL that truncating its tails leaves (~0.006).
    """
    from zoo.priors.midpoint import kl_divergence
    from zoo.priors.midpoint import midpoint_kl as grid_midpoint_kl
    from zoo.priors.transport import histogram_path_cdf

    if method not in MIDPOINT_METHODS:
        raise ConfigError(f"unknown mid-point method {method!r}; choose one of {', '.join(MIDPOINT_METHODS)}")
    masses, (low, high) = coordinate_grid(prior, bins=bins, domain=domain, tail=tail)
    if method == "linear":
        return grid_midpoint_kl(masses)
    nodes, cdf = histogram_path_cdf(masses, 0.5, 0.5)
    # Push 64 points per bin: the prior's density may jump tenfold between bins (the shipped
    # nonparametric prior does), which a pushed CDF known only at the bin edges would blur.
    fine = np.linspace(0.0, masses.size, 64 * masses.size + 1)  # bin units
    moved = _matched_path(prior, None, [0.5])((low + (high - low) / masses.size * fine)[:, None, None])[:, 0, 0]
    edges = np.linspace(low, high, masses.size + 1)
    matched = np.diff(np.interp(edges, moved, np.interp(fine, nodes, cdf), left=0.0, right=1.0))
    return kl_divergence(masses, np.maximum(matched, 0.0) / matched.sum())


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
