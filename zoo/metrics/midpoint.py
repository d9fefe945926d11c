"""The NP paper's mid-point protocol (Singh et al. 2019, its IS/FID table at prior vs mid-points).

Every metric is measured twice: on samples decoded from prior draws z ~ p(z) ("prior"), and on
samples decoded from mid-points of linear interpolations z_mid = (1 - mu) z_a + mu z_b with
mu = 1/2 between independent prior pairs ("mid-point"). The ratio mid-point / prior shows how much
the space between prior samples degrades: the paper's Uniform and Normal priors lose about 1.7x in
FID at mid-points, its non-parametric prior about 1.1x.

The three draws (prior, z_a, z_b) use independent stateless seeds split from the one given, so the
prior set and the mid-point set are statistically independent and exactly reproducible.
"""

from __future__ import annotations

import math

import numpy as np

MU = 0.5


def prior_and_midpoint_latents(prior, n: int, seed, mu: float = MU, method: str = "linear"):
    """``(z_prior, z_mid)``, each float32 ``[n, latent_dim]``, from a ``LatentPrior`` and a stateless seed.

    ``method="matched"`` moves the mid-points back onto the prior (``zoo.latent.interpolate``'s
    matched path, i.i.d. priors only); the draws, and so ``z_prior``, do not depend on ``method``.
    """
    from zoo._tf import tf
    from zoo.errors import ConfigError
    from zoo.priors.seeds import as_seed

    if method not in ("linear", "matched"):
        raise ConfigError(f"unknown mid-point method {method!r}; choose linear or matched")
    seed_prior, seed_a, seed_b = tf.unstack(tf.random.experimental.stateless_split(as_seed(seed), 3))
    z_prior = prior.sample(n, seed_prior)
    z_a, z_b = prior.sample(n, seed_a), prior.sample(n, seed_b)
    z_mid = (1.0 - mu) * z_a + mu * z_b
    if method == "matched":
        from zoo.priors.transport import MatchedPath

        z_mid = MatchedPath(prior, [mu])(np.asarray(z_mid, np.float64)[:, None, :])[:, 0, :]
    return np.asarray(z_prior, np.float32), np.asarray(z_mid, np.float32)


def ratio(prior_value: float, midpoint_value: float) -> float | None:
    """``midpoint / prior``; ``None`` when the prior value is 0 or not finite (no meaningful ratio)."""
    if prior_value == 0 or not math.isfinite(prior_value):
        return None
    return float(midpoint_value) / float(prior_value)


def combine(prior_values: dict, midpoint_values: dict | None) -> dict:
    """``{name: {"prior": p}}`` or, with mid-point values, ``{name: {"prior", "midpoint", "ratio"}}``."""
    combined = {}
    for name, value in prior_values.items():
        entry = {"prior": float(value)}
        if midpoint_values is not None:
            entry["midpoint"] = float(midpoint_values[name])
            entry["ratio"] = ratio(entry["prior"], entry["midpoint"])
        combined[name] = entry
    return combined
