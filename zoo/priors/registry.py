"""Priors by name: ``get``, ``names``, ``register_prior`` and ``as_layer``.

The names live in :data:`zoo.registry.PRIORS`, the one list the recipe schema and the command line
read.
"""

from __future__ import annotations

from zoo.errors import ConfigError
from zoo.priors.distributions import Cauchy, Gamma, LatentDistribution, Normal, Uniform, check_latent_dim
from zoo.priors.nonparametric import NonParametric
from zoo.registry import PRIORS


def register_prior(cls, *, replace: bool = False):
    """Register a :class:`~zoo.priors.LatentDistribution` subclass under its ``kind``; returns ``cls``.

    Usable as a class decorator. The prior is then accepted by ``get``, ``LatentPrior``, model
    builders, recipes (``model.prior``) and ``zoo train --set model.prior=...``.
    """
    if not (isinstance(cls, type) and issubclass(cls, LatentDistribution)):
        raise ConfigError(f"register_prior takes a zoo.priors.LatentDistribution subclass, got {cls!r}.")
    PRIORS.register(cls.kind, cls, replace=replace)
    return cls


for _cls in (Uniform, Normal, Cauchy, Gamma, NonParametric):
    register_prior(_cls)


def names() -> list[str]:
    """The registered prior names, sorted."""
    return PRIORS.names()


def prior_class(name: str):
    """The distribution class registered as ``name`` (case-insensitive)."""
    key = str(name).strip().lower() if isinstance(name, str) else name
    if not isinstance(key, str) or key not in PRIORS:
        raise ConfigError(f"unknown prior {name!r}; choose one of {', '.join(names())}")
    return PRIORS.get(key)


def get(name: str, latent_dim: int = 100, **params) -> LatentDistribution:
    """Build the prior ``name`` with event shape ``[latent_dim]``; ``params`` go to its class.

    Uniform: ``low=-1, high=1``; Normal: ``loc=0, scale=1``; Cauchy: ``loc=0, scale=1``;
    Gamma: ``concentration=0.5, scale=2*latent_dim``; NonParametric: ``probs=<shipped>, low, high``.
    """
    cls = prior_class(name)
    check_latent_dim(latent_dim)
    try:
        return cls(latent_dim=latent_dim, **params)
    except TypeError as error:
        raise ConfigError(f"bad parameters for prior {cls.kind!r}: {error}") from error


def as_layer(prior, latent_dim: int):
    """A :class:`~zoo.priors.LatentPrior` for ``prior``: a name, a ``LatentPrior`` or a distribution.

    A ``LatentPrior`` is returned as is. Raises :class:`~zoo.errors.ConfigError` for unknown names,
    other types, or an event size different from ``latent_dim``.
    """
    from zoo.priors.layer import LatentPrior

    latent_dim = check_latent_dim(latent_dim)
    if isinstance(prior, LatentPrior):
        size = prior.latent_dim
        result = prior
    elif isinstance(prior, LatentDistribution):
        size = prior.latent_dim
        result = None
    elif isinstance(prior, str):
        return LatentPrior(kind=prior_class(prior).kind, latent_dim=latent_dim)
    else:
        raise ConfigError(
            f"a prior must be a name ({', '.join(names())}), a zoo.priors.LatentPrior or a zoo.priors "
            f"distribution, got {type(prior).__name__}"
        )
    if size != latent_dim:
        raise ConfigError(
            f"the prior has event size {size} but the model's latent_dim is {latent_dim}; make them equal"
        )
    if result is None:
        result = LatentPrior(kind=prior.kind, latent_dim=latent_dim, params=prior.prior_params)
    return result
