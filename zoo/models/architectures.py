"""Builders for the networks the two papers train, as functional ``keras.Model`` objects.

* ``synthetic_generator`` / ``synthetic_discriminator``: the GDPP synthetic MLPs (``papers.md``
  2.3): G = FC128-tanh, FC128-tanh, FC2; D = FC128-tanh, FC128-tanh (= features), FC1; orthogonal
  initialisation with gain 1.4.
* ``dcgan_generator`` / ``dcgan_discriminator``: Radford et al.'s DCGAN as carpedm20 wrote it (the
  GAN of the NP-prior paper): linear projection to ``4 x 4`` (or ``7 x 7`` via a crop for 28 px),
  5x5 stride-2 transposed convolutions halving the width, BatchNorm + ReLU, tanh output; D mirrors it
  with 5x5 stride-2 convolutions, LeakyReLU 0.2, BatchNorm after the first layer (the GDPP
  Stacked-MNIST script's discriminator has none: ``zoo.models.reproduction``).
* ``initializer`` of the image builders: ``"dcgan_normal"`` (default), Radford et al.'s N(0, 0.02)
  for every kernel; or ``"tflib_uniform"``, the initialisers of tflib, the layer library of the GDPP
  authors' Stacked-MNIST, CIFAR and VAE code (``papers.md`` 2.3): dense layers Glorot-uniform,
  (transposed) convolutions tflib's "He" uniform, standard deviation ``sqrt(4 / (fan_in + fan_out))``
  with the strided side's fan divided by ``stride**2`` (``fan_out`` of a convolution, ``fan_in`` of
  a transposed one). Both are plain Keras initialisers in the layer configs, so a saved model
  records them and a model rebuilt from its config draws from the same law.
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
#: Kernel initialisers of the image networks (module docstring).
INITIALIZERS = ("dcgan_normal", "tflib_uniform")
#: Kernel size and stride of every (transposed) convolution of the image networks.
_KERNEL, _STRIDE = 5, 2


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


def _check_initializer(initializer):
    if initializer not in INITIALIZERS:
        raise ConfigError(
            f"initializer must be 'dcgan_normal' (N(0, 0.02), Radford et al.) or 'tflib_uniform' (the GDPP "
            f"authors' tflib: He-uniform convolutions, Glorot-uniform dense layers), got {initializer!r}."
        )


def _kernel_init(initializer, layer="dense", in_channels=None, out_channels=None):
    """The kernel initialiser of one layer: ``layer`` is ``"dense"``, ``"conv"`` or ``"deconv"``
    (stride-2 5x5 convolution / transposed convolution from ``in_channels`` to ``out_channels``)."""
    if initializer == "dcgan_normal":
        return keras.initializers.RandomNormal(stddev=DCGAN_INIT_STDDEV)
    if layer == "dense":
        return keras.initializers.GlorotUniform()
    # tflib: uniform with std sqrt(4 / (fan_in + fan_out)), the strided side's fan / stride**2.
    # VarianceScaling(fan_avg, uniform) has variance 2 * scale / (Keras' fan_in + fan_out), Keras'
    # fans being k*k*(in + out) for both layer kinds; this scale makes the two equal.
    area = _STRIDE**2
    strided = in_channels + out_channels / area if layer == "conv" else in_channels / area + out_channels
    return keras.initializers.VarianceScaling(
        scale=2.0 * (in_channels + out_channels) / strided, mode="fan_avg", distribution="uniform"
    )


def _upsampling_stack(latent_dim, image_size, channels, width, name, output_activation, initializer):
    """Dense -> 4x4 seed, then stride-2 transposed convolutions up to ``image_size``."""
    _check_positive(latent_dim=latent_dim, channels=channels, width=width)
    _check_initializer(initializer)
    stages = _upsamplings(image_size)
    filters = width * 2 ** (stages - 1)
    _check_latent_layer(latent_dim, 4 * 4 * filters, f"the {name}'s first layer")
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(4 * 4 * filters, use_bias=False, kernel_initializer=_kernel_init(initializer))(z)
    x = keras.layers.Reshape((4, 4, filters))(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = keras.layers.ReLU()(x)
    for stage in range(stages - 1):
        previous, filters = filters, filters // 2
        x = keras.layers.Conv2DTranspose(
            max(filters, 1), _KERNEL, strides=_STRIDE, padding="same", use_bias=False,
            kernel_initializer=_kernel_init(initializer, "deconv", previous, max(filters, 1)),
        )(x)
        if stage == 0 and image_size == 28:
            x = keras.layers.Cropping2D(((0, 1), (0, 1)))(x)  # 8 x 8 -> 7 x 7, as the GDPP code crops
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(
        channels, _KERNEL, strides=_STRIDE, padding="same",
        kernel_initializer=_kernel_init(initializer, "deconv", max(filters, 1), channels),
    )(x)
    output = keras.layers.Activation(output_activation, dtype="float32", name="images")(x)
    return keras.Model(z, output, name=name)


def _downsampling_features(images, width, batch_norm, initializer):
    """Stride-2 5x5 convolutions doubling the width until the map is at most 4 x 4; flattened."""
    _check_initializer(initializer)
    x = images
    size = images.shape[1]
    filters, previous = width, images.shape[-1]
    first = True
    while first or size > 4:
        x = keras.layers.Conv2D(
            filters, _KERNEL, strides=_STRIDE, padding="same", use_bias=not (batch_norm and not first),
            kernel_initializer=_kernel_init(initializer, "conv", previous, filters),
        )(x)
        previous = filters
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


def dcgan_generator(image_size=64, channels=3, latent_dim=100, width=64, name="generator",
                    initializer="dcgan_normal"):
    """DCGAN generator ``z [B, latent_dim] -> images [B, image_size, image_size, channels]`` in [-1, 1].

    ``initializer``: ``"dcgan_normal"`` or ``"tflib_uniform"`` (the GDPP authors'; module docstring)."""
    return _upsampling_stack(latent_dim, image_size, channels, width, name, "tanh", initializer)


def dcgan_discriminator(image_size=64, channels=3, width=64, name="discriminator", initializer="dcgan_normal"):
    """DCGAN discriminator ``images -> [logits [B, 1], features [B, F]]``.

    ``F = 4 * 4 * width * 2**(stages - 1)`` (8192 at 64 px, 4096 at 28 and 32 px for width 64).
    ``initializer``: ``"dcgan_normal"`` or ``"tflib_uniform"`` (the GDPP authors'; module docstring).
    """
    return _dcgan_discriminator(image_size, channels, width, True, name, initializer)


def dcgan_critic(image_size=64, channels=3, width=64, name="discriminator", initializer="dcgan_normal"):
    """:func:`dcgan_discriminator` without BatchNorm: the WGAN-GP critic ``images -> [scores [B, 1],
    features [B, F]]`` (the gradient penalty is per sample; BatchNorm would mix a batch's samples)."""
    return _dcgan_discriminator(image_size, channels, width, False, name, initializer)


def _dcgan_discriminator(image_size, channels, width, batch_norm, name, initializer="dcgan_normal"):
    """:func:`dcgan_discriminator`, with or without BatchNorm (``zoo.models.reproduction`` drops it)."""
    _check_positive(channels=channels, width=width)
    images = _image_input(image_size, channels)
    features = _downsampling_features(images, width, batch_norm=batch_norm, initializer=initializer)
    logits = keras.layers.Dense(1, kernel_initializer=_kernel_init(initializer), dtype="float32",
                                name="logits")(features)
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


def vae_encoder(image_size=28, channels=3, latent_dim=128, width=64, name="encoder", initializer="dcgan_normal"):
    """GDPP Stacked-MNIST encoder ``images -> [mean [B, k], logvar [B, k], features [B, F]]``.

    Convolutions as the DCGAN discriminator but without BatchNorm (F = 4096 at 28 px, width 64);
    ``initializer`` sets the convolutions' (the mean and log-variance heads are Glorot-uniform either way).
    """
    _check_positive(latent_dim=latent_dim)
    images = _image_input(image_size, channels)
    features = _downsampling_features(images, width, batch_norm=False, initializer=initializer)
    _check_latent_layer(latent_dim, 2 * features.shape[-1], f"the {name}'s mean and log-variance heads")
    mean = keras.layers.Dense(latent_dim, dtype="float32", name="mean")(features)
    logvar = keras.layers.Dense(latent_dim, dtype="float32", name="logvar")(features)
    return keras.Model(images, [mean, logvar, features], name=name)


def vae_decoder(image_size=28, channels=3, latent_dim=128, width=64, name="decoder", initializer="dcgan_normal"):
    """GDPP Stacked-MNIST decoder ``z -> logits [B, image_size, image_size, channels]`` (pre-activation).

    The VAE turns logits into images (sigmoid for Bernoulli, tanh for Gaussian, both mapped to [-1, 1]).
    """
    return _upsampling_stack(latent_dim, image_size, channels, width, name, "linear", initializer)
