"""The generator's batch norm outside training: batch statistics for evaluation, re-estimated moving ones.

A generator's ``BatchNormalization`` layers normalise with the current batch's statistics while it
trains and with their moving averages (``training=False``) when it samples. Two things here bridge
the gap:

* :func:`batch_statistics` runs a generator (or VAE decoder) the way the GDPP authors' code
  evaluates (tflib's batch norm always uses the current batch): in training mode, on batches of a
  fixed size, with every weight and moving statistic put back bit for bit afterwards.
  ``zoo.metrics.evaluate(..., batch_norm="batch")`` uses it.
* :func:`recalibrate_batch_norm` re-estimates the moving statistics on prior samples. A model that
  trained on latents other than its prior (``training_noise``, the GDPP Stacked-MNIST code's
  per-slot latents ``g_z + 0.2 Z``) collected its moving averages on those latents, so
  ``generate`` (which samples the prior with the moving statistics) would normalise with the
  wrong ones. ``zoo train`` calls it once after training such a model, before saving it.
"""

from __future__ import annotations

import contextlib

import numpy as np

from zoo._tf import tf

import keras

from zoo.errors import ConfigError
from zoo.priors.seeds import fresh_or_seed

#: Batches and batch size of :func:`recalibrate_batch_norm` (6,400 prior samples, in the GDPP
#: authors' evaluation batches of 64).
RECALIBRATION_BATCHES = 100
RECALIBRATION_BATCH_SIZE = 64


def batch_norm_layers(network) -> list:
    """Every ``keras.layers.BatchNormalization`` inside ``network``, nested models included."""
    found = []
    for layer in network._flatten_layers(include_self=False, recursive=True):  # noqa: SLF001
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
    return found


@contextlib.contextmanager
def batch_statistics(network, momentum=None):
    """Within the block, ``network(z, training=True)`` normalises every batch-norm layer with the
    batch's statistics; on exit every variable of ``network`` is restored bit for bit.

    Training-mode calls update the moving statistics as a side effect; the restore undoes that
    (also when the block raises). Batch-norm layers that were frozen (``trainable=False``, which
    makes Keras use the moving statistics even in training mode) are unfrozen for the block.
    ``momentum``: the layers' momentum within the block (``None``: unchanged; 0 makes each call
    leave exactly its batch's statistics in the moving averages). Yields the batch-norm layers.

    Training mode applies to every layer of ``network``; the zoo's generators and decoders have no
    other layer that behaves differently in training (no dropout).
    """
    layers = batch_norm_layers(network)
    saved = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in network.variables]
    settings = [(layer.trainable, layer.momentum) for layer in layers]
    try:
        for layer in layers:
            layer.trainable = True
            if momentum is not None:
                layer.momentum = momentum
        yield layers
    finally:
        for layer, (trainable, old_momentum) in zip(layers, settings):
            layer.trainable, layer.momentum = trainable, old_momentum
        for variable, value in zip(network.variables, saved):
            variable.assign(value)


def recalibrate_batch_norm(model, batches=RECALIBRATION_BATCHES, batch_size=RECALIBRATION_BATCH_SIZE, seed=None):
    """Re-estimate the moving statistics of a model's generator (or VAE decoder) on prior samples.

    Draws ``batches`` batches of ``batch_size`` latents from ``model.prior``, runs the generator in
    training mode on each and sets every batch-norm layer's moving mean and variance to the average
    of its per-batch mean and (biased) variance over the batches: the statistics the layer
    normalises with in training mode on prior batches of that size, averaged. Layers are estimated
    together in one pass per batch (each layer's input is normalised by the batch statistics of the
    layers before it, as in training), and nothing but the moving statistics changes.

    Args:
        model: a ``zoo.models`` DCGAN or VAE.
        batches: number of batches, int >= 1.
        batch_size: latents per batch, int >= 2 (a batch of one has no variance).
        seed: int or int pair: the draws are stateless and the result reproduces exactly; ``None``
            draws fresh latents.

    Returns:
        The number of batch-norm layers re-estimated (0 for a network without batch norm, which is
        left as it was).

    Raises:
        ConfigError: not a zoo ``GenerativeModel``, or a bad ``batches``/``batch_size``.
    """
    for name, value, low in (("batches", batches, 1), ("batch_size", batch_size, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"recalibrate_batch_norm: {name} must be an int >= {low}, got {value!r}.")
    from zoo.models.base import GenerativeModel

    if not isinstance(model, GenerativeModel):
        raise ConfigError(f"recalibrate_batch_norm takes a zoo model (zoo.models.GenerativeModel), not a {type(model).__name__}.")
    network = model.image_network()
    layers = batch_norm_layers(network)
    if not layers:
        return 0
    base = fresh_or_seed(seed)
    sums = [[np.zeros(layer.moving_mean.shape, np.float64), np.zeros(layer.moving_variance.shape, np.float64)]
            for layer in layers]
    # Momentum 0: each training-mode call leaves exactly its batch's moments in the moving
    # averages, which are read and summed here; the context puts the old values back, and only
    # the averages are assigned after it.
    with batch_statistics(network, momentum=0.0):
        for index in range(int(batches)):
            z = model.prior.sample(int(batch_size), tf.random.experimental.stateless_fold_in(base, index))
            network(z, training=True)
            for total, layer in zip(sums, layers):
                total[0] += keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float64)
                total[1] += keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float64)
    for (mean, variance), layer in zip(sums, layers):
        layer.moving_mean.assign((mean / batches).astype(np.float32))
        layer.moving_variance.assign((variance / batches).astype(np.float32))
    return len(layers)
