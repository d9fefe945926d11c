"""``VAE``: a variational auto-encoder trained with ``model.fit``, optionally with GDPP.

Loss per batch (float32)::

    reconstruction(x, decoder(z)) + kl_weight * KL(q(z|x) || prior) + w * gdpp_loss(phi(x), phi(x_fake))

with ``z = mean + exp(logvar / 2) * eps`` and ``phi`` the encoder's last hidden layer. For the GDPP
term ``x_fake = decode(prior sample)`` goes back through the encoder (the GDPP paper's eq. 7). Unlike
the authors' released script (``papers.md`` 2.8, item 1) the term is really part of the optimised
loss. ``GDPP_VAE_WEIGHT`` (100) is the paper's weight.

The KL term is analytic against the standard normal prior; against any other prior with full support
(e.g. Cauchy) it is the one-sample Monte-Carlo estimate ``log q(z|x) - log p(z)``. Priors with
bounded support (uniform, non-parametric) make that KL infinite and are refused.
"""

from __future__ import annotations

import math

import numpy as np

from zoo._tf import tf

import keras

from zoo import losses
from zoo._seeds import check_seed
from zoo.errors import ConfigError
from zoo.models import _common
from zoo.models.base import GenerativeModel

#: The GDPP paper's diversity weight for the VAE (``dpp_weight = 100`` in the authors' script).
GDPP_VAE_WEIGHT = 100.0
#: Options earlier releases took, with the value the model now always uses (saved files may carry them).
_RETIRED = {"gdpp_eigenvector_signs": "samples", "gdpp_eigenvalue_weight": losses.GDPP_EIGENVALUE_WEIGHT}


@keras.saving.register_keras_serializable(package="zoo")
class VAE(GenerativeModel):
    """VAE around an encoder ``x -> [mean, logvar, features]`` and a decoder ``z -> logits``.

    Args:
        encoder, decoder: ``keras.Model`` objects (see ``zoo.models.vae_encoder``/``vae_decoder``).
        prior: a name from ``zoo.priors``, a ``LatentPrior`` or a distribution (event size = latent_dim).
        diversity_weight: GDPP weight ``w >= 0``; ``GDPP_VAE_WEIGHT`` is the paper's.
        reconstruction: ``"bernoulli"`` (decoder logits, pixels mapped to [0, 1]) or ``"gaussian"``
            (decoder output is a pre-tanh mean, fixed ``reconstruction_scale``).
        reconstruction_scale: standard deviation of the Gaussian likelihood (images in [-1, 1]).
        kl_weight: weight of the KL term (1 is the ELBO).
        gdpp_compute_dtype: eigen-decomposition dtype of the GDPP loss.
        gdpp_eigenvalue_term: ``"authors_code"`` (default) or ``"paper_sum"``, the GDPP eigenvalue
            term at the paper's equation-5 weight (a departure from the authors' code; see
            ``zoo.losses.gdpp_loss``).
        gdpp_centre_features: ``False`` (default) or ``True``: GDPP compares batch-centred features
            (a departure from the authors' code; see ``zoo.losses.gdpp_loss``).
        seed: int seed of the training-time noise, 0 to 2**32 - 1 (stateless, see ``_common.step_seed``).
    """

    encodes = True

    def __init__(
        self,
        encoder,
        decoder,
        prior="normal",
        diversity_weight=0.0,
        reconstruction="bernoulli",
        reconstruction_scale=0.1,
        kl_weight=1.0,
        gdpp_compute_dtype="float64",
        seed=0,
        gdpp_eigenvalue_term="authors_code",
        gdpp_centre_features=False,
        **kwargs,
    ):
        _common.drop_retired_options(kwargs, _RETIRED, "VAE")
        super().__init__(**kwargs)
        self.encoder = _common.deserialize_submodel(encoder, "encoder")
        self.decoder = _common.deserialize_submodel(decoder, "decoder")
        if len(self.encoder.outputs) != 3:
            raise ConfigError(
                "The encoder must return [mean, logvar, features] (see zoo.models.vae_encoder); "
                f"it has {len(self.encoder.outputs)} outputs."
            )
        self.latent_dim = int(self.decoder.input_shape[-1])
        if int(self.encoder.output_shape[0][-1]) != self.latent_dim:
            raise ConfigError(
                f"The encoder's mean has {self.encoder.output_shape[0][-1]} dims but the decoder takes "
                f"{self.latent_dim}; build both with the same latent_dim."
            )
        self.element_shape = tuple(int(d) for d in self.decoder.output_shape[1:])
        if tuple(self.encoder.input_shape[1:]) != self.element_shape:
            raise ConfigError(
                f"The decoder makes images of shape {self.element_shape} but the encoder takes "
                f"{tuple(self.encoder.input_shape[1:])}; build both for the same image size/channels."
            )
        self.prior = _common.resolve_prior(prior, self.latent_dim)
        self._analytic_kl = self._check_prior_support()
        self.diversity_weight = _common.check_diversity_weight(diversity_weight)
        if reconstruction not in losses.RECONSTRUCTION_LOSSES:
            raise ConfigError(
                f"reconstruction must be one of {losses.RECONSTRUCTION_LOSSES}, got {reconstruction!r}."
            )
        if not reconstruction_scale > 0 or not kl_weight >= 0:
            raise ConfigError(
                f"reconstruction_scale must be > 0 and kl_weight >= 0, got {reconstruction_scale}, {kl_weight}."
            )
        losses.check_gdpp_options(gdpp_compute_dtype, gdpp_eigenvalue_term, gdpp_centre_features, prefix="gdpp_")
        self.reconstruction = reconstruction
        self.reconstruction_scale = float(reconstruction_scale)
        self.kl_weight = float(kl_weight)
        self.gdpp_compute_dtype = gdpp_compute_dtype
        self.gdpp_eigenvalue_term = gdpp_eigenvalue_term
        self.gdpp_centre_features = gdpp_centre_features
        self.seed = check_seed(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.gdpp_loss_tracker = keras.metrics.Mean(name="gdpp_loss")
        trackers = [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]
        self.loss_trackers = _common.LossTrackers(
            trackers + [self.gdpp_loss_tracker] if self.diversity_weight > 0 else trackers
        )

    def _check_prior_support(self):
        """True for the standard normal (analytic KL); ConfigError for bounded-support priors."""
        params = self.prior.params or {}
        if self.prior.kind == "normal" and float(params.get("loc", 0.0)) == 0.0 and float(params.get("scale", 1.0)) == 1.0:
            return True
        far = tf.fill([1, self.latent_dim], 1e3)
        if not np.all(np.isfinite(keras.ops.convert_to_numpy(self.prior.distribution().log_prob(far)))):
            raise ConfigError(
                f"The {self.prior.kind!r} prior has bounded support, so KL(q(z|x) || prior) is infinite for "
                "a Gaussian posterior. Train the VAE with prior='normal' (or 'cauchy')."
            )
        return False

    # ---- Keras plumbing -------------------------------------------------------------------------

    def call(self, x, training=False):
        """Reconstruction of ``x`` through the posterior mean, images in [-1, 1]."""
        mean, _, _ = self.encoder(x, training=training)
        return self.outputs_to_images(self.decoder(mean, training=training))

    def image_network(self):
        return self.decoder

    @property
    def metrics(self):
        return [self.loss_trackers]

    def compile(self, optimizer=None, **kwargs):
        """``optimizer`` default Adam(1e-3) (the GDPP VAE's); dynamic loss scaling under ``mixed_float16``.

        Other keyword arguments (``jit_compile``, ``steps_per_execution``, ``run_eagerly``) go to
        ``keras.Model.compile``; ``loss``/``metrics`` are fixed by the model.
        """
        for name in ("loss", "metrics"):
            if kwargs.get(name) is not None:
                raise ConfigError(f"VAE.compile computes its own loss and metrics; drop {name}=.")
            kwargs.pop(name, None)
        super().compile(optimizer=None, **kwargs)
        self.optimizer = _common.prepare_optimizer(
            self, optimizer, lambda: keras.optimizers.Adam(1e-3), self.trainable_variables
        )
        self._compile_kwargs = {k: kwargs[k] for k in ("jit_compile", "steps_per_execution") if k in kwargs}

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or getattr(self, "optimizer", None) is None:
            return {}
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer), **self._compile_kwargs}

    def compile_from_config(self, config):
        config = dict(config)
        self.compile(optimizer=keras.saving.deserialize_keras_object(config.pop("optimizer")), **config)

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            prior=keras.saving.serialize_keras_object(self.prior),
            diversity_weight=self.diversity_weight,
            reconstruction=self.reconstruction,
            reconstruction_scale=self.reconstruction_scale,
            kl_weight=self.kl_weight,
            gdpp_compute_dtype=self.gdpp_compute_dtype,
            gdpp_eigenvalue_term=self.gdpp_eigenvalue_term,
            gdpp_centre_features=self.gdpp_centre_features,
            seed=self.seed,
        )
        return config

    # ---- maths ----------------------------------------------------------------------------------

    def outputs_to_images(self, outputs):
        """Decoder logits -> images in [-1, 1]: ``2 sigmoid - 1`` (Bernoulli) or ``tanh`` (Gaussian)."""
        outputs = tf.cast(outputs, tf.float32)
        if self.reconstruction == "bernoulli":
            return 2.0 * tf.sigmoid(outputs) - 1.0
        return tf.tanh(outputs)

    def _kl(self, mean, logvar, z):
        if self._analytic_kl:
            return losses.gaussian_kl(mean, logvar)
        mean, logvar = tf.cast(mean, tf.float32), tf.cast(logvar, tf.float32)
        log_q = -0.5 * tf.reduce_sum(
            logvar + tf.square(z - mean) * tf.exp(-logvar) + math.log(2.0 * math.pi), axis=1
        )
        return tf.reduce_mean(log_q - self.prior.distribution().log_prob(z))

    def _loss_terms(self, images, noise_seed, prior_seed, training):
        """``(loss, reconstruction, kl, gdpp term or None)`` of one batch of images in [-1, 1]."""
        batch = tf.shape(images)[0]
        noise = tf.random.stateless_normal([batch, self.latent_dim], noise_seed)
        mean, logvar, real_features = self.encoder(images, training=training)
        z = tf.cast(mean, tf.float32) + tf.exp(0.5 * tf.cast(logvar, tf.float32)) * noise
        reconstruction = losses.vae_reconstruction_loss(
            images, self.decoder(z, training=training), self.reconstruction, self.reconstruction_scale
        )
        kl = self._kl(mean, logvar, z)
        loss = reconstruction + self.kl_weight * kl
        if self.diversity_weight <= 0:
            return loss, reconstruction, kl, None
        fakes = self.latents_to_images(self.prior.sample(batch, prior_seed), training=training)
        _, _, fake_features = self.encoder(fakes, training=training)
        diversity = losses.gdpp_loss(
            real_features, fake_features, self.gdpp_compute_dtype, self.gdpp_eigenvalue_term, self.gdpp_centre_features
        )
        return loss + self.diversity_weight * diversity, reconstruction, kl, diversity

    def _record(self, images, loss, reconstruction, kl, diversity):
        weight, gdpp_weight = _common.tracker_weights(images)
        self.loss_tracker.update_state(loss, sample_weight=weight)
        self.reconstruction_tracker.update_state(reconstruction, sample_weight=weight)
        self.kl_tracker.update_state(kl, sample_weight=weight)
        if diversity is not None:
            self.gdpp_loss_tracker.update_state(diversity, sample_weight=gdpp_weight)
        return self.loss_trackers.result()

    def train_step(self, data):
        images = self.check_batch(data)
        if self.diversity_weight > 0:
            images = _common.check_gdpp_batch(images, "VAE")
        step = self.optimizer.iterations
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            terms = self._loss_terms(
                images, _common.step_seed(self.seed, step, 0), _common.step_seed(self.seed, step, 1), training=True
            )
            scaled = _common.scaled_loss(self.optimizer, terms[0])
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return self._record(images, *terms)

    def test_step(self, data):
        """``train_step``'s losses on one batch at the current weights, nothing updated.

        The posterior and prior noise are stateless, keyed by the model's seed, the training step
        and the batch's position in this evaluation (``_common.evaluation_seed``): evaluating the same
        weights twice reports the same numbers.
        """
        images = self.check_batch(data)
        if self.diversity_weight > 0:
            images = _common.check_gdpp_batch(images, "VAE")
        step, index = self.optimizer.iterations, self.loss_tracker.count
        seeds = (_common.evaluation_seed(self.seed, step, index, 0), _common.evaluation_seed(self.seed, step, index, 1))
        return self._record(images, *self._loss_terms(images, *seeds, training=False))

    # ---- inference ------------------------------------------------------------------------------

    def encode(self, x):
        """``x [B, *element_shape]`` in [-1, 1] -> ``(mean, logvar)`` NumPy float32 ``[B, latent_dim]``
        (``B = 0`` gives two ``[0, latent_dim]`` arrays)."""
        x = self.check_batch(tf.convert_to_tensor(x))
        if x.shape[0] == 0:  # TensorFlow's convolutions fail on an empty batch with a shape error
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        mean, logvar, _ = self.encoder(x, training=False)
        return (keras.ops.convert_to_numpy(tf.cast(mean, tf.float32)),
                keras.ops.convert_to_numpy(tf.cast(logvar, tf.float32)))

    def decode(self, z):
        """``z [B, latent_dim]`` -> images NumPy float32 ``[B, *element_shape]`` in [-1, 1]."""
        z = tf.convert_to_tensor(z, tf.float32)
        if z.shape.rank != 2 or z.shape[-1] != self.latent_dim:
            raise ConfigError(f"decode expects z of shape [batch, {self.latent_dim}], got {list(z.shape)}.")
        return keras.ops.convert_to_numpy(self.latents_to_images(z))

    def reconstruct(self, x):
        """Images decoded from the posterior means of ``x`` (NumPy, [-1, 1])."""
        mean, _ = self.encode(x)
        return self.decode(mean)

    def serving_signatures(self, serving):
        """``decode(z)``, ``encode(images) -> {mean, logvar}`` and ``reconstruct(images)`` (from the
        posterior means), for ``zoo export``."""
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        image_spec = tf.TensorSpec([None, *self.element_shape], tf.float32, name="images")

        def posterior(images):
            mean, logvar, _ = self.encoder(serving.check_images(images), training=False)
            return tf.cast(mean, tf.float32), tf.cast(logvar, tf.float32)

        def decode(z):
            return serving.pixels(serving.latents_to_images(serving.check_latents(z, "z")))

        def encode(images):
            mean, logvar = posterior(images)
            return {"mean": mean, "logvar": logvar}

        def reconstruct(images):
            return serving.pixels(serving.latents_to_images(posterior(images)[0]))

        return {"decode": (decode, [z_spec]), "encode": (encode, [image_spec]),
                "reconstruct": (reconstruct, [image_spec])}

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' ``Model.export`` of :meth:`call`: images ``[B, *element_shape]`` -> reconstructions.

        ``zoo export`` writes the zoo's serving signatures (sample, encode, decode, ...) instead.
        """
        if input_signature is None:
            input_signature = [keras.InputSpec(shape=(None, *self.element_shape), dtype="float32")]
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
