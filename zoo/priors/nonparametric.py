"""The non-parametric prior: a piecewise-constant 1-D density, i.i.d. per latent coordinate.

:class:`Histogram` is the 1-D law: ``N = len(probs)`` equal bins over ``[low, high]`` with masses
``probs``. Sampling picks a bin by weight, then a uniform position inside it (Singh et al.'s
``test.py``; unlike that script the bins tile ``[low, high]`` exactly, so the support does not spill
``4/1024`` past ``high``).

Sampling is the inverse-CDF method on one 32-bit random word per value, done as one table lookup and
one multiply-add: the word's low 16 bits pick one of ``2^16`` equally likely cells of ``[0, 1)``, its
high 16 bits (read as a signed number) the position inside the cell, and the cell's row of the
sampling table (:func:`sampling_table`: an offset and a slope) maps that position linearly into the
bin the cell lies in. For every cell to lie inside one bin, the sampler rounds the cumulative masses
at the bin edges to multiples of ``2^-16``: the sampled law's CDF is within ``2^-17`` (7.6e-6) of the
histogram's everywhere, a bin's sampled mass is within ``2^-16`` of ``probs`` (bins lighter than
``2^-17`` may never be drawn), and ``prob``/``cdf``/``quantile`` keep the exact ``probs``. Why not
exact: an exact sampler (Walker's alias method with two words per value) needs about fifteen
element-wise passes over memory on a CPU without XLA and ran at half ``tfd.Normal``'s speed;
this one runs faster than ``tfd.Normal`` (``python benchmarks/priors.py --tables priors``). Only core
ops are used (``StatelessRandomUniformFullIntV2``, ``Bitcast``, ``BitwiseAnd``, ``RightShift``,
``Cast``, ``GatherV2``, ``Unpack``, ``Mul``, ``AddV2``): it compiles under XLA and runs in TF
Serving. The table (``[2^16, 2]`` float32, 512 KB) is built once in NumPy; :class:`zoo.priors.LatentPrior`
keeps it as a weight next to ``probs``. :meth:`Histogram.from_words` makes the same values from
given words, which :func:`zoo.priors.streams.row_words` computes for a batch of per-row seeds at
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
CELL_BITS = 16
_CELLS = 2**CELL_BITS


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


@functools.lru_cache(maxsize=4)
def _default_table(low: float, high: float) -> np.ndarray:
    return sampling_table(_default_arrays()["probs"], low, high)


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


def sampling_table(probs, low=-2.0, high=2.0) -> np.ndarray:
    """The sampler's table for ``len(probs)`` equal bins on ``[low, high]``: float32 ``[2^16, 2]``.

    Row ``c`` is ``(offset, slope)`` of cell ``c``: a word whose low 16 bits are ``c`` and whose
    high 16 bits, read as a signed integer, are ``h`` in ``[-2^15, 2^15)`` gives the value
    ``offset + slope * h``. Bin ``k`` owns the cells ``[R_k, R_{k+1})``, ``R`` the cumulative masses
    at the bin edges times ``2^16``, rounded (``R_0 = 0``, ``R_N = 2^16``); the ``n_k`` cells of a
    bin split it into ``n_k`` equal slices, and position ``h + 2^15 + 1/2`` of ``2^16`` is taken
    inside the cell's slice, so values stay strictly inside ``(low, high)`` before float32 rounding.
    Deterministic (float64 arithmetic, rounded once).
    """
    probs = as_pmf(probs)
    low, high = check_domain(low, high)
    width = (high - low) / probs.size
    edges = np.rint(np.concatenate([[0.0], np.cumsum(probs)]) * _CELLS).astype(np.int64)
    edges[-1] = _CELLS  # the sum may round to 1 - 2^-53
    cells = np.arange(_CELLS)
    bins = np.searchsorted(edges, cells, side="right") - 1  # cells in [R_k, R_{k+1}) belong to bin k
    count = (edges[bins + 1] - edges[bins]).astype(np.float64)
    half = _CELLS // 2
    offset = low + width * (bins + (cells - edges[bins] + (half + 0.5) / _CELLS) / count)
    slope = width / (_CELLS * count)
    return np.stack([offset, slope], axis=1).astype(np.float32)


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


def _nan_where_nan(x, values):
    """``values`` with NaN wherever ``x`` is NaN (NaN in, NaN out, as TFP's distributions do)."""
    return tf.where(tf.math.is_nan(x), tf.constant(float("nan"), values.dtype), values)


class Histogram(StatelessSampling, tfd.distribution.AutoCompositeTensorDistribution):
    """Piecewise-constant density on ``[low, high]`` with ``len(probs)`` equal bins (scalar event).

    ``probs`` may be a NumPy array (validated) or a float tensor/variable (taken as given, e.g. the
    weights of :class:`zoo.priors.LatentPrior`); float64 keeps the exact solved values. ``table``:
    the :func:`sampling_table` of these probs and domain, computed from them when omitted (which
    needs concrete values). Samples and densities are float32. ``probs`` and the table are the
    ``CompositeTensor`` components; ``mode()`` is the centre of the heaviest bin.
    """

    def __init__(self, probs, low=-2.0, high=2.0, table=None, name="Histogram"):
        parameters = dict(locals())
        if not (tf.is_tensor(probs) or isinstance(probs, tf.Variable)):
            probs = tf.constant(as_pmf(probs), tf.float64)
        if probs.shape.rank != 1 or probs.shape[0] is None or probs.shape[0] < 2:
            raise ConfigError(f"probs must have a static 1-D shape [bins >= 2], got {probs.shape}")
        self._low, self._high = check_domain(low, high)
        if table is None:
            concrete = tf.get_static_value(probs)
            if concrete is None:
                raise ConfigError(
                    "symbolic probs need their sampling table: pass table=sampling_table(probs, low, high) "
                    "computed beforehand"
                )
            table = sampling_table(concrete, self._low, self._high)
        self._probs = probs
        self._table = tf.convert_to_tensor(table)
        if self._table.shape != (_CELLS, 2):
            raise ConfigError(f"the sampling table must have shape [{_CELLS}, 2], got {self._table.shape}")
        self._bins = int(probs.shape[0])
        # Rebuilt from these (tensors) when the distribution crosses a tf.function boundary.
        parameters.update(probs=probs, table=self._table, low=self._low, high=self._high)
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
        """Bin index of ``x`` (clipped into range) and the position inside it in [0, 1].

        NaN maps to bin 0 (the callers return NaN for it): cast to int32 it would be -2**31, an index
        ``gather`` refuses on a CPU and clamps silently under XLA.
        """
        scaled = (x - self._low) / self.width
        scaled = tf.where(tf.math.is_nan(scaled), tf.zeros_like(scaled), scaled)
        index = tf.clip_by_value(tf.floor(scaled), 0.0, self._bins - 1.0)
        return tf.cast(index, tf.int32), tf.clip_by_value(scaled - index, 0.0, 1.0)

    def _sample_n(self, n, seed=None):
        return self.from_words(tf.random.stateless_uniform([n], seed=seed, minval=None, maxval=None, dtype=tf.uint32))

    def from_words(self, words):
        """Values from uniform 32-bit words (uint32 or int32, any shape): float32 of the same shape."""
        words = tf.convert_to_tensor(words)
        if words.dtype not in (tf.uint32, tf.int32):
            raise ConfigError(f"from_words takes 32-bit words (uint32 or int32), got {words.dtype.name}")
        if words.dtype == tf.uint32:
            words = tf.bitcast(words, tf.int32)
        cell = tf.bitwise.bitwise_and(words, _CELLS - 1)
        position = tf.cast(tf.bitwise.right_shift(words, CELL_BITS), tf.float32)  # arithmetic: [-2^15, 2^15)
        offset, slope = tf.unstack(tf.gather(self._table, cell), axis=-1)
        return offset + slope * position

    def _prob(self, x):
        index, _ = self._bin_of(x)
        density = tf.cast(tf.gather(self._probs64(), index), tf.float32) / self.width
        inside = (x >= self._low) & (x <= self._high)
        density = tf.where(inside, density, tf.zeros_like(density)) + flat_gradient_link(x[..., tf.newaxis])
        return _nan_where_nan(x, density)

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
        return _nan_where_nan(x, tf.cast(tf.clip_by_value(value, 0.0, 1.0), tf.float32))

    def _quantile(self, q):
        probs64 = self._probs64()
        before = self._cdf_before(probs64)
        q64 = tf.cast(q, tf.float64)
        # The bin holding q is the last one whose left cumulative mass is <= q among bins with mass.
        index = tf.maximum(count_less_equal(before[1:], q64), 0)
        mass = tf.gather(probs64, index)
        position = tf.math.divide_no_nan(q64 - tf.gather(before, index), mass)
        value = self._low + (tf.cast(index, tf.float64) + tf.clip_by_value(position, 0.0, 1.0)) * self.width
        return _nan_where_nan(q, tf.cast(value, tf.float32))

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
    ``table``: its precomputed :func:`sampling_table` (needed only when ``probs`` is symbolic).
    """

    kind = "nonparametric"

    def __init__(self, probs=None, low=None, high=None, latent_dim=100, table=None, name="NonParametric"):
        parameters = dict(locals())
        shipped = probs is None
        if shipped:
            probs = default_probs()
            default_low, default_high = default_domain()
        else:
            default_low, default_high = -2.0, 2.0
        low = default_low if low is None else low
        high = default_high if high is None else high
        if table is None and shipped:
            table = _default_table(*check_domain(low, high))  # built once per process, not per prior
        marginal = Histogram(probs, low=low, high=high, table=table)
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
