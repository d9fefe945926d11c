"""The parametric latent priors as TFP distributions with event shape ``[latent_dim]``.

* :class:`Uniform`, :class:`Normal`, :class:`Cauchy`: i.i.d. per coordinate (the 1-D law is
  ``.marginal``, a scalar TFP distribution with ``prob``, ``cdf``, ``quantile``, ...).
* :class:`Gamma` (Kilcher, Lucchi & Hofmann 2018): a radial law, ``z = sqrt(r) * u`` with the squared
  norm ``r ~ Gamma(concentration, scale)`` and ``u`` uniform on the unit sphere.

Every prior also exposes ``kind`` (its registry name), ``prior_params`` (JSON-able constructor
arguments without ``latent_dim``) and ``coordinate_cdf(x)`` (float64 NumPy CDF of one coordinate,
used by the mid-point diagnostics in :mod:`zoo.latent`).

They are ordinary TFP citizens: ``sample(n, seed)`` takes a stateless seed (int32 ``[2]``, a pair,
or an int ``s`` meaning ``(0, s)``) and draws fresh values for ``seed=None``; ``mode()``,
``experimental_default_event_space_bijector()``, ``copy()`` and ``tf.function`` arguments
(``CompositeTensor``) work, and ``tfd.kl_divergence`` has the closed forms between priors of one
family (see :mod:`zoo.priors.kl`). Log-density gradients are zeros where the density is flat.

``sample_rows(seeds)`` draws one row per seed (row ``i`` equals ``sample(1, seed=seeds[i])[0]`` bit for
bit). Priors whose draws are a function of uniform 32-bit words (:class:`Uniform`, the
non-parametric prior: ``from_words``) compute all rows at once from
:func:`zoo.priors.streams.row_words`; the others (normal, Cauchy, gamma: their samplers'
transcendental maths lives inside TensorFlow's kernels and cannot be replayed bit for bit with
element-wise ops) loop over the rows.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from zoo._tf import tf, tfp
from tensorflow_probability.python.internal.parameter_properties import BIJECTOR_NOT_IMPLEMENTED

from zoo.errors import ConfigError
from zoo.priors import streams
from zoo.priors.seeds import as_row_seeds, fresh_or_seed

tfd = tfp.distributions
tfb = tfp.bijectors
ParameterProperties = tfp.util.ParameterProperties


def _positive(dtype):
    return lambda: tfb.Softplus(low=tf.constant(np.finfo(np.float32).eps, dtype))


def flat_gradient_link(x):
    """0 with a zero gradient for ``x [..., k] -> [...]``, added to piecewise-constant log densities.

    Their value does not depend on ``x`` through any differentiable op, so without it
    ``tape.gradient(log_prob(x), x)`` is None instead of the zeros it mathematically is.
    """
    return tf.reduce_sum(tf.where(tf.math.is_finite(x), x, tf.zeros_like(x)) * 0.0, axis=-1)


class StatelessSampling:
    """``sample(shape, seed)`` with the project's seed convention (a mixin for TFP distributions).

    TFP treats an int seed as a *stateful* op seed; here an int ``s`` means the stateless ``(0, s)``
    (``zoo.priors.as_seed``), and ``seed=None`` draws a fresh stateless seed, so every sampler below
    only ever sees int32 ``[2]`` seeds.
    """

    def sample(self, sample_shape=(), seed=None, name="sample", **kwargs):
        return super().sample(sample_shape, seed=fresh_or_seed(seed), name=name, **kwargs)

def check_latent_dim(latent_dim) -> int:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) or latent_dim < 1:
        raise ConfigError(f"latent_dim must be a positive int, got {latent_dim!r}")
    return int(latent_dim)


def _check_finite(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name} must be a number, got {value!r}") from error
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    return value


def _check_positive(name: str, value) -> float:
    value = _check_finite(name, value)
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


class LatentDistribution(StatelessSampling, tfd.distribution.AutoCompositeTensorDistribution):
    """Base of the priors: no batch shape, float32 event ``[latent_dim]``, stateless sampling.

    Parameters are Python numbers (part of the ``CompositeTensor`` type spec: equal priors share
    one ``tf.function`` trace) or, for the non-parametric prior, tensors (its components).
    """

    kind: str = ""

    def __init__(self, latent_dim, parameters, name, reparameterized=True):
        self._latent_dim = check_latent_dim(latent_dim)
        super().__init__(
            dtype=tf.float32,
            reparameterization_type=(
                tfd.FULLY_REPARAMETERIZED if reparameterized else tfd.NOT_REPARAMETERIZED
            ),
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    @property
    def latent_dim(self) -> int:
        return self._latent_dim

    @property
    def prior_params(self) -> dict:
        """Constructor arguments other than ``latent_dim``, as plain Python values."""
        raise NotImplementedError

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # Overridden by every prior with its own scalar (or per-bin) parameters.
        return {}

    def _batch_shape(self):
        return tf.TensorShape([])

    def _batch_shape_tensor(self):
        return tf.constant([], dtype=tf.int32)

    def _event_shape(self):
        return tf.TensorShape([self._latent_dim])

    def _event_shape_tensor(self):
        return tf.constant([self._latent_dim], dtype=tf.int32)

    def coordinate_cdf(self, x) -> np.ndarray:
        """CDF of one coordinate at ``x`` (float64 NumPy, any shape)."""
        raise NotImplementedError

    def _event(self, x):
        """``x [..., k]`` broadcast against the event shape ``[latent_dim]``, as TFP's distributions do.

        ``k`` must be ``latent_dim`` or 1 (a scalar counts as ``k = 1``). A size known while tracing
        that does not broadcast raises ``ConfigError`` (a ``ValueError``, as TFP raises for static
        shapes); one known only at run time fails there with TensorFlow's "Incompatible shapes",
        exactly like ``tfd.Independent`` / ``tfd.MultivariateNormalDiag``.
        """
        size = x.shape[-1] if x.shape.rank else 1 if x.shape.rank == 0 else None
        if size == self._latent_dim:
            return x
        if size not in (None, 1):
            raise ConfigError(
                f"Incompatible shapes: latents of shape {x.shape.as_list()} vs. the event shape [{self._latent_dim}] "
                f"of this prior (latent_dim={self._latent_dim}); pass latents whose last axis has {self._latent_dim} "
                "values."
            )
        return x + tf.zeros([self._latent_dim], x.dtype)

    #: True when ``sample`` equals ``from_words`` of the native words: one uint32 word per value,
    #: ``[n, latent_dim]``.
    draws_from_words = False

    def from_words(self, words):
        raise NotImplementedError(f"{type(self).__name__} is not drawn from uniform words")

    def sample_rows(self, seeds):
        """One draw per seed: int32 ``[B, 2]`` -> float32 ``[B, latent_dim]``.

        Row ``i`` equals ``sample(1, seed=seeds[i])[0]`` (graph and eager mode), whatever the batch.
        Core TF ops only; works under ``tf.function`` with an input signature ``[None, 2]``.
        """
        seeds = as_row_seeds(seeds)
        if self.draws_from_words:
            return self.from_words(streams.row_words(seeds, self._latent_dim))
        return tf.map_fn(
            lambda seed: self.sample(1, seed=seed)[0],
            seeds,
            fn_output_signature=tf.TensorSpec([self._latent_dim], tf.float32),
        )

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.prior_params.items() if k != "probs")
        return f"<zoo.priors.{type(self).__name__} latent_dim={self._latent_dim} {params}>"


class IIDPrior(LatentDistribution):
    """``latent_dim`` independent copies of the scalar distribution ``marginal``."""

    def __init__(self, marginal, latent_dim, parameters, name, reparameterized=True):
        self._marginal = marginal
        super().__init__(latent_dim, parameters, name, reparameterized)

    @property
    def marginal(self):
        """The 1-D law of every coordinate (scalar event, no batch shape)."""
        return self._marginal

    @property
    def draws_from_words(self):
        return hasattr(self._marginal, "from_words")

    def from_words(self, words):
        return self._marginal.from_words(words)

    def _sample_n(self, n, seed=None):
        return self._marginal.sample([n, self._latent_dim], seed=seed)

    def _broadcast(self, value):
        return tf.broadcast_to(tf.cast(value, tf.float32), [self._latent_dim])

    def _mean(self):
        return self._broadcast(self._marginal.mean())

    def _variance(self):
        return self._broadcast(self._marginal.variance())

    def _stddev(self):
        return tf.sqrt(self._variance())

    def _entropy(self):
        return self._latent_dim * self._marginal.entropy()

    def _mode(self):
        return self._broadcast(self._marginal.mode())

    def _log_prob(self, x):
        x = self._event(x)
        return tf.reduce_sum(self._marginal.log_prob(x), axis=-1) + flat_gradient_link(x)


class Uniform(IIDPrior):
    """i.i.d. ``U(low, high)`` per coordinate; default ``[-1, 1]`` (DCGAN's prior)."""

    kind = "uniform"

    def __init__(self, low=-1.0, high=1.0, latent_dim=100, name="Uniform"):
        parameters = dict(locals())
        self._low, self._high = _check_finite("low", low), _check_finite("high", high)
        if not self._low < self._high:
            raise ConfigError(f"uniform prior needs low < high, got low={low}, high={high}")
        marginal = tfd.Uniform(low=tf.constant(self._low, tf.float32), high=tf.constant(self._high, tf.float32))
        super().__init__(marginal, latent_dim, parameters, name)

    @property
    def prior_params(self):
        return {"low": self._low, "high": self._high}

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        # As tfd.Uniform: high's constraint depends on low, which has no standalone bijector.
        return {"low": ParameterProperties(),
                "high": ParameterProperties(default_constraining_bijector_fn=BIJECTOR_NOT_IMPLEMENTED)}

    draws_from_words = True

    def from_words(self, words):
        # tf.random.stateless_uniform's float from a word (its low 23 bits as the mantissa of [1, 2),
        # minus 1), then tfd.Uniform's low + range * u: the stream of tfd.Uniform, bit for bit.
        mantissa = tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(words, 0x7FFFFF), 0x3F800000)
        unit = tf.bitcast(mantissa, tf.float32) - 1.0
        return self._marginal.low + (self._marginal.high - self._marginal.low) * unit

    def coordinate_cdf(self, x):
        return np.clip((np.asarray(x, np.float64) - self._low) / (self._high - self._low), 0.0, 1.0)

    def _mode(self):
        # Every point of the support is a mode; the centre is the canonical one.
        return self._broadcast(0.5 * (self._low + self._high))

    def _default_event_space_bijector(self):
        return tfb.Sigmoid(low=tf.constant(self._low, tf.float32), high=tf.constant(self._high, tf.float32))


class Normal(IIDPrior):
    """i.i.d. ``N(loc, scale^2)`` per coordinate; default standard normal."""

    kind = "normal"

    def __init__(self, loc=0.0, scale=1.0, latent_dim=100, name="Normal"):
        parameters = dict(locals())
        self._loc, self._scale = _check_finite("loc", loc), _check_positive("scale", scale)
        marginal = tfd.Normal(loc=tf.constant(self._loc, tf.float32), scale=tf.constant(self._scale, tf.float32))
        super().__init__(marginal, latent_dim, parameters, name)

    @property
    def prior_params(self):
        return {"loc": self._loc, "scale": self._scale}

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"loc": ParameterProperties(), "scale": ParameterProperties(default_constraining_bijector_fn=_positive(dtype))}

    def coordinate_cdf(self, x):
        return special.ndtr((np.asarray(x, np.float64) - self._loc) / self._scale)

    def _default_event_space_bijector(self):
        return tfb.Identity()


class Cauchy(IIDPrior):
    """i.i.d. Cauchy per coordinate (Lesniak et al. 2019); default standard (loc 0, scale 1).

    The Cauchy law is stable: ``mu X1 + (1 - mu) X2`` has the same law for every ``mu``, so every
    point of a linear interpolation is in-distribution (at the price of no finite mean or variance;
    ``mean``/``variance`` are NaN).
    """

    kind = "cauchy"

    def __init__(self, loc=0.0, scale=1.0, latent_dim=100, name="Cauchy"):
        parameters = dict(locals())
        self._loc, self._scale = _check_finite("loc", loc), _check_positive("scale", scale)
        marginal = tfd.Cauchy(loc=tf.constant(self._loc, tf.float32), scale=tf.constant(self._scale, tf.float32))
        super().__init__(marginal, latent_dim, parameters, name)

    @property
    def prior_params(self):
        return {"loc": self._loc, "scale": self._scale}

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"loc": ParameterProperties(), "scale": ParameterProperties(default_constraining_bijector_fn=_positive(dtype))}

    def coordinate_cdf(self, x):
        return 0.5 + np.arctan((np.asarray(x, np.float64) - self._loc) / self._scale) / np.pi

    def _default_event_space_bijector(self):
        return tfb.Identity()


class Gamma(LatentDistribution):
    """Kilcher et al.'s radial prior: ``z = sqrt(r) u``, ``r = ||z||^2 ~ Gamma(concentration, scale)``.

    ``u`` is uniform on the unit sphere of ``R^latent_dim``. The density is
    ``log p(z) = log Gamma_pdf(||z||^2) + log 2 - (d - 2) log ||z|| - log S_{d-1}`` with
    ``S_{d-1} = 2 pi^(d/2) / Gamma(d/2)``.

    Defaults: ``concentration = 0.5`` as in Kilcher et al. and the third-party code the paper's
    comparison used: it makes ``||z||`` half-normal, so the norm density peaks at the origin and
    interpolation mid-points (which have smaller norms) stay in high-density regions.
    ``scale = 2 * latent_dim`` (``scale=None``) rather than the third-party ``1.0``: then
    ``E[z_i^2] = concentration * scale / d = 1`` for every ``latent_dim``, the per-coordinate second
    moment of ``N(0, I)``, whereas ``scale = 1`` shrinks each coordinate to variance ``1 / (2d)``
    (0.07 standard deviation at ``d = 100``), far from the input scale generators are built for.
    Pass ``scale=1.0`` to reproduce the third-party setting exactly.
    """

    kind = "gamma"

    def __init__(self, concentration=0.5, scale=None, latent_dim=100, name="Gamma"):
        parameters = dict(locals())
        latent_dim = check_latent_dim(latent_dim)
        self._concentration = _check_positive("concentration", concentration)
        self._scale = 2.0 * latent_dim if scale is None else _check_positive("scale", scale)
        self._scale_is_default = scale is None
        self._radius2 = tfd.Gamma(
            concentration=tf.constant(self._concentration, tf.float32),
            rate=tf.constant(1.0 / self._scale, tf.float32),
        )
        super().__init__(latent_dim, parameters, name, reparameterized=False)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {
            "concentration": ParameterProperties(default_constraining_bijector_fn=_positive(dtype)),
            "scale": ParameterProperties(default_constraining_bijector_fn=_positive(dtype)),
        }

    @property
    def radius2(self):
        """The law of the squared norm ``||z||^2``: ``tfd.Gamma(concentration, rate=1 / scale)``."""
        return self._radius2

    @property
    def concentration(self) -> float:
        return self._concentration

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def prior_params(self):
        return {"concentration": self._concentration, "scale": None if self._scale_is_default else self._scale}

    def _sample_n(self, n, seed=None):
        direction_seed, radius_seed = tfp.random.split_seed(seed, n=2, salt="zoo.priors.Gamma")
        gaussian = tf.random.stateless_normal([n, self._latent_dim], seed=direction_seed)
        direction = tf.math.l2_normalize(gaussian, axis=-1)
        radius2 = self._radius2.sample([n], seed=radius_seed)
        return tf.sqrt(radius2)[:, None] * direction

    def _log_prob(self, x):
        x = self._event(x)
        d = float(self._latent_dim)
        radius2 = tf.reduce_sum(tf.square(x), axis=-1)
        log_sphere = math.log(2.0) + 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d)
        return (
            self._radius2.log_prob(radius2) + math.log(2.0) - 0.5 * (d - 2.0) * tf.math.log(radius2) - log_sphere
        )

    def _mean(self):
        return tf.zeros([self._latent_dim], tf.float32)

    def _mode(self):
        # p(z) is proportional to r^(concentration - d/2) exp(-r / scale) in r = ||z||^2: largest at
        # the origin while concentration <= d/2, otherwise on a whole sphere (no single mode).
        if self._concentration <= 0.5 * self._latent_dim:
            return tf.zeros([self._latent_dim], tf.float32)
        return tf.fill([self._latent_dim], tf.constant(float("nan"), tf.float32))

    def _default_event_space_bijector(self):
        return tfb.Identity()

    def _variance(self):
        value = self._concentration * self._scale / self._latent_dim
        return tf.fill([self._latent_dim], tf.constant(value, tf.float32))

    def coordinate_cdf(self, x):
        """CDF of ``z_1`` by Gauss-Jacobi quadrature over ``u_1^2 ~ Beta(1/2, (d - 1)/2)``.

        ``z_1^2 = r u_1^2`` with ``r`` and ``u_1^2`` independent, so
        ``P(|z_1| <= t) = E_B[GammaCDF(t^2 / B)]``; the law is symmetric about 0.
        """
        x = np.asarray(x, np.float64)
        d = self._latent_dim
        if d == 1:
            abs_cdf = special.gammainc(self._concentration, np.square(x) / self._scale)
        else:
            # B = (1 + s) / 2, s in [-1, 1] with Jacobi weight (1 - s)^((d - 3)/2) (1 + s)^(-1/2).
            nodes, weights = special.roots_jacobi(64, (d - 3) / 2.0, -0.5)
            weights = weights / weights.sum()
            b = (1.0 + nodes) / 2.0
            t2 = np.square(x)[..., None] / (b * self._scale)
            abs_cdf = special.gammainc(self._concentration, t2) @ weights
        return 0.5 + 0.5 * np.sign(x) * abs_cdf
