"""Closed-form ``tfd.kl_divergence`` between priors of one family, registered with TFP.

* i.i.d. priors (uniform, normal, cauchy, nonparametric) with the same ``latent_dim``:
  ``latent_dim * KL(marginal_a || marginal_b)``, whenever TFP (or this module) knows the marginal KL.
* :class:`~zoo.priors.Histogram` vs ``Histogram`` on one grid (same ``bins``, ``low``, ``high``):
  ``sum_k p_k log(p_k / q_k)`` in float64 over the bins with ``p_k > 0`` (``inf`` when some
  ``q_k = 0`` there); the bin width cancels.
* :class:`~zoo.priors.Gamma` vs ``Gamma`` with the same ``latent_dim``: both share the uniform
  direction, so the KL is that of the squared-norm laws, ``KL(Gamma(a1, s1) || Gamma(a2, s2))``.

Other pairs raise TFP's ``NotImplementedError``; mismatched event sizes or grids raise ``ConfigError``.
"""

from __future__ import annotations

from zoo._tf import tf, tfp
from zoo.errors import ConfigError
from zoo.priors.distributions import Gamma, IIDPrior, LatentDistribution
from zoo.priors.nonparametric import Histogram

tfd = tfp.distributions


def _check_same_size(a: LatentDistribution, b: LatentDistribution):
    if a.latent_dim != b.latent_dim:
        raise ConfigError(
            f"KL divergence needs priors of one event size, got latent_dim {a.latent_dim} and {b.latent_dim}."
        )


@tfd.RegisterKL(IIDPrior, IIDPrior)
def _kl_iid(a, b, name=None):
    _check_same_size(a, b)
    return a.latent_dim * tfd.kl_divergence(a.marginal, b.marginal)


@tfd.RegisterKL(Gamma, Gamma)
def _kl_gamma(a, b, name=None):
    _check_same_size(a, b)
    return tfd.kl_divergence(a.radius2, b.radius2)


@tfd.RegisterKL(Histogram, Histogram)
def _kl_histogram(a, b, name=None):
    if (a.bins, a.low, a.high) != (b.bins, b.low, b.high):
        raise ConfigError(
            f"KL divergence between histograms needs one grid; got {a.bins} bins on [{a.low}, {a.high}] and "
            f"{b.bins} bins on [{b.low}, {b.high}]. Re-bin one of them (zoo.priors.midpoint.as_pmf) first."
        )
    p = tf.cast(tf.convert_to_tensor(a.probs), tf.float64)
    q = tf.cast(tf.convert_to_tensor(b.probs), tf.float64)
    p, q = p / tf.reduce_sum(p), q / tf.reduce_sum(q)
    terms = tf.where(p > 0, p * (tf.math.log(tf.where(p > 0, p, 1.0)) - tf.math.log(q)), tf.zeros_like(p))
    return tf.cast(tf.reduce_sum(terms), tf.float32)
