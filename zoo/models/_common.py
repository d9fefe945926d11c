"""Pieces shared by the zoo's models: input checks, seeds, replicas, mixed precision."""

from __future__ import annotations

import numpy as np

from zoo._tf import tf

import keras
# Where Keras' MonitorCallback looks for a metric's direction (see LossTrackers).
from keras.src.trainers.compile_utils import MetricsList

from zoo._seeds import as_int32
from zoo.errors import ConfigError
from zoo.priors import as_layer
from zoo.priors.seeds import fresh_or_seed

#: Samples per generator call in ``generate`` (bounds memory, not the result: z is drawn at once).
GENERATE_CHUNK = 256
#: Offset of ``test_step``'s noise streams (``train_step`` uses streams 0 .. generator_steps).
_EVALUATION_STREAM = 1 << 20


def check_diversity_weight(weight):
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight) or weight < 0:
        raise ConfigError(f"diversity_weight must be a finite number >= 0 (0 disables GDPP), got {weight!r}.")
    return float(weight)


def drop_retired_options(options, retired, owner):
    """Remove options ``owner`` no longer takes from ``options`` (a ``from_config`` kwargs dict).

    ``retired`` maps each removed option to the value the model now always uses. A saved file that
    carries an option at that value loads unchanged; any other value would silently train a
    different model, so it is refused.
    """
    for name, value in retired.items():
        if name in options and options.pop(name) != value:
            raise ConfigError(
                f"{owner} no longer takes {name!r} (measured no better, removed): it always trains with "
                f"{name}={value!r}. Drop the key from the config, or load the file with the latent-zoo "
                "release that wrote it."
            )


def deserialize_submodel(model, what):
    """Accept a ``keras.Model`` or its serialised dict (what ``from_config`` passes)."""
    if isinstance(model, dict):
        model = keras.saving.deserialize_keras_object(model)
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{what} must be a keras.Model (see zoo.models builders), got {type(model).__name__}.")
    return model


def resolve_prior(prior, latent_dim):
    """A ``LatentPrior`` for ``prior`` (name, LatentPrior, distribution or its serialised dict)."""
    if isinstance(prior, dict):
        prior = keras.saving.deserialize_keras_object(prior)
    return as_layer(prior, latent_dim)


def shape_error(model_name, expected_shape, got) -> ConfigError:
    """The ConfigError of a batch of shape ``got`` (a list; None for unknown sizes) for a model whose
    samples have shape ``expected_shape``."""
    got = list(got)
    hint = "Resize the data (zoo.data.load(..., image_size=...)) or build the model for this shape."
    if len(got) == len(expected_shape) and tuple(got[1:]) in (tuple(expected_shape[:-1]), (None,) * (len(got) - 1)) \
            and expected_shape[-1] == 1:
        hint = "The batch has no channel axis: add it (x[..., None], or tf.expand_dims(x, -1) in the dataset)."
    return ConfigError(
        f"{model_name} expects batches of shape [batch, {', '.join(map(str, expected_shape))}] but got {got}. {hint}"
    )


def unpack_batch(data, expected_shape, model_name):
    """The input tensor of a training batch, checked against the model's per-sample shape.

    ``fit(dataset)`` hands ``train_step`` a bare tensor; an ``(x, y)`` dataset hands a tuple whose
    labels are ignored. Runs at trace time, so a mismatch of the sizes the trace knows is a
    ConfigError from ``fit``; sizes it does not know are checked when the batch arrives
    (``GenerativeModel.check_batch``).
    """
    if isinstance(data, (tuple, list)):
        data = data[0]
    if isinstance(data, dict):
        raise ConfigError(f"{model_name} trains on a tensor of samples, not a dict; map the dataset to x.")
    if data.shape.rank is not None and (data.shape.rank != len(expected_shape) + 1 or any(
        got is not None and got != want for got, want in zip(data.shape[1:], expected_shape)
    )):
        raise shape_error(model_name, expected_shape, data.shape.as_list())
    if data.dtype.is_integer:
        raise ConfigError(
            f"{model_name} got {data.dtype.name} samples; images must be float32 in [-1, 1]. Convert them "
            "first, e.g. x.astype('float32') / 127.5 - 1 for uint8 pixels in 0..255 (zoo.data does this)."
        )
    return tf.cast(data, tf.float32)


def check_gdpp_batch(batch, model_name):
    """ConfigError when a GDPP model's batches are statically smaller than 2 samples per replica.

    Such a model would never see its GDPP term. A batch of unknown size (the last, partial batch of
    a NumPy array) is checked per batch instead: ``losses.gdpp_loss`` is 0 on it (see
    :func:`tracker_weights`).
    """
    static = batch.shape[0]
    if static is not None and static < 2:
        raise ConfigError(
            f"{model_name} with diversity_weight > 0 needs batches of at least 2 samples per replica "
            f"(got {static}): the GDPP term compares the eigen-structure of a batch. Use a larger batch_size."
        )
    return batch


def tracker_weights(batch):
    """``(weight, gdpp_weight)``: how much one batch counts in the loss trackers' means.

    Like Keras' own loss tracker, a batch counts by its number of samples, so ``evaluate`` on an
    array whose last batch is partial reports the mean over samples. ``losses.gdpp_loss`` returns 0
    on a batch of fewer than 2 samples; such a batch adds nothing to the loss and is left out of the
    reported ``gdpp_loss`` (``gdpp_weight`` 0).
    """
    size = tf.cast(tf.shape(batch)[0], tf.float32)
    return size, tf.where(size >= 2.0, size, 0.0)


class LossTrackers(MetricsList):
    """The ``keras.metrics.Mean`` trackers of a model's losses, all to be minimised.

    Keras' monitoring callbacks (``ModelCheckpoint``, ``EarlyStopping``, ``ReduceLROnPlateau``) infer
    ``mode="auto"`` from a metric's direction only for metrics grouped in a ``MetricsList``, as
    ``compile(metrics=...)`` groups them; a model's own trackers need the same grouping.
    ``result()`` is ``{name: value}``, what ``train_step``/``test_step`` return.
    """

    def __init__(self, trackers):
        for tracker in trackers:
            tracker._direction = "down"
        super().__init__(list(trackers), name="losses")

    def result(self):
        return {tracker.name: tracker.result() for tracker in self.metrics}


def step_seed(seed, step, stream):
    """The int32 ``[2]`` seed of one sampling ``stream`` at training ``step`` on this replica.

    Stateless: derived from the model's ``seed``, the optimizer's ``iterations`` (saved with the
    model, so a reloaded model continues with the same noise) and the replica id (each replica
    draws different noise). A ``keras.random.SeedGenerator`` would need a variable update inside
    the replica context and its state is not written to ``.keras`` files.
    """
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    key = tf.stack([tf.constant(as_int32(seed), tf.int32), tf.cast(step, tf.int32)])
    key = tf.random.experimental.stateless_fold_in(key, tf.cast(replica, tf.int32))
    return tf.random.experimental.stateless_fold_in(key, stream)


def scaled_loss(optimizer, loss):
    """The loss to differentiate; call it inside the ``GradientTape``.

    Keras optimizers sum gradients over replicas, so the per-replica mean loss is divided by the
    replica count; ``scale_loss`` multiplies by the dynamic loss scale of a LossScaleOptimizer
    (mixed precision) and is the identity otherwise.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return optimizer.scale_loss(loss / replicas if replicas > 1 else loss)


def prepare_optimizer(model, optimizer, default, variables):
    """Resolve, wrap for mixed precision (dynamic loss scaling) and build an optimizer."""
    optimizer = keras.optimizers.get(optimizer) if optimizer is not None else default()
    if model.dtype_policy.name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    # Building now creates the slot variables under the caller's distribution scope and gives a
    # reloaded model's saved optimizer state something to load into.
    optimizer.build(variables)
    return optimizer


def sample_in_chunks(prior, latents_to_images, n, seed, element_shape):
    """``latents_to_images(prior.sample(n, seed))`` as NumPy, run ``GENERATE_CHUNK`` rows at a time.

    ``seed=None`` draws fresh latents (see ``zoo.priors.seeds.fresh_or_seed``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"n must be a non-negative int, got {n!r}.")
    z = prior.sample(int(n), fresh_or_seed(seed))
    outputs = [
        keras.ops.convert_to_numpy(tf.cast(latents_to_images(z[start:start + GENERATE_CHUNK]), tf.float32))
        for start in range(0, int(n), GENERATE_CHUNK)
    ]
    if not outputs:
        return np.zeros((0, *element_shape), np.float32)
    return np.concatenate(outputs, axis=0)


def evaluation_seed(seed, step, batch_index, stream=0):
    """The int32 ``[2]`` seed of ``test_step``'s noise for the ``batch_index``-th batch of one evaluation.

    Stateless like :func:`step_seed` and disjoint from the training streams: evaluating the same
    weights twice gives the same losses. ``batch_index`` is the number of batches the loss
    trackers have counted since ``evaluate`` reset them (any count that grows with every batch).
    """
    key = step_seed(seed, step, _EVALUATION_STREAM + stream)
    return tf.random.experimental.stateless_fold_in(key, tf.cast(batch_index, tf.int32))


class GANOptimizers:
    """``model.optimizer`` of a two-optimizer GAN, for Keras callbacks that adjust the learning rate.

    Keras' ``ReduceLROnPlateau`` and ``LearningRateScheduler`` read and assign
    ``model.optimizer.learning_rate``. Here that is the generator's rate; assigning it sets the
    generator's rate and the discriminator's at the ratio the two had when the model was compiled,
    so both optimizers follow the schedule and the two-timescale ratio is kept. ``iterations`` is
    the discriminator's update count, one per training step. The optimizers themselves are
    ``model.g_optimizer`` and ``model.d_optimizer``.
    """

    def __init__(self, d_optimizer, g_optimizer):
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        g_rate = _rate(g_optimizer)
        self.ratio = _rate(d_optimizer) / g_rate if g_rate > 0 else 1.0

    @property
    def learning_rate(self):
        return self.g_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.g_optimizer.learning_rate = value
        self.d_optimizer.learning_rate = float(value) * self.ratio

    @property
    def iterations(self):
        return self.d_optimizer.iterations

    @property
    def built(self):
        return self.d_optimizer.built and self.g_optimizer.built

    @property
    def variables(self):
        return [*self.d_optimizer.variables, *self.g_optimizer.variables]

    def __repr__(self):
        return f"<GANOptimizers d={self.d_optimizer.name} g={self.g_optimizer.name} d/g rate ratio={self.ratio:g}>"


def _rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
