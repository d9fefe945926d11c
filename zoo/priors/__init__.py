"""Latent priors as TFP distributions, the non-parametric prior solver, and the Keras holder.

>>> from zoo import priors
>>> prior = priors.get("nonparametric", latent_dim=100)        # the shipped, solved prior
>>> z = prior.sample(64, seed=(0, 1))                          # float32 [64, 100]
>>> layer = priors.as_layer("cauchy", latent_dim=100)          # what models own and save

Modules: :mod:`~zoo.priors.distributions` (uniform, normal, cauchy, gamma),
:mod:`~zoo.priors.nonparametric`, :mod:`~zoo.priors.midpoint` (R_mu, KL, variance on a grid),
:mod:`~zoo.priors.solver`, :mod:`~zoo.priors.layer` (``LatentPrior``),
:mod:`~zoo.priors.registry` (``get``, ``names``, ``register_prior``, ``as_layer``), :mod:`~zoo.priors.kl` (closed-form
``tfd.kl_divergence`` between priors of one family).
"""

from zoo.priors import kl  # noqa: F401  (registers the closed-form KL divergences with TFP)
from zoo.priors.distributions import Cauchy, Gamma, LatentDistribution, Normal, Uniform
from zoo.priors.layer import LatentPrior
from zoo.priors.nonparametric import Histogram, NonParametric, default_probs
from zoo.priors.registry import as_layer, get, names, register_prior
from zoo.priors.seeds import as_seed

__all__ = [
    "Cauchy",
    "Gamma",
    "Histogram",
    "LatentDistribution",
    "LatentPrior",
    "NonParametric",
    "Normal",
    "Uniform",
    "as_layer",
    "as_seed",
    "default_probs",
    "get",
    "names",
    "register_prior",
    "solve_nonparametric",
]


def __getattr__(name):
    # Imported on first use so that `python -m zoo.priors.solver` does not find its own module
    # half-imported by this package.
    if name == "solve_nonparametric":
        from zoo.priors.solver import solve_nonparametric

        return solve_nonparametric
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
