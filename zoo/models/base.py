"""``GenerativeModel``: the one contract of the zoo's models, and all that training, evaluation and
exports use of a model.

A model kind is a ``GenerativeModel`` subclass plus one ``zoo.models.register_model_kind`` call.
What a subclass provides:

* attributes set in ``__init__``: ``prior`` (a ``zoo.priors.LatentPrior``), ``latent_dim`` (int)
  and ``element_shape`` (the per-sample shape of what it makes: ``(H, W, C)`` images or ``(D,)``
  points, as ``zoo.data.spec(...).element_shape``);
* ``image_network()``: the ``keras.Model`` from latents to raw outputs (a generator, a decoder),
  and ``outputs_to_images`` when those outputs are not images in [-1, 1] already (a VAE's logits);
  or ``latents_to_images`` itself;
* ``train_step`` (and ``test_step`` for ``fit(validation_data=...)``/``evaluate``), reading its
  batches through :meth:`GenerativeModel.check_batch`;
* ``optimizer_slots()`` when it trains with more than one optimizer (a GAN's two);
* ``serving_signatures(serving)`` for export signatures beyond the sampling ones (a VAE's
  ``encode``, ``decode``, ``reconstruct``); ``encodes = True`` with ``encode(x)`` for models that
  map images back to latents (evaluation adds the reconstruction metrics);
* ``get_config`` and ``@keras.saving.register_keras_serializable(package="zoo")``, as any Keras
  model.

Everything else (``generate``, sample grids, checkpoints, EMA, evaluation, SavedModel export) then
works through this contract.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from zoo._tf import tf

import keras

from zoo.models import _common

#: The roles an optimizer can have in a training recipe (see :class:`OptimizerSlot`).
OPTIMIZER_ROLES = ("generator", "discriminator")


@dataclasses.dataclass(frozen=True)
class OptimizerSlot:
    """One optimizer a model trains with.

    Attributes:
        argument: the ``compile`` keyword that takes it, and the attribute that holds it once
            compiled (``"optimizer"``, ``"g_optimizer"``, ``"d_optimizer"``).
        role: ``"generator"`` for the optimizer of the networks that make samples (a recipe's
            ``optimizer.learning_rate``; ``train.ema`` averages its variables) or
            ``"discriminator"`` for a critic's (``optimizer.d_learning_rate``).
        variables: the variables it updates.
        updates_per_step: its updates per training step (a learning-rate schedule counts updates).
    """

    argument: str
    role: str
    variables: list
    updates_per_step: int = 1

    def __post_init__(self):
        if self.role not in OPTIMIZER_ROLES:
            raise ValueError(f"OptimizerSlot role must be one of {OPTIMIZER_ROLES}, got {self.role!r}.")


class GenerativeModel(keras.Model):
    """Base class of the zoo's generative models (see the module docstring for the contract).

    Latents are float32 ``[B, latent_dim]``; images are float32 ``[B, H, W, C]`` in [-1, 1]; 2-D
    point models make float32 ``[B, D]``.
    """

    #: True when the model maps images back to latents with ``encode(x) -> (mean, logvar)``.
    encodes = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The networks a zoo model wraps are built when they are passed in, so nothing is left to
        # build; Keras saves, checkpoints and loads only built models.
        self.built = True

    def build(self, input_shape=None):
        self.built = True

    # ---- what a subclass provides ---------------------------------------------------------------

    def image_network(self) -> keras.Model:
        """The ``keras.Model`` ``z [B, latent_dim] -> raw outputs`` that :meth:`latents_to_images` runs.

        Exports run a float16 clone of it for ``precision="float16"``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement image_network() or latents_to_images().")

    def outputs_to_images(self, outputs):
        """:meth:`image_network` outputs -> float32 images in [-1, 1] (points: the points). Default: a cast."""
        return tf.cast(outputs, tf.float32)

    def latents_to_images(self, z, training=False):
        """Latents ``float32 [B, latent_dim]`` -> float32 ``[B, *element_shape]``: images in [-1, 1]
        (points for 2-D point models). A tensor; usable inside ``tf.function`` and SavedModels."""
        return self.outputs_to_images(self.image_network()(z, training=training))

    def optimizer_slots(self) -> tuple[OptimizerSlot, ...]:
        """The optimizers ``compile`` takes, the sample-making (``"generator"``) one last.

        Default: Keras' single ``optimizer`` over every trainable variable.
        """
        return (OptimizerSlot("optimizer", "generator", self.trainable_variables),)

    def serving_signatures(self, serving) -> dict:
        """Export signatures this model adds to the sampling ones: ``{name: (function, input specs)}``.

        ``serving`` is the exporter's toolkit: ``latents_to_images(z)`` (in the export's precision),
        ``check_latents(z, name)``, ``check_images(images)`` (shape, rows, finite, range) and
        ``pixels(images) -> {"images", "images_uint8"}``. Each function takes its inputs as keyword
        tensors named by the ``tf.TensorSpec`` names and returns a dict of tensors. Default: none.
        """
        return {}

    # ---- what the contract gives every model ----------------------------------------------------

    @property
    def output_shape_(self):
        """The former name of :attr:`element_shape` (kept for code written against 0.1)."""
        return self.element_shape

    def check_batch(self, data):
        """The sample tensor of a ``fit``/``evaluate`` batch, checked against :attr:`element_shape`.

        Takes a bare tensor or an ``(x, labels)`` tuple (labels are ignored); returns float32. A
        wrong rank or size, a dict, or integer pixels raise ``ConfigError``.
        """
        return _common.unpack_batch(data, self.element_shape, type(self).__name__)

    def generate(self, n, seed=None) -> np.ndarray:
        """``n`` samples ``float32 [n, *element_shape]`` (images in [-1, 1]) from prior seed ``seed``
        (an int ``s`` means ``(0, s)``; None draws fresh samples)."""
        return _common.sample_in_chunks(self.prior, self.latents_to_images, n, seed, self.element_shape)

    def optimizer_targets(self) -> list:
        """``(optimizer, variables)`` of each compiled optimizer, in :meth:`optimizer_slots` order."""
        return [(getattr(self, slot.argument), slot.variables) for slot in self.optimizer_slots()]
