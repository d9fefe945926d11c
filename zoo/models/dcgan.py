"""``DCGAN``: a GAN (image DCGAN or the synthetic MLP GAN) trained with ``model.fit``, optionally GDPP.

One ``train_step`` = one discriminator update followed by ``generator_steps`` generator updates,
each on a fresh prior sample. With
``diversity_weight = w > 0`` the generator loss is the GDPP paper's
``0.5 * (adversarial + w * gdpp_loss(phi(real), phi(fake)))`` where ``phi`` is the
discriminator's last hidden layer; ``phi(real)`` is taken from the discriminator step's forward
pass (as the authors' graph does: G and D losses came from one ``sess.run``). The discriminator loss
never changes. ``GDPP_GAN_WEIGHT`` (1.0) is the paper's weight.

Training noise is the prior's. The GDPP Stacked-MNIST script's training latents and two-sided
label smoothing are a subclass of their own, ``zoo.models.reproduction.GDPPStackedMNISTDCGAN``.
"""

from __future__ import annotations

from zoo._tf import tf

import keras

from zoo import losses
from zoo._seeds import check_seed
from zoo.errors import ConfigError
from zoo.models import _common
from zoo.models.base import GenerativeModel, OptimizerSlot

#: The GDPP paper's diversity weight for GANs (``G = 0.5 * (G_adv + 1.0 * L_DPP)``).
GDPP_GAN_WEIGHT = 1.0
#: Options earlier releases took, with the value the model now always uses (saved files may carry them).
_RETIRED = {
    "adversarial_loss": "non_saturating",
    "update": "alternating",
    "gdpp_eigenvector_signs": "samples",
    "gdpp_eigenvalue_weight": losses.GDPP_EIGENVALUE_WEIGHT,
}


def _default_optimizer():
    # carpedm20 DCGAN / Radford et al.: Adam(2e-4, beta_1=0.5).
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(GenerativeModel):
    """GAN wrapper around a generator and a feature-exposing discriminator.

    Args:
        generator: ``keras.Model`` ``z [B, latent_dim] -> samples [B, *element_shape]``.
        discriminator: ``keras.Model`` ``samples -> [logits [B, 1], features [B, F]]``.
        prior: a name from ``zoo.priors``, a ``LatentPrior`` or a distribution; event size must be
            ``latent_dim``.
        diversity_weight: GDPP weight ``w >= 0``; 0 trains a plain GAN, ``GDPP_GAN_WEIGHT`` the paper's.
        label_smoothing: one-sided smoothing ``s`` in [0, 1): the real target becomes ``1 - s``.
        generator_steps: generator updates per discriminator update (carpedm20 used 2).
        gdpp_compute_dtype: eigen-decomposition dtype of the GDPP loss (``"float64"``/``"float32"``).
        gdpp_eigenvalue_term: ``"authors_code"`` (default) or ``"paper_sum"``, the GDPP eigenvalue
            term at the paper's equation-5 weight (a departure from the authors' code; see
            ``zoo.losses.gdpp_loss``).
        gdpp_centre_features: ``False`` (default) or ``True``: GDPP compares batch-centred features
            (a departure from the authors' code; see ``zoo.losses.gdpp_loss``).
        seed: int seed of the training-time noise, 0 to 2**32 - 1 (stateless, see ``_common.step_seed``).
    """

    def __init__(
        self,
        generator,
        discriminator,
        prior="uniform",
        diversity_weight=0.0,
        label_smoothing=0.0,
        generator_steps=1,
        gdpp_compute_dtype="float64",
        seed=0,
        gdpp_eigenvalue_term="authors_code",
        gdpp_centre_features=False,
        **kwargs,
    ):
        _common.drop_retired_options(kwargs, _RETIRED, "DCGAN")
        super().__init__(**kwargs)
        self.generator = _common.deserialize_submodel(generator, "generator")
        self.discriminator = _common.deserialize_submodel(discriminator, "discriminator")
        if len(self.discriminator.outputs) != 2:
            raise ConfigError(
                "The discriminator must return [logits, features] (see zoo.models.dcgan_discriminator); "
                f"it has {len(self.discriminator.outputs)} outputs."
            )
        self.latent_dim = int(self.generator.input_shape[-1])
        self.element_shape = tuple(int(d) for d in self.generator.output_shape[1:])
        if tuple(self.discriminator.input_shape[1:]) != self.element_shape:
            raise ConfigError(
                f"The generator makes samples of shape {self.element_shape} but the discriminator takes "
                f"{tuple(self.discriminator.input_shape[1:])}; build both for the same image size/channels."
            )
        self.prior = _common.resolve_prior(prior, self.latent_dim)
        self.diversity_weight = _common.check_diversity_weight(diversity_weight)
        losses.check_label_smoothing("non_saturating", label_smoothing)
        if isinstance(generator_steps, bool) or not isinstance(generator_steps, int) or generator_steps < 1:
            raise ConfigError(f"generator_steps must be an int >= 1, got {generator_steps!r}.")
        losses.check_gdpp_options(gdpp_compute_dtype, gdpp_eigenvalue_term, gdpp_centre_features, prefix="gdpp_")
        self.label_smoothing = float(label_smoothing)
        self.generator_steps = generator_steps
        self.gdpp_compute_dtype = gdpp_compute_dtype
        self.gdpp_eigenvalue_term = gdpp_eigenvalue_term
        self.gdpp_centre_features = gdpp_centre_features
        self.seed = check_seed(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.gdpp_loss_tracker = keras.metrics.Mean(name="gdpp_loss")
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        self.loss_trackers = _common.LossTrackers(
            trackers + [self.gdpp_loss_tracker] if self.diversity_weight > 0 else trackers
        )

    # ---- Keras plumbing -------------------------------------------------------------------------

    def call(self, z, training=False):
        """``z [B, latent_dim] -> samples [B, *element_shape]`` (the generator)."""
        return self.generator(z, training=training)

    def image_network(self):
        return self.generator

    def optimizer_slots(self):
        """The discriminator's optimizer, then the generator's (``generator_steps`` updates per step)."""
        return (
            OptimizerSlot("d_optimizer", "discriminator", self.discriminator.trainable_variables),
            OptimizerSlot("g_optimizer", "generator", self.generator.trainable_variables, self.generator_steps),
        )

    @property
    def metrics(self):
        return [self.loss_trackers]

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """``d_optimizer``/``g_optimizer``: optimizers, names or configs (default Adam(2e-4, beta_1=0.5)).

        Other keyword arguments (``jit_compile``, ``steps_per_execution``, ``run_eagerly``) go to
        ``keras.Model.compile``. Under a ``mixed_float16`` policy both optimizers get dynamic loss scaling.
        ``model.optimizer`` is then a ``GANOptimizers`` view of the two, so Keras' learning-rate
        callbacks scale both rates and keep their ratio.
        """
        for name in ("optimizer", "loss", "metrics"):
            if kwargs.get(name) is not None:
                raise ConfigError(f"DCGAN.compile takes d_optimizer and g_optimizer, not {name}=.")
            kwargs.pop(name, None)
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = _common.prepare_optimizer(
            self, d_optimizer, _default_optimizer, self.discriminator.trainable_variables
        )
        self.g_optimizer = _common.prepare_optimizer(
            self, g_optimizer, _default_optimizer, self.generator.trainable_variables
        )
        self.optimizer = _common.GANOptimizers(self.d_optimizer, self.g_optimizer)
        self._compile_kwargs = {k: kwargs[k] for k in ("jit_compile", "steps_per_execution") if k in kwargs}

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "d_optimizer"):
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config.pop("d_optimizer")),
            g_optimizer=keras.saving.deserialize_keras_object(config.pop("g_optimizer")),
            **config,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            prior=keras.saving.serialize_keras_object(self.prior),
            diversity_weight=self.diversity_weight,
            label_smoothing=self.label_smoothing,
            generator_steps=self.generator_steps,
            gdpp_compute_dtype=self.gdpp_compute_dtype,
            gdpp_eigenvalue_term=self.gdpp_eigenvalue_term,
            gdpp_centre_features=self.gdpp_centre_features,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if cls is DCGAN:
            # Files written before the GDPP Stacked-MNIST script's switches moved out of DCGAN carry
            # them: at their defaults they are dropped; set, the file is that script's model.
            mode = config.pop("label_smoothing_mode", "one_sided")
            noise = config.pop("training_noise", None)
            if mode != "one_sided" or noise is not None:
                from zoo.models.reproduction import GDPPStackedMNISTDCGAN

                return GDPPStackedMNISTDCGAN.from_config(
                    {**config, "label_smoothing_mode": mode, "training_noise": noise}, custom_objects
                )
        return super().from_config(config, custom_objects)

    def _training_latents(self, batch, seed):
        """``[batch, latent_dim]`` latents of one training draw (prior samples)."""
        return self.prior.sample(batch, seed)

    # ---- training -------------------------------------------------------------------------------

    def _discriminator_loss(self, real_logits, fake_logits):
        return losses.discriminator_loss(real_logits, fake_logits, label_smoothing=self.label_smoothing)

    def _adversarial_generator_loss(self, fake_logits):
        return losses.generator_loss(fake_logits)

    def _generator_loss(self, real_features, fake_logits, fake_features):
        """The generator's loss (GDPP-weighted when ``diversity_weight > 0``) and the GDPP term."""
        g_loss = self._adversarial_generator_loss(fake_logits)
        if self.diversity_weight <= 0:
            return g_loss, None
        diversity = losses.gdpp_loss(
            real_features, fake_features, self.gdpp_compute_dtype, self.gdpp_eigenvalue_term, self.gdpp_centre_features
        )
        return 0.5 * (g_loss + self.diversity_weight * diversity), diversity

    def _record(self, d_loss, g_loss, diversity, real):
        weight, gdpp_weight = _common.tracker_weights(real)
        self.d_loss_tracker.update_state(d_loss, sample_weight=weight)
        self.g_loss_tracker.update_state(g_loss, sample_weight=weight)
        if diversity is not None:
            self.gdpp_loss_tracker.update_state(diversity, sample_weight=gdpp_weight)

    def train_step(self, data):
        real = self.check_batch(data)
        if self.diversity_weight > 0:
            real = _common.check_gdpp_batch(real, "DCGAN")
        step = tf.identity(self.d_optimizer.iterations)  # read once: apply() below increments it
        batch = tf.shape(real)[0]
        generator_vars = self.generator.trainable_variables
        discriminator_vars = self.discriminator.trainable_variables

        z = self._training_latents(batch, _common.step_seed(self.seed, step, 0))
        fake = self.generator(z, training=True)  # outside the tape: the D step does not differentiate G
        with tf.GradientTape() as tape:
            real_logits, real_features = self.discriminator(real, training=True)
            fake_logits, _ = self.discriminator(fake, training=True)
            d_loss = self._discriminator_loss(real_logits, fake_logits)
            scaled = _common.scaled_loss(self.d_optimizer, d_loss)
        self.d_optimizer.apply(tape.gradient(scaled, discriminator_vars), discriminator_vars)
        real_features = tf.stop_gradient(real_features)

        for g_step in range(self.generator_steps):
            z = self._training_latents(batch, _common.step_seed(self.seed, step, g_step + 1))
            with tf.GradientTape() as tape:
                fake_logits, fake_features = self.discriminator(self.generator(z, training=True), training=True)
                g_loss, diversity = self._generator_loss(real_features, fake_logits, fake_features)
                scaled = _common.scaled_loss(self.g_optimizer, g_loss)
            self.g_optimizer.apply(tape.gradient(scaled, generator_vars), generator_vars)
            self._record(d_loss, g_loss, diversity, real)
        return self.loss_trackers.result()

    def test_step(self, data):
        """``train_step``'s losses on one batch at the current weights, nothing updated.

        The fakes are generated from stateless noise keyed by the model's seed, the training step
        and the batch's position in this evaluation (``_common.evaluation_seed``), so evaluating the
        same weights twice reports the same numbers; batch norm uses its moving statistics.
        """
        real = self.check_batch(data)
        if self.diversity_weight > 0:
            real = _common.check_gdpp_batch(real, "DCGAN")
        seed = _common.evaluation_seed(self.seed, self.d_optimizer.iterations, self.d_loss_tracker.count)
        z = self._training_latents(tf.shape(real)[0], seed)
        real_logits, real_features = self.discriminator(real, training=False)
        fake_logits, fake_features = self.discriminator(self.generator(z, training=False), training=False)
        d_loss = self._discriminator_loss(real_logits, fake_logits)
        g_loss, diversity = self._generator_loss(real_features, fake_logits, fake_features)
        self._record(d_loss, g_loss, diversity, real)
        return self.loss_trackers.result()

    # ---- sampling -------------------------------------------------------------------------------

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' ``Model.export`` of :meth:`call`: ``z float32 [B, latent_dim] -> samples``.

        ``zoo export`` writes the zoo's serving signatures (seeds, interpolation, uint8 images) instead.
        """
        if input_signature is None:
            input_signature = [keras.InputSpec(shape=(None, self.latent_dim), dtype="float32")]
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
