"""``LatentPrior``: the Keras layer through which a model owns, samples and saves its prior."""

from __future__ import annotations

import numpy as np

from zoo._tf import tf

import keras  # noqa: E402  (after zoo._tf, which silences TensorFlow's start-up)

from zoo.errors import ConfigError
from zoo.priors.distributions import check_latent_dim
from zoo.priors.midpoint import as_pmf
from zoo.priors.nonparametric import (
    CELL_BITS,
    NonParametric,
    check_domain,
    default_domain,
    default_probs,
    sampling_table,
)
from zoo.priors.registry import get, prior_class
from zoo.priors.seeds import as_row_seeds, fresh_or_seed


@keras.saving.register_keras_serializable(package="zoo")
class LatentPrior(keras.layers.Layer):
    """A prior as a Keras layer: serialisable, savable, usable in ``train_step`` and SavedModels.

    Args:
        kind: a name from :func:`zoo.priors.names`.
        latent_dim: event size.
        params: the distribution's keyword arguments (JSON-able), e.g. ``{"low": -2.0, "high": 2.0}``
            for ``"uniform"``. For ``"nonparametric"``, ``{"probs": [...], "low": ..., "high": ...}``
            names another solved prior; without ``probs`` the shipped default is used. Its bin
            probabilities are a non-trainable float64 weight ``probs`` (``[bins]``), so ``.keras``
            save/load restores them exactly; the sampler's table is one more non-trainable weight
            (``sampling_table``, float32 ``[2^16, 2]``) kept in step by :meth:`set_probs` and rebuilt
            from ``probs`` when a saved model loads.

    ``call(seeds)`` is :meth:`sample_per_row`: int32 ``[B, 2]`` -> float32 ``[B, latent_dim]``.
    """

    def __init__(self, kind="uniform", latent_dim=100, params=None, **kwargs):
        super().__init__(**kwargs)
        self.kind = prior_class(kind).kind
        self.latent_dim = check_latent_dim(latent_dim)
        if params is not None and not isinstance(params, dict):
            raise ConfigError(f"params must be a dict of the prior's arguments, got {type(params).__name__}")
        params = dict(params or {})
        if self.kind == NonParametric.kind:
            self._init_nonparametric(params)
        else:
            # Built once: these priors hold only constants, so one distribution serves every call.
            self._distribution = get(self.kind, self.latent_dim, **params)
        self.params = params
        self.built = True

    def _init_nonparametric(self, params):
        unknown = set(params) - {"probs", "low", "high"}
        if unknown:
            raise ConfigError(f"nonparametric prior params are probs, low, high; got unknown {sorted(unknown)}")
        if params.get("probs") is None:
            probs = default_probs()
            low, high = default_domain()
        else:
            probs = as_pmf(params["probs"])
            params["probs"] = probs.tolist()
            low, high = -2.0, 2.0
        self._low, self._high = check_domain(params.get("low", low), params.get("high", high))
        self.probs = self.add_weight(
            name="probs", shape=(probs.size,), dtype="float64", initializer="zeros", trainable=False
        )
        # The sampler's table travels with the probabilities (see zoo.priors.nonparametric), so
        # SavedModels read it as a variable rather than rebuilding it per call.
        self.sampling_table = self.add_weight(
            name="sampling_table", shape=(2**CELL_BITS, 2), dtype="float32",
            initializer="zeros", trainable=False,
        )
        self.set_probs(probs)

    def set_probs(self, probs):
        """Replace the non-parametric prior's bin probabilities (same bin count), tables included.

        Use this rather than assigning ``probs`` directly, which would leave the sampler's table
        describing the old prior.
        """
        if self.kind != NonParametric.kind:
            raise ConfigError(f"set_probs applies to the nonparametric prior, not {self.kind!r}")
        probs = as_pmf(probs)
        if probs.shape != tuple(self.probs.shape):
            raise ConfigError(f"expected {self.probs.shape[0]} bin probabilities, got {probs.size}")
        self.probs.assign(probs)
        self.sampling_table.assign(sampling_table(probs, self._low, self._high))

    def load_own_variables(self, store):
        if self.kind != NonParametric.kind:
            return super().load_own_variables(store)
        # The table is a function of probs: rebuilt rather than read, so that files saved with an
        # earlier sampler's tables (the alias tables of the exact two-word sampler) load as well.
        self.set_probs(np.asarray(store["0"]))

    def distribution(self):
        """The prior as a TFP distribution with event shape ``[latent_dim]``."""
        if self.kind != NonParametric.kind:
            return self._distribution
        return NonParametric(
            tf.convert_to_tensor(self.probs),
            low=self._low,
            high=self._high,
            latent_dim=self.latent_dim,
            table=tf.convert_to_tensor(self.sampling_table),
        )

    def sample(self, n, seed=None):
        """``n`` draws (int or scalar int tensor) as float32 ``[n, latent_dim]``.

        ``seed``: a stateless seed (int32 ``[2]``, a pair, or an int ``s`` meaning ``(0, s)``) that
        reproduces the draw exactly, or None for fresh random values.
        """
        return self.distribution().sample(n, seed=fresh_or_seed(seed))

    def sample_per_row(self, seeds):
        """One draw per seed: int32 ``[B, 2]`` -> float32 ``[B, latent_dim]``.

        Row ``i`` equals ``sample(1, seeds[i])[0]`` and so depends on ``seeds[i]`` only, whatever the
        batch it is served in (the distribution's ``sample_rows``: the uniform and non-parametric
        priors draw every row at once, the others loop over rows). Core TF ops: works under
        ``tf.function`` with an input signature ``[None, 2]``, under XLA and in TF Serving.
        """
        return self.distribution().sample_rows(as_row_seeds(seeds))

    def call(self, seeds):
        return self.sample_per_row(seeds)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.latent_dim)

    def get_config(self):
        config = super().get_config()
        params = {k: (np.asarray(v).tolist() if k == "probs" else v) for k, v in self.params.items()}
        config.update({"kind": self.kind, "latent_dim": self.latent_dim, "params": params or None})
        return config
