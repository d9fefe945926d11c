"""``SlotOffsetNoise``: the training latents of the GDPP Stacked-MNIST code.

The authors' ``gdppgan_stackedMnist.py`` does not train its generator on its prior. It feeds
``g_z + g_sig * Z``: ``g_z`` a ``[64, 128]`` variable drawn once from U(-1, 1) and never trained,
``g_sig = 0.2``, ``Z ~ N(0, I)`` fresh every step. Batch slot ``i`` therefore always draws from a
narrow blob around the same fixed offset ``c_i``, and the generator only ever sees 64 such blobs.
Its samples for the paper's mode count and KL are then drawn from plain ``N(0, I)``, the prior.

``DCGAN(training_noise=SlotOffsetNoise(...))`` reproduces that protocol: the noise is used by
``train_step`` only, while ``generate``, exports and ``zoo.metrics.evaluate`` keep sampling the
model's prior. The offsets are a non-trainable weight, so they are saved with the model and a
resumed run continues with the same blobs.
"""

from __future__ import annotations

import numpy as np

from zoo._tf import tf

import keras

from zoo._seeds import check_seed
from zoo.errors import ConfigError


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"SlotOffsetNoise {name} must be an int >= 1, got {value!r}.")
    return int(value)


def _finite(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ConfigError(f"SlotOffsetNoise {name} must be a finite number, got {value!r}.")
    return float(value)


@keras.saving.register_keras_serializable(package="zoo")
class SlotOffsetNoise(keras.layers.Layer):
    """Training latents ``z_i = c_(i mod slots) + scale * eps_i`` for batch row ``i``.

    Args:
        latent_dim: size of each latent (the generator's input), >= 1.
        slots: number of fixed offsets ``c`` (the authors': their batch size, 64), >= 1.
        scale: standard deviation of the Gaussian noise around each offset (the authors': 0.2), >= 0.
        low, high: the offsets are drawn once, uniformly in ``[low, high)`` (the authors': -1, 1).
        seed: int seed of that draw (NumPy ``default_rng``), so a config rebuilds the same offsets.
    """

    def __init__(self, latent_dim, slots=64, scale=0.2, low=-1.0, high=1.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _positive_int("latent_dim", latent_dim)
        self.slots = _positive_int("slots", slots)
        self.scale = _finite("scale", scale)
        self.low, self.high = _finite("low", low), _finite("high", high)
        if self.scale < 0:
            raise ConfigError(f"SlotOffsetNoise scale must be >= 0, got {scale!r}.")
        if not self.low < self.high:
            raise ConfigError(f"SlotOffsetNoise needs low < high, got low={low!r}, high={high!r}.")
        self.seed = check_seed(seed, "SlotOffsetNoise seed")
        offsets = np.random.default_rng(self.seed).uniform(self.low, self.high, (self.slots, self.latent_dim))
        self.offsets = self.add_weight(
            shape=(self.slots, self.latent_dim), initializer="zeros", trainable=False, name="offsets"
        )
        self.offsets.assign(offsets.astype(np.float32))
        self.built = True

    def sample(self, n, seed):
        """``float32 [n, latent_dim]``: row ``i`` is ``offsets[i mod slots] + scale * N(0, I)``.

        ``seed`` is a stateless int32 ``[2]`` seed (``tf.random.stateless_normal``); ``n`` may be a
        tensor (the batch size inside ``train_step``).
        """
        n = tf.cast(n, tf.int32)
        centres = tf.gather(tf.convert_to_tensor(self.offsets), tf.range(n) % self.slots)
        noise = tf.random.stateless_normal(tf.stack([n, self.latent_dim]), seed, dtype=tf.float32)
        return centres + self.scale * noise

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, slots=self.slots, scale=self.scale, low=self.low,
                      high=self.high, seed=self.seed)
        return config
