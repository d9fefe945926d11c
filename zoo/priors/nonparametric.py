"""The non-parametric prior: a piecewise-constant 1-D density, i.i.d. per latent coordinate.

:class:`Histogram` is the 1-D law: ``N = len(probs)`` equal bins over ``[low, high]`` with masses
``probs``. Sampling picks a bin by weight, then a uniform position inside it (Singh et al.'s
``test.py``; unlike that script the bins tile ``[low, high]`` exactly, so the support does not spill
``4/1024`` past ``high``).

The bin is drawn in O(1) by Walker's alias method from one 64-bit random word per value: the high
32 bits times ``N`` give a column (integer part) and the position inside the bin (fractional
part), the low 32 bits are compared with the column's integer acceptance threshold, else the
column's alias is taken. Thresholds are integers on a ``2^32`` scale, so every bin keeps its
probability to ~``2^-32`` (float32 uniforms would quantise tail bins of mass ~1e-6 to ~10%), and
only core ops are used (``StatelessRandomUniformFullIntV2``, ``RightShift``, ``BitwiseAnd``,
``GatherV2``, ``SelectV2``): it compiles under XLA and runs in TF Serving. The alias tables are
built once in NumPy (:func:`alias_tables`); :class:`zoo.priors.LatentPrior` keeps them as weights
next to ``probs``. :meth:`Histogram.from_words` makes the same values from the two 32-bit halves
of each word, which :func:`zoo.priors.streams.row_words` computes for a batch of per-row seeds at
once (no loop over rows).

:class:`NonParametric` is ``latent_dim`` i.i.d. copies; :func:`default_probs` loads the paper-default
prior solved by :mod:`zoo.priors.solver` and shipped in ``zoo/priors/data``.
"""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np

from zoo._tf import tf, tfp
from zoo.errors import ConfigError, DataUnavailableError
from zoo.priors.distributions import IIDPrior, StatelessSampling, flat_gradient_link
from zoo.priors.midpoint import as_pmf

tfd = tfp.distributions
tfb = tfp.bijectors

DEFAULT_FILE = "nonparametric_default.npz"
_WORD = 2**32


@functools.lru_cache(maxsize=1)
def _default_arrays() -> dict:
    resource = importlib.resources.files("zoo.priors") / "data" / DEFAULT_FILE
    try:
        with importlib.resources.as_file(resource) as path, np.load(path) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError as error:
        raise DataUnavailableError(
            f"the shipped prior {DEFAULT_FILE} is missing; regenerate it with `python -m zoo.priors.solver --write`"
        ) from error


def default_probs() -> np.ndarray:
    """The paper-default prior's bin probabilities (float64 ``[1024]`` on ``[-2, 2]``), a fresh copy."""
    return _default_arrays()["probs"].copy()


@functools.lru_cache(maxsize=1)
def _default_alias() -> tuple[np.ndarray, np.ndarray]:
    return alias_tables(_default_arrays()["probs"])


def default_domain() -> tuple[float, float]:
    low, high = _default_arrays()["domain"]
    return float(low), float(high)


def check_domain(low, high) -> tuple[float, float]:
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"domain bounds must be numbers, got low={low!r}, high={high!r}") from error
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"the domain needs finite low < high, got low={low}, high={high}")
    return low, high


def alias_tables(probs) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables of a probability vector: ``(threshold int64 [N], alias int32 [N])``.

    Column ``k`` (drawn uniformly) keeps ``k`` when a 32-bit uniform word is below
    ``threshold[k]`` (in ``[0, 2^32]``) and returns ``alias[k]`` otherwise. Deterministic.
    """
    probs = as_pmf(probs)
    size = probs.size
    scaled = probs * (size / probs.sum())
    accept = np.ones(size)
    alias = np.arange(size, dtype=np.int32)
    small = [i for i in range(size) if scaled[i] < 1.0]
    large = [i for i in range(size) if scaled[i] >= 1.0]
    while small and large:
        low, high = small.pop(), large.pop()
        accept[low], alias[low] = scaled[low], high
        scaled[high] -= 1.0 - scaled[low]
        (small if scaled[high] < 1.0 else large).append(high)
    # Leftovers are full columns up to rounding: keep them whole.
    threshold = np.minimum(np.round(accept * _WORD), _WORD).astype(np.int64)
    return threshold, alias


def count_less_equal(sorted_values, x):
    """Number of entries of the ascending 1-D ``sorted_values`` (static length M) that are ``<= x``.

    Binary lifting with ``ceil(log2(M + 1))`` unrolled steps of gather + compare + select: O(log M)
    per element, XLA-friendly (``tf.searchsorted`` lowers to an O(M)-per-element comparison in XLA).
    Returns int32 of ``x``'s shape in ``[0, M]``.
    """
    size = sorted_values.shape[0]
    count = tf.zeros(tf.shape(x), tf.int32)
    step = 1 << (size.bit_length() - 1) if size else 0
    while step:
        candidate = count + step
        in_range = candidate <= size
        value = tf.gather(sorted_values, tf.minimum(candidate, size) - 1)
        count = tf.where(in_range & (value <= x), candidate, count)
        step >>= 1
    return count


class Histogram(StatelessSampling, tfd.distribution.AutoCompositeTensorDistribution):
    """Piecewise-constant density on ``[low, high]`` with ``len(probs)`` equal bins (scalar event).

    ``probs`` may be a NumPy array (validated) or a float tensor/variable (taken as given, e.g. the
    weights of :class:`zoo.priors.LatentPrior`); float64 keeps the exact solved values. ``alias``:
    the ``(threshold, alias)`` pair of :func:`alias_tables` for these probs, computed from them when
    omitted (which needs concrete values). Samples and densities are float32. ``probs`` and the
    alias tables are the ``CompositeTensor`` components; ``mode()`` is the centre of the heaviest bin.
    """

    def __init__(self, probs, low=-2.0, high=2.0, alias=None, name="Histogram"):
        parameters = dict(locals())
        if not (tf.is_tensor(probs) or isinstance(probs, tf.Variable)):
            probs = tf.constant(as_pmf(probs), tf.float64)
        if probs.shape.rank != 1 or probs.shape[0] is None or probs.shape[0] < 2:
            raise ConfigError(f"probs must have a static 1-D shape [bins >= 2], got {probs.shape}")
        if alias is None:
            concrete = tf.get_static_value(probs)
            if concrete is None:
                raise ConfigError(
                    "symbolic probs need their alias tables: pass alias=alias_tables(probs) computed beforehand"
                )
            alias = alias_tables(concrete)
        self._probs = probs
        self._threshold, self._alias = (tf.convert_to_tensor(table) for table in alias)
        self._low, self._high = check_domain(low, high)
        self._bins = int(probs.shape[0])
        # Rebuilt from these (tensors) when the distribution crosses a tf.function boundary.
        parameters.update(probs=probs, alias=(self._threshold, self._alias), low=self._low, high=self._high)
        super().__init__(
            dtype=tf.float32,
            reparameterization_type=tfd.NOT_REPARAMETERIZED,
            validate_args=False,
            allow_nan_stats=True,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"probs": tfp.util.ParameterProperties(event_ndims=1, is_preferred=False)}

    @property
    def probs(self):
        """Bin probabilities ``[bins]`` (as passed: float64 for NumPy input)."""
        return self._probs

    @property
    def bins(self) -> int:
        return self._bins

    @property
    def low(self) -> float:
        return self._low

    @property
    def high(self) -> float:
        return self._high

    @property
    def width(self) -> float:
        return (self._high - self._low) / self._bins

    @property
    def edges(self):
        """Bin edges, float32 ``[bins + 1]`` from ``low`` to ``high``."""
        return tf.linspace(tf.constant(self._low, tf.float32), self._high, self._bins + 1)

    def _batch_shape(self):
        return tf.TensorShape([])

    def _batch_shape_tensor(self):
        return tf.constant([], tf.int32)

    def _event_shape(self):
        return tf.TensorShape([])

    def _event_shape_tensor(self):
        return tf.constant([], tf.int32)

    def _probs64(self):
        return tf.cast(tf.convert_to_tensor(self._probs), tf.float64)

    def _cdf_before(self, probs64):
        """Mass of the bins left of each bin, float64 ``[bins]``."""
        return tf.math.cumsum(probs64, exclusive=True)

    def _bin_of(self, x):
        """Bin index of ``x`` (clipped into range) and the position inside it in [0, 1]."""
        scaled = (x - self._low) / self.width
        index = tf.clip_by_value(tf.floor(scaled), 0.0, self._bins - 1.0)
        return tf.cast(index, tf.int32), tf.clip_by_value(scaled - index, 0.0, 1.0)

    #: 32-bit words per value of :meth:`from_words`.
    words_per_value = 2

    def _sample_n(self, n, seed=None):
        word = tf.random.stateless_uniform([n], seed=seed, minval=None, maxval=None, dtype=tf.int64)
        return self._from_word64(word)

    def from_words(self, words):
        """Values from uniform uint32 ``words [..., 2]``: ``_sample_n``'s int64 word is ``w0 | w1 << 32``."""
        low, high = (tf.cast(words[..., i], tf.int64) for i in range(2))
        return self._from_word64(tf.bitwise.bitwise_or(low, tf.bitwise.left_shift(high, 32)))

    def _from_word64(self, word):
        mask = tf.constant(_WORD - 1, tf.int64)
        # High 32 bits * N: column = integer part, position in the bin = fraction (32 - log2 N bits).
        scaled = tf.bitwise.bitwise_and(tf.bitwise.right_shift(word, 32), mask) * self._bins
        column = tf.cast(tf.bitwise.right_shift(scaled, 32), tf.int32)
        position = tf.cast(tf.bitwise.bitwise_and(scaled, mask), tf.float32) * (1.0 / _WORD)
        position = tf.minimum(position, 1.0 - 2.0**-24)  # float32 rounding must not reach the next bin
        accept = tf.bitwise.bitwise_and(word, mask) < tf.gather(self._threshold, column)
        index = tf.where(accept, column, tf.gather(self._alias, column))
        return self._low + (tf.cast(index, tf.float32) + position) * self.width

    def _prob(self, x):
        index, _ = self._bin_of(x)
        density = tf.cast(tf.gather(self._probs64(), index), tf.float32) / self.width
        inside = (x >= self._low) & (x <= self._high)
        return tf.where(inside, density, tf.zeros_like(density)) + flat_gradient_link(x[..., tf.newaxis])

    def _log_prob(self, x):
        return tf.math.log(self._prob(x))

    def _mode(self):
        return tf.cast(tf.gather(self._centres64(), tf.argmax(self._probs64())), tf.float32)

    def _default_event_space_bijector(self):
        return tfb.Sigmoid(low=tf.constant(self._low, tf.float32), high=tf.constant(self._high, tf.float32))

    def _cdf(self, x):
        probs64 = self._probs64()
        index, position = self._bin_of(x)
        below = tf.gather(self._cdf_before(probs64), index)
        value = below + tf.gather(probs64, index) * tf.cast(position, tf.float64)
        return tf.cast(tf.clip_by_value(value, 0.0, 1.0), tf.float32)

    def _quantile(self, q):
        probs64 = self._probs64()
        before = self._cdf_before(probs64)
        q64 = tf.cast(q, tf.float64)
        # The bin holding q is the last one whose left cumulative mass is <= q among bins with mass.
        index = tf.maximum(count_less_equal(before[1:], q64), 0)
        mass = tf.gather(probs64, index)
        position = tf.math.divide_no_nan(q64 - tf.gather(before, index), mass)
        value = self._low + (tf.cast(index, tf.float64) + tf.clip_by_value(position, 0.0, 1.0)) * self.width
        return tf.cast(value, tf.float32)

    def _centres64(self):
        return self._low + (tf.range(self._bins, dtype=tf.float64) + 0.5) * self.width

    def _mean(self):
        return tf.cast(tf.reduce_sum(self._probs64() * self._centres64()), tf.float32)

    def _variance(self):
        probs64, centres = self._probs64(), self._centres64()
        mean = tf.reduce_sum(probs64 * centres)
        second = tf.reduce_sum(probs64 * tf.square(centres)) + self.width**2 / 12.0
        return tf.cast(second - mean * mean, tf.float32)

    def _entropy(self):
        probs64 = self._probs64()
        log_density = tf.math.log(tf.where(probs64 > 0, probs64, tf.ones_like(probs64)) / self.width)
        return tf.cast(-tf.reduce_sum(probs64 * log_density), tf.float32)


class NonParametric(IIDPrior):
    """Singh et al.'s non-parametric prior: ``latent_dim`` i.i.d. :class:`Histogram` coordinates.

    ``probs=None`` uses the shipped paper-default prior (1024 bins on ``[-2, 2]``, solved by
    :func:`zoo.priors.solve_nonparametric`); then ``low``/``high`` default to its domain.
    ``alias``: precomputed :func:`alias_tables` (needed only when ``probs`` is symbolic).
    """

    kind = "nonparametric"

    def __init__(self, probs=None, low=None, high=None, latent_dim=100, alias=None, name="NonParametric"):
        parameters = dict(locals())
        if probs is None:
            probs = default_probs()
            alias = _default_alias() if alias is None else alias
            default_low, default_high = default_domain()
        else:
            default_low, default_high = -2.0, 2.0
        low = default_low if low is None else low
        high = default_high if high is None else high
        marginal = Histogram(probs, low=low, high=high, alias=alias)
        parameters.update(marginal.parameters, latent_dim=latent_dim, name=name)
        super().__init__(marginal, latent_dim, parameters, name, reparameterized=False)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return Histogram._parameter_properties(dtype, num_classes)

    def _default_event_space_bijector(self):
        return self.marginal.experimental_default_event_space_bijector()

    @property
    def probs(self):
        return self.marginal.probs

    @property
    def edges(self):
        return self.marginal.edges

    @property
    def prior_params(self):
        probs = tf.convert_to_tensor(self.marginal.probs).numpy().astype(np.float64)
        return {"probs": probs.tolist(), "low": self.marginal.low, "high": self.marginal.high}

    def coordinate_cdf(self, x):
        probs = tf.convert_to_tensor(self.marginal.probs).numpy().astype(np.float64)
        edges = np.linspace(self.marginal.low, self.marginal.high, probs.size + 1)
        return np.interp(np.asarray(x, np.float64), edges, np.concatenate([[0.0], np.cumsum(probs)]))
