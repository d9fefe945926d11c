"""Pieces shared by the DCGAN and VAE models: input checks, seeds, replicas, mixed precision."""

from __future__ import annotations

import numpy as np

from zoo._tf import tf

import keras

from zoo.errors import ConfigError
from zoo.priors import as_layer
from zoo.priors.seeds import as_seed

#: Samples per generator call in ``generate`` (bounds memory, not the result: z is drawn at once).
GENERATE_CHUNK = 256


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


def unpack_batch(data, expected_shape, model_name):
    """The input tensor of a training batch, checked against the model's per-sample shape.

    ``fit(dataset)`` hands ``train_step`` a bare tensor; an ``(x, y)`` dataset hands a tuple whose
    labels are ignored. Runs at trace time, so a mismatch is a ConfigError from ``fit``.
    """
    if isinstance(data, (tuple, list)):
        data = data[0]
    if isinstance(data, dict):
        raise ConfigError(f"{model_name} trains on a tensor of samples, not a dict; map the dataset to x.")
    shape = tuple(data.shape[1:])
    if data.shape.rank != len(expected_shape) + 1 or any(
        got is not None and got != want for got, want in zip(shape, expected_shape)
    ):
        raise ConfigError(
            f"{model_name} expects batches of shape [batch, {', '.join(map(str, expected_shape))}] but got "
            f"{list(data.shape)}. Resize the data (zoo.data.load(..., image_size=...)) or build the model "
            "for this shape."
        )
    return tf.cast(data, tf.float32)


def check_gdpp_batch(batch, model_name):
    """GDPP needs >= 2 samples per replica batch: ConfigError when static, a runtime check otherwise."""
    static = batch.shape[0]
    if static is not None:
        if static < 2:
            raise ConfigError(
                f"{model_name} with diversity_weight > 0 needs batches of at least 2 samples per replica "
                f"(got {static}); use a larger batch_size, and drop_remainder=True when batching."
            )
        return batch
    check = tf.debugging.assert_greater_equal(
        tf.shape(batch)[0], 2,
        message=f"{model_name} with diversity_weight > 0 got a batch of 1 sample: batch the dataset with "
        "drop_remainder=True and a batch_size >= 2 per replica.",
    )
    with tf.control_dependencies([check]):
        return tf.identity(batch)


def step_seed(seed, step, stream):
    """The int32 ``[2]`` seed of one sampling ``stream`` at training ``step`` on this replica.

    Stateless: derived from the model's ``seed``, the optimizer's ``iterations`` (saved with the
    model, so a reloaded model continues with the same noise) and the replica id (each replica
    draws different noise). A ``keras.random.SeedGenerator`` would need a variable update inside
    the replica context and its state is not written to ``.keras`` files.
    """
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    key = tf.stack([tf.constant(seed, tf.int32), tf.cast(step, tf.int32)])
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


def sample_in_chunks(prior, network, n, seed, postprocess=None):
    """``network(prior.sample(n, seed))`` as NumPy, run ``GENERATE_CHUNK`` rows at a time."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"n must be a non-negative int, got {n!r}.")
    z = prior.sample(int(n), as_seed(seed))
    outputs = []
    for start in range(0, int(n), GENERATE_CHUNK):
        out = network(z[start:start + GENERATE_CHUNK], training=False)
        if postprocess is not None:
            out = postprocess(out)
        outputs.append(keras.ops.convert_to_numpy(tf.cast(out, tf.float32)))
    if not outputs:
        return np.zeros((0, *network.output_shape[1:]), np.float32)
    return np.concatenate(outputs, axis=0)
