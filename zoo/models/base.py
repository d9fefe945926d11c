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

Everything else (``generate``, batch checks in ``fit``/``evaluate``, sample grids, checkpoints,
EMA, evaluation, SavedModel export) then works through this contract.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import warnings

import numpy as np

from zoo._tf import tf

import keras

from zoo.errors import ConfigError
from zoo.models import _common

#: The roles an optimizer can have in a training recipe (see :class:`OptimizerSlot`).
OPTIMIZER_ROLES = ("generator", "discriminator")
#: How far a float pixel may stray beyond [-1, 1] (float rounding of ``x / 127.5 - 1``) and pass.
PIXEL_TOLERANCE = 1e-3
# Names that mark the zoo's own checks in TensorFlow's errors (see _as_config_errors).
_SHAPE_CHECK = "zoo_batch_shape"
_RANGE_MARK = ("<zoo-pixel-range>", "</zoo-pixel-range>")


class PixelRangeWarning(UserWarning):
    """A batch of images has no negative pixel: likely 0..1 data where the zoo expects [-1, 1]."""


def _range_message(model, low, high) -> str:
    return (f"{type(model).__name__} takes float pixels in [-1, 1] but a batch holds values from {low} to {high}. "
            "Convert them first: x / 127.5 - 1 for 0..255 pixels, 2 * x - 1 for 0..1 ones (zoo.data does this).")


def _never_negative_warning(model) -> str:
    return (f"{type(model).__name__} got images without a single negative pixel: are they in [0, 1]? The zoo's "
            "images are in [-1, 1] (2 * x - 1 converts 0..1 pixels). Very bright images look the same; then "
            "ignore this warning.")


def _check_pixels(model, x: np.ndarray) -> None:
    """ConfigError for image pixels outside [-1, 1]; a ``PixelRangeWarning`` when none is negative."""
    if len(model.element_shape) != 3 or x.size == 0:
        return
    low, high = float(np.min(x)), float(np.max(x))
    if not (low >= -1.0 - PIXEL_TOLERANCE and high <= 1.0 + PIXEL_TOLERANCE):
        raise ConfigError(_range_message(model, f"{low:g}", f"{high:g}"))
    if low >= 0.0:
        warnings.warn(_never_negative_warning(model), PixelRangeWarning, stacklevel=3)


def _assert_pixels(model, x, warn):
    """``x`` once its pixels are in [-1, 1] (an ``Assert`` in the input pipeline), calling ``warn``
    (through ``tf.py_function``) for a batch without a negative pixel. Integer pixels pass: the
    trace refuses them."""
    if x.dtype.is_integer or x.dtype == tf.string:
        return x
    values = tf.cast(x, tf.float32)
    low, high = tf.reduce_min(values), tf.reduce_max(values)
    inside = tf.logical_and(low >= -1.0 - PIXEL_TOLERANCE, high <= 1.0 + PIXEL_TOLERANCE)
    message = tf.strings.format(_RANGE_MARK[0] + _range_message(model, "{}", "{}") + _RANGE_MARK[1], [low, high])
    never_negative = tf.logical_and(tf.size(values) > 0, low >= 0.0)
    warned = tf.cond(never_negative, lambda: tf.py_function(lambda: warn() or True, [], tf.bool),
                     lambda: tf.constant(False))
    with tf.control_dependencies([tf.debugging.Assert(inside, [message]), warned]):
        return tf.identity(x)


@contextlib.contextmanager
def _as_config_errors(model):
    """TensorFlow's errors from the zoo's batch checks, re-raised as the ``ConfigError`` they stand for."""
    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        text = error.message
        start, end = text.find(_RANGE_MARK[0]), text.find(_RANGE_MARK[1])
        if 0 <= start < end:
            raise ConfigError(text[start + len(_RANGE_MARK[0]):end]) from None
        shape = re.search(r"Shape of tensor \S+ \[([-\d,]*)\] is not compatible", text)
        if _SHAPE_CHECK in text and shape:
            got = [int(d) for d in shape.group(1).split(",") if d]
            raise _common.shape_error(type(model).__name__, model.element_shape, got) from None
        raise


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
            raise ConfigError(f"OptimizerSlot role must be one of {OPTIMIZER_ROLES}, got {self.role!r}.")


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

        Takes a bare tensor or an ``(x, labels)`` tuple (labels are ignored); returns float32 with
        the static shape ``[batch, *element_shape]``. Refused with ``ConfigError``: a dict, integer
        pixels, a shape that differs from ``element_shape`` (checked when tracing for the sizes the
        trace knows, and on every batch for the others: an ``EnsureShape`` op, which XLA checks
        when it compiles), and, given eagerly (``VAE.encode``, ``run_eagerly=True``), image
        pixels outside [-1, 1]. In graphs the pixel range is checked on the batches ``fit`` and
        ``evaluate`` read (see :meth:`fit`).
        """
        name = type(self).__name__
        x = _common.unpack_batch(data, self.element_shape, name)
        if not tf.inside_function():
            if tuple(x.shape[1:]) != tuple(self.element_shape):
                raise _common.shape_error(name, self.element_shape, x.shape.as_list())
            _check_pixels(self, keras.ops.convert_to_numpy(x))
            return x
        return tf.ensure_shape(x, [None, *self.element_shape], name=_SHAPE_CHECK)

    def fit(self, x=None, *args, **kwargs):
        """Keras' ``fit``, with every batch checked (:meth:`check_batch`), and for images its pixels:

        * refused (``ConfigError``): any value outside [-1, 1] (``PIXEL_TOLERANCE`` aside), i.e.
          0..255 pixels, in arrays before training starts and in a ``tf.data.Dataset``'s batches
          as they are read (one ``reduce_min``/``reduce_max`` per batch, in the input pipeline,
          so also under XLA);
        * warned once (``PixelRangeWarning``): no negative value at all, in an array or a dataset
          batch: 0..1 pixels most likely (bright images can look the same).

        Other inputs (Python generators, ``keras.utils.PyDataset``) get the shape checks only.
        ``validation_data`` is checked the same way.
        """
        if "validation_data" in kwargs:
            kwargs["validation_data"] = self._checked_input(kwargs["validation_data"])
        with _as_config_errors(self):
            return super().fit(self._checked_input(x), *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        """Keras' ``evaluate``, with the batch checks of :meth:`fit`."""
        with _as_config_errors(self):
            return super().evaluate(self._checked_input(x), *args, **kwargs)

    def _checked_input(self, data):
        """``fit``'s ``x`` (or ``validation_data``) with the pixel checks of :meth:`fit` applied."""
        if len(self.element_shape) != 3:
            return data
        if isinstance(data, tf.data.Dataset):
            warned = []  # one warning per fit, from the input pipeline's thread

            def warn():
                if not warned:
                    warned.append(True)
                    warnings.warn(_never_negative_warning(self), PixelRangeWarning, stacklevel=2)

            def check(*element):
                checked = (_assert_pixels(self, element[0], warn), *element[1:])
                return checked if len(checked) > 1 else checked[0]

            return data.map(check)
        if isinstance(data, tuple) and data:  # validation_data=(x, y)
            return (self._checked_input(data[0]), *data[1:])
        if isinstance(data, np.ndarray) or (isinstance(data, tf.Tensor) and not tf.inside_function()):
            if keras.ops.convert_to_numpy(data).dtype.kind == "f":
                _check_pixels(self, keras.ops.convert_to_numpy(data))
        return data

    def generate(self, n, seed=None) -> np.ndarray:
        """``n`` samples ``float32 [n, *element_shape]`` (images in [-1, 1]) from prior seed ``seed``
        (an int ``s`` means ``(0, s)``; None draws fresh samples)."""
        return _common.sample_in_chunks(self.prior, self.latents_to_images, n, seed, self.element_shape)

    def optimizer_targets(self) -> list:
        """``(optimizer, variables)`` of each compiled optimizer, in :meth:`optimizer_slots` order."""
        return [(getattr(self, slot.argument), slot.variables) for slot in self.optimizer_slots()]
