"""Builders for the networks the two papers train, as functional ``keras.Model`` objects.

* ``synthetic_generator`` / ``synthetic_discriminator``: the GDPP synthetic MLPs (``papers.md``
  2.3): G = FC128-tanh, FC128-tanh, FC2; D = FC128-tanh, FC128-tanh (= features), FC1; orthogonal
  initialisation with gain 1.4.
* ``dcgan_generator`` / ``dcgan_discriminator``: Radford et al.'s DCGAN as carpedm20 wrote it (the
  GAN of the NP-prior paper): linear projection to ``4 x 4`` (or ``7 x 7`` via a crop for 28 px),
  5x5 stride-2 transposed convolutions halving the width, BatchNorm + ReLU, tanh output; D mirrors it
  with 5x5 stride-2 convolutions, LeakyReLU 0.2, BatchNorm after the first layer (optional: the
  GDPP Stacked-MNIST discriminator has none). N(0, 0.02) init.
* ``vae_encoder`` / ``vae_decoder``: the GDPP Stacked-MNIST VAE (same conv stacks, no BatchNorm in the
  encoder; mean and log-variance heads).

Discriminators return ``[logits [B, 1], features [B, F]]`` and encoders ``[mean, logvar, features]``
from one forward pass: ``features`` is the flattened last hidden layer that GDPP compares. Output
heads are float32 layers so the models also work under a ``mixed_float16`` policy.

Supported image sizes: 28 and ``4 * 2**k`` (8, 16, 32, 64, 128, ...). ``width`` scales every layer
(64 is the papers' size; tests use 4-8).
"""

from __future__ import annotations

import math

from zoo._tf import tf  # noqa: F401  (quiet TensorFlow import before keras)

import keras

from zoo import _resources
from zoo.errors import ConfigError

LEAKY_SLOPE = 0.2
#: Radford et al.'s initialisation: N(0, 0.02).
DCGAN_INIT_STDDEV = 0.02
#: The GDPP synthetic experiments' orthogonal initialisation gain.
SYNTHETIC_INIT_GAIN = 1.4


def _check_latent_layer(latent_dim, units, layer):
    """Refuse a ``latent_dim`` whose ``latent_dim x units`` float32 weight matrix cannot be held at all."""
    fits = max(1, (_resources.memory_limit() or 0) // (4 * units))
    _resources.check_memory(4 * latent_dim * units, f"latent_dim={latent_dim}: {layer} ({latent_dim:,} x {units:,} float32 weights)",
               f"use a smaller latent_dim (this layer alone allows at most about {fits:,}).")


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}.")


def _upsamplings(image_size):
    """Number of stride-2 stages between the 4 x 4 seed and ``image_size`` (28 crops 8 -> 7)."""
    _check_positive(image_size=image_size)
    if image_size == 28:
        return 3
    stages = math.log2(image_size / 4) if image_size >= 8 else 0
    if stages < 1 or not float(stages).is_integer():
        raise ConfigError(
            f"image_size {image_size} is not supported; use 28 or 4 * 2**k (8, 16, 32, 64, 128, ...)."
        )
    return int(stages)


def _dcgan_init():
    return keras.initializers.RandomNormal(stddev=DCGAN_INIT_STDDEV)


def _upsampling_stack(latent_dim, image_size, channels, width, name, output_activation):
    """Dense -> 4x4 seed, then stride-2 transposed convolutions up to ``image_size``."""
    _check_positive(latent_dim=latent_dim, channels=channels, width=width)
    stages = _upsamplings(image_size)
    filters = width * 2 ** (stages - 1)
    _check_latent_layer(latent_dim, 4 * 4 * filters, f"the {name}'s first layer")
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * filters, use_bias=False, kernel_initializer=_dcgan_init())(z)
    x = keras.layers.Reshape((4, 4, filters))(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = keras.layers.ReLU()(x)
    for stage in range(stages - 1):
        filters //= 2
        x = keras.layers.Conv2DTranspose(
            max(filters, 1), 5, strides=2, padding="same", use_bias=False, kernel_initializer=_dcgan_init()
        )(x)
        if stage == 0 and image_size == 28:
            x = keras.layers.Cropping2D(((0, 1), (0, 1)))(x)  # 8 x 8 -> 7 x 7, as the GDPP code crops
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, 5, strides=2, padding="same", kernel_initializer=_dcgan_init())(x)
    output = keras.layers.Activation(output_activation, dtype="float32", name="images")(x)
    return keras.Model(z, output, name=name)


def _downsampling_features(images, width, batch_norm):
    """Stride-2 5x5 convolutions doubling the width until the map is at most 4 x 4; flattened."""
    x = images
    size = images.shape[1]
    filters = width
    first = True
    while first or size > 4:
        x = keras.layers.Conv2D(
            filters, 5, strides=2, padding="same", use_bias=not (batch_norm and not first),
            kernel_initializer=_dcgan_init(),
        )(x)
        if batch_norm and not first:
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
        x = keras.layers.LeakyReLU(LEAKY_SLOPE)(x)
        size = math.ceil(size / 2)
        filters *= 2
        first = False
    return keras.layers.Flatten(name="features")(x)


def _image_input(image_size, channels):
    _upsamplings(image_size)
    _check_positive(channels=channels)
    return keras.Input((image_size, image_size, channels), name="images")


def dcgan_generator(image_size=64, channels=3, latent_dim=100, width=64, name="generator"):
    """DCGAN generator ``z [B, latent_dim] -> images [B, image_size, image_size, channels]`` in [-1, 1]."""
    return _upsampling_stack(latent_dim, image_size, channels, width, name, "tanh")


def dcgan_discriminator(image_size=64, channels=3, width=64, batch_norm=True, name="discriminator"):
    """DCGAN discriminator ``images -> [logits [B, 1], features [B, F]]``.

    ``F = 4 * 4 * width * 2**(stages - 1)`` (8192 at 64 px, 4096 at 28 and 32 px for width 64).
    ``batch_norm=False`` drops the BatchNorm layers, as the GDPP Stacked-MNIST discriminator does.
    """
    _check_positive(channels=channels, width=width)
    if not isinstance(batch_norm, bool):
        raise ConfigError(f"batch_norm must be true or false, got {batch_norm!r}.")
    images = _image_input(image_size, channels)
    features = _downsampling_features(images, width, batch_norm=batch_norm)
    logits = keras.layers.Dense(1, kernel_initializer=_dcgan_init(), dtype="float32", name="logits")(features)
    return keras.Model(images, [logits, features], name=name)


def synthetic_generator(latent_dim=256, hidden=128, output_dim=2, name="generator"):
    """GDPP synthetic generator ``z [B, latent_dim] -> points [B, output_dim]`` (linear output)."""
    _check_positive(latent_dim=latent_dim, hidden=hidden, output_dim=output_dim)
    _check_latent_layer(latent_dim, hidden, f"the {name}'s first layer")
    init = keras.initializers.Orthogonal(gain=SYNTHETIC_INIT_GAIN)
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init)(z)
    x = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init)(x)
    points = keras.layers.Dense(output_dim, kernel_initializer=init, dtype="float32", name="points")(x)
    return keras.Model(z, points, name=name)


def synthetic_discriminator(input_dim=2, hidden=128, name="discriminator"):
    """GDPP synthetic discriminator ``points [B, input_dim] -> [logits [B, 1], features [B, hidden]]``."""
    _check_positive(input_dim=input_dim, hidden=hidden)
    init = keras.initializers.Orthogonal(gain=SYNTHETIC_INIT_GAIN)
    points = keras.Input((input_dim,), name="points")
    x = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init)(points)
    features = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init, name="features")(x)
    logits = keras.layers.Dense(1, kernel_initializer=init, dtype="float32", name="logits")(features)
    return keras.Model(points, [logits, features], name=name)


def vae_encoder(image_size=28, channels=3, latent_dim=128, width=64, name="encoder"):
    """GDPP Stacked-MNIST encoder ``images -> [mean [B, k], logvar [B, k], features [B, F]]``.

    Convolutions as the DCGAN discriminator but without BatchNorm (F = 4096 at 28 px, width 64).
    """
    _check_positive(latent_dim=latent_dim)
    images = _image_input(image_size, channels)
    features = _downsampling_features(images, width, batch_norm=False)
    _check_latent_layer(latent_dim, 2 * features.shape[-1], f"the {name}'s mean and log-variance heads")
    mean = keras.layers.Dense(latent_dim, dtype="float32", name="mean")(features)
    logvar = keras.layers.Dense(latent_dim, dtype="float32", name="logvar")(features)
    return keras.Model(images, [mean, logvar, features], name=name)


def vae_decoder(image_size=28, channels=3, latent_dim=128, width=64, name="decoder"):
    """GDPP Stacked-MNIST decoder ``z -> logits [B, image_size, image_size, channels]`` (pre-activation).

    The VAE turns logits into images (sigmoid for Bernoulli, tanh for Gaussian, both mapped to [-1, 1]).
    """
    return _upsampling_stack(latent_dim, image_size, channels, width, name, "linear")
