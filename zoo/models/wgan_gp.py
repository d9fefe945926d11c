"""``WGANGP``: a GAN trained with the Wasserstein loss and a gradient penalty (Gulrajani et al. 2017),
optionally with GDPP, on the same generator and critic networks as :class:`~zoo.models.DCGAN`.

One ``train_step`` is one generator iteration: ``critic_steps`` critic updates, then one generator
update. The ``fit`` batch holds ``critic_steps`` real minibatches of ``B = batch // critic_steps``
samples; critic update ``k`` takes minibatch ``k`` with ``B`` fresh fakes and ``B`` fresh ``alpha``::

    critic:     L_D = mean D(fake) - mean D(real) + lambda * mean_i (||grad_x D(x_i)|| - 1)^2,
                x_i = real_i + alpha_i (fake_i - real_i),  alpha_i ~ U[0, 1] per sample
    generator:  L_G = -mean D(G(z))                                   (B fresh latents)
    with GDPP:  L_G = 0.5 * (-mean D(G(z)) + w * gdpp_loss(phi(real), phi(G(z))))

``D`` is the critic: the discriminator's raw score (no sigmoid) and no BatchNorm (the penalty is
per sample; a BatchNorm critic is refused). ``phi`` is its last hidden layer, and ``phi(real)`` comes
from the last critic update's forward pass, as :class:`~zoo.models.DCGAN` takes it from its
discriminator step; the GDPP term and ``w`` follow the DCGAN's conventions exactly
(``GDPP_GAN_WEIGHT`` = 1 is the paper's weight for GANs).

Why the batch is split: the reference code (``gan_mnist.py``, ``gan_toy.py`` of
igul222/improved_wgan_training) draws a new real batch for each of its 5 critic updates and new
noise for every update (critic and generator). Splitting one ``fit`` batch of ``5 B`` rows gives
every critic update its own real minibatch of ``B`` as there, within one ``train_step`` (a
``tf.data`` pipeline and ``steps_per_epoch`` count generator iterations); reusing one real batch
for the 5 updates would show the critic 5 times fewer real samples. The reference updates the
generator first (skipped at iteration 0) and then the critic; here the critic goes first, the same
sequence from the second iteration on.

Training noise is stateless (``_common.step_seed``) and keyed by the generator's update count, one
per training step: ``model.optimizer.iterations`` counts training steps, while the critic's
optimizer makes ``critic_steps`` updates per step.
"""

from __future__ import annotations

import numbers

import numpy as np

from zoo._tf import tf

import keras

from zoo import losses
from zoo.errors import ConfigError
from zoo.models import _common
from zoo.models.base import OptimizerSlot
from zoo.models.dcgan import DCGAN

#: Gulrajani et al. 2017: lambda = 10, 5 critic updates per generator update, Adam(1e-4, 0.5, 0.9).
GRADIENT_PENALTY_WEIGHT = 10.0
CRITIC_STEPS = 5
#: The DCGAN's options that have no meaning for a Wasserstein critic.
_BCE_OPTIONS = ("label_smoothing", "generator_steps")


def _default_optimizer():
    return keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)


class _CriticOptimizers(_common.GANOptimizers):
    """``model.optimizer`` of a WGAN-GP: as ``GANOptimizers``, but ``iterations`` counts training
    steps with the generator's updates (the critic's optimizer makes ``critic_steps`` per step)."""

    @property
    def iterations(self):
        return self.g_optimizer.iterations


@keras.saving.register_keras_serializable(package="zoo")
class WGANGP(DCGAN):
    """WGAN-GP around a generator and a feature-exposing critic (see the module docstring).

    Args:
        generator: ``keras.Model`` ``z [B, latent_dim] -> samples [B, *element_shape]``.
        discriminator: the critic, ``keras.Model`` ``samples -> [scores [B, 1], features [B, F]]``
            without BatchNorm (``zoo.models.dcgan_critic``,
            ``synthetic_discriminator``).
        prior: as :class:`DCGAN`; default ``"normal"`` (the reference's N(0, I)).
        diversity_weight: GDPP weight ``w >= 0`` (0: plain WGAN-GP; ``GDPP_GAN_WEIGHT``: the paper's).
        critic_steps: critic updates per generator update (5); each ``fit`` batch must hold a
            multiple of it.
        gradient_penalty_weight: ``lambda >= 0`` (10).
        gdpp_compute_dtype, gdpp_eigenvalue_term, gdpp_centre_features, seed: as :class:`DCGAN`.
    """

    def __init__(
        self,
        generator,
        discriminator,
        prior="normal",
        diversity_weight=0.0,
        critic_steps=CRITIC_STEPS,
        gradient_penalty_weight=GRADIENT_PENALTY_WEIGHT,
        gdpp_compute_dtype="float64",
        seed=0,
        **kwargs,
    ):
        given = [name for name in _BCE_OPTIONS if name in kwargs]
        if given:
            raise ConfigError(
                f"WGANGP does not take {', '.join(given)}: its critic has no labels to smooth and it makes "
                "one generator update per step (critic_steps sets the ratio)."
            )
        super().__init__(generator, discriminator, prior=prior, diversity_weight=diversity_weight,
                         gdpp_compute_dtype=gdpp_compute_dtype, seed=seed, **kwargs)
        normalised = [layer.name for layer in self.discriminator._flatten_layers(include_self=False)
                      if isinstance(layer, keras.layers.BatchNormalization)]
        if normalised:
            raise ConfigError(
                f"A WGAN-GP critic must not use BatchNorm (the gradient penalty is per sample, BatchNorm "
                f"mixes the samples of a batch); the discriminator has {', '.join(normalised)}. Build it "
                "with zoo.models.dcgan_critic."
            )
        if isinstance(critic_steps, bool) or not isinstance(critic_steps, numbers.Integral) or critic_steps < 1:
            raise ConfigError(f"critic_steps must be an int >= 1, got {critic_steps!r}.")
        if (isinstance(gradient_penalty_weight, bool) or not isinstance(gradient_penalty_weight, numbers.Real)
                or not np.isfinite(gradient_penalty_weight) or gradient_penalty_weight < 0):
            raise ConfigError(f"gradient_penalty_weight must be a finite number >= 0, got {gradient_penalty_weight!r}.")
        self.critic_steps = int(critic_steps)
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.penalty_tracker, self.wasserstein_tracker]
        self.loss_trackers = _common.LossTrackers(
            trackers + [self.gdpp_loss_tracker] if self.diversity_weight > 0 else trackers
        )

    # ---- Keras plumbing -------------------------------------------------------------------------

    def optimizer_slots(self):
        """The critic's optimizer (``critic_steps`` updates per step), then the generator's (one)."""
        return (
            OptimizerSlot("d_optimizer", "discriminator", self.discriminator.trainable_variables, self.critic_steps),
            OptimizerSlot("g_optimizer", "generator", self.generator.trainable_variables),
        )

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """As :meth:`DCGAN.compile`; the default optimizers are the paper's Adam(1e-4, 0.5, 0.9)."""
        super().compile(d_optimizer=d_optimizer or _default_optimizer(),
                        g_optimizer=g_optimizer or _default_optimizer(), **kwargs)
        self.optimizer = _CriticOptimizers(self.d_optimizer, self.g_optimizer)

    def get_config(self):
        config = super().get_config()
        for name in _BCE_OPTIONS:
            config.pop(name)
        config.update(critic_steps=self.critic_steps, gradient_penalty_weight=self.gradient_penalty_weight)
        return config

    # ---- losses ---------------------------------------------------------------------------------

    def _critic_loss(self, real, fake, alpha, training):
        """``(loss, penalty, wasserstein estimate, phi(real))`` of one critic evaluation."""
        real_scores, real_features = self.discriminator(real, training=training)
        fake_scores, _ = self.discriminator(fake, training=training)
        adversarial = losses.discriminator_loss(real_scores, fake_scores, "wasserstein")
        penalty = losses.gradient_penalty(lambda x: self.discriminator(x, training=training)[0], real, fake, alpha)
        return adversarial + self.gradient_penalty_weight * penalty, penalty, -adversarial, real_features

    def _generator_loss(self, real_features, fake_scores, fake_features):
        """The generator's loss (GDPP-weighted as the DCGAN's when ``diversity_weight > 0``) and the GDPP term."""
        g_loss = losses.generator_loss(fake_scores, "wasserstein")
        if self.diversity_weight <= 0:
            return g_loss, None
        diversity = losses.gdpp_loss(real_features, fake_features, self.gdpp_compute_dtype)
        return 0.5 * (g_loss + self.diversity_weight * diversity), diversity

    def _record(self, d_loss, penalty, wasserstein, real):
        weight, _ = _common.tracker_weights(real)
        self.d_loss_tracker.update_state(d_loss, sample_weight=weight)
        self.penalty_tracker.update_state(penalty, sample_weight=weight)
        self.wasserstein_tracker.update_state(wasserstein, sample_weight=weight)

    def _record_generator(self, g_loss, diversity, real):
        weight, gdpp_weight = _common.tracker_weights(real)
        self.g_loss_tracker.update_state(g_loss, sample_weight=weight)
        if diversity is not None:
            self.gdpp_loss_tracker.update_state(diversity, sample_weight=gdpp_weight)

    # ---- training -------------------------------------------------------------------------------

    def _critic_minibatches(self, real):
        """``real [critic_steps * B, ...]`` -> ``[critic_steps, B, ...]``.

        A batch whose size is not a multiple of ``critic_steps`` is refused: a ``ConfigError`` when
        its size is static, at run time otherwise (the last batch of a NumPy array). Under XLA, which compiles assertions out, the rows beyond the last multiple are left out.
        """
        steps = self.critic_steps
        message = (
            f"WGANGP splits each batch into critic_steps={steps} critic minibatches, so the batch size must be a "
            f"multiple of {steps} (for critic minibatches of 64, batch_size={64 * steps}); with NumPy input the "
            f"number of rows must be one too, or pass a tf.data.Dataset batched with drop_remainder=True."
        )
        static = real.shape[0]
        if static is not None and (static < steps or static % steps):
            raise ConfigError(f"{message} Got a batch of {static}.")
        batch = tf.shape(real)[0]
        with tf.control_dependencies([tf.debugging.assert_equal(batch % steps, 0, message=message)]):
            size = batch // steps
        minibatches = tf.reshape(real[: size * steps], [steps, size, *self.element_shape])
        if static is not None:
            minibatches = tf.ensure_shape(minibatches, [steps, static // steps, *self.element_shape])
        return minibatches

    def _alpha(self, batch, seed):
        return tf.random.stateless_uniform([batch], seed, dtype=tf.float32)

    def train_step(self, data):
        minibatches = self._critic_minibatches(self.check_batch(data))
        step = tf.identity(self.g_optimizer.iterations)  # one per training step, read before any update
        critic_vars = self.discriminator.trainable_variables
        generator_vars = self.generator.trainable_variables

        for k in range(self.critic_steps):
            real = minibatches[k]
            if self.diversity_weight > 0:
                real = _common.check_gdpp_batch(real, "WGANGP")
            batch = tf.shape(real)[0]
            z = self._training_latents(batch, _common.step_seed(self.seed, step, 2 * k))
            fake = self.generator(z, training=True)  # outside the tape: the critic step does not differentiate G
            alpha = self._alpha(batch, _common.step_seed(self.seed, step, 2 * k + 1))
            with tf.GradientTape() as tape:
                d_loss, penalty, wasserstein, real_features = self._critic_loss(real, fake, alpha, training=True)
                scaled = _common.scaled_loss(self.d_optimizer, d_loss)
            self.d_optimizer.apply(tape.gradient(scaled, critic_vars), critic_vars)
            self._record(d_loss, penalty, wasserstein, real)
        real_features = tf.stop_gradient(real_features)

        z = self._training_latents(batch, _common.step_seed(self.seed, step, 2 * self.critic_steps))
        with tf.GradientTape() as tape:
            fake_scores, fake_features = self.discriminator(self.generator(z, training=True), training=True)
            g_loss, diversity = self._generator_loss(real_features, fake_scores, fake_features)
            scaled = _common.scaled_loss(self.g_optimizer, g_loss)
        self.g_optimizer.apply(tape.gradient(scaled, generator_vars), generator_vars)
        self._record_generator(g_loss, diversity, real)
        return self.loss_trackers.result()

    def test_step(self, data):
        """``train_step``'s losses on one batch (taken whole, as one critic minibatch), nothing updated.

        Noise (latents and ``alpha``) is stateless, keyed by the model's seed, the training step and
        the batch's position in this evaluation, so evaluating the same weights twice reports the
        same numbers.
        """
        real = self.check_batch(data)
        if self.diversity_weight > 0:
            real = _common.check_gdpp_batch(real, "WGANGP")
        batch = tf.shape(real)[0]
        step, index = self.g_optimizer.iterations, self.d_loss_tracker.count
        z = self._training_latents(batch, _common.evaluation_seed(self.seed, step, index, 0))
        alpha = self._alpha(batch, _common.evaluation_seed(self.seed, step, index, 1))
        fake = self.generator(z, training=False)
        d_loss, penalty, wasserstein, real_features = self._critic_loss(real, fake, alpha, training=False)
        fake_scores, fake_features = self.discriminator(fake, training=False)
        g_loss, diversity = self._generator_loss(real_features, fake_scores, fake_features)
        self._record(d_loss, penalty, wasserstein, real)
        self._record_generator(g_loss, diversity, real)
        return self.loss_trackers.result()
