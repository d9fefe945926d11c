"""Feature extractors behind one interface, for FID/KID/IS and the k-NN metrics.

An extractor maps a batch of images (float32 NHWC in [-1, 1]) to ``(features [B, D], logits
[B, C] or None)`` in one forward pass. Two are provided:

- ``digits``, ``mnist`` and ``mnist2`` (:class:`DigitFeatures`): the 128-d penultimate layer and
  the 10 logits of one of the zoo's own digit classifiers (:mod:`zoo.metrics.classifier`: ``digits``
  trained on scikit-learn's 8x8 digits, ``mnist`` on the real ``mnist_5k`` digits, ``mnist2`` a
  second, differently built and trained one on the same digits). Work offline; their FIDs are
  labelled "digits-FID", "mnist-FID" and "mnist2-FID"; the first two are what the zoo's model cards report. Take
  one-channel images; other sizes than 28x28 are resized bilinearly to 28x28.
- ``inception`` (:class:`InceptionFeatures`): Keras ``InceptionV3(include_top=False,
  pooling="avg")`` at 299x299, 2048-d. ImageNet weights are used when found in the Keras cache or
  downloadable; its FID is labelled "Keras-InceptionV3 FID" and is *not* comparable with numbers
  computed with the TF1 Inception graph of the papers (different network weights and resize).
  No logits (no Inception Score from this extractor).
"""

from __future__ import annotations

import functools
import os
import pathlib

import numpy as np

from zoo.errors import ConfigError, DataUnavailableError

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + INCEPTION_WEIGHTS_FILE


class FeatureExtractor:
    """Base class. Subclasses set ``name``, ``label`` (how its metrics are named), ``feature_dim``,
    ``num_classes`` (``None`` without logits), ``channels`` (accepted channel counts) and implement
    ``_forward(images) -> (features, logits)`` on a validated float32 batch."""

    name: str
    label: str
    feature_dim: int
    num_classes: int | None
    channels: tuple[int, ...]

    def check_images(self, images) -> np.ndarray:
        """Validate a ``[B, H, W, C]`` batch for this extractor; returns it as float32."""
        array = np.asarray(images, dtype=np.float32)
        if array.ndim != 4 or array.shape[-1] not in self.channels:
            raise ConfigError(
                f"the {self.name!r} feature extractor takes images [B, H, W, C] with C in {self.channels}, "
                f"got shape {array.shape}. Point datasets use the 'modes' metric; stacked digits use 'modes'/'kl'."
            )
        if not np.all(np.isfinite(array)):
            raise ConfigError("images contain NaN or infinite values; check the model's outputs.")
        return array

    def __call__(self, images, batch_size: int = 256):
        """``(features [N, D] float32, logits [N, C] float32 or None)`` for ``[N, H, W, C]`` images."""
        images = self.check_images(images)
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            f, l = self._forward(images[start : start + batch_size])
            features.append(np.asarray(f))
            if l is not None:
                logits.append(np.asarray(l))
        features = np.concatenate(features) if features else np.zeros((0, self.feature_dim), np.float32)
        return features, (np.concatenate(logits) if logits else None)

    def _forward(self, images):
        raise NotImplementedError


class DigitFeatures(FeatureExtractor):
    """A zoo digit classifier's ``features`` layer (128-d) and logits (10).

    ``name``: which shipped classifier (``"digits"``, ``"mnist"`` or ``"mnist2"``); ``classifier``: a Keras model
    of the same architecture to use instead (tests).
    """

    num_classes = 10
    channels = (1,)

    def __init__(self, classifier=None, name: str = "digits"):
        from zoo._tf import tf
        import keras

        from zoo.metrics import classifier as classifier_module

        classifier_module.get_spec(name)
        self.name = self.label = name
        model = classifier or classifier_module.load_classifier(name)
        self._model = keras.Model(
            model.inputs,
            [model.get_layer(classifier_module.FEATURES_LAYER).output, model.outputs[0]],
        )
        self.feature_dim = int(self._model.outputs[0].shape[-1])
        size = classifier_module.IMAGE_SHAPE[:2]

        @tf.function(reduce_retracing=True)
        def forward(images):
            if images.shape[1:3] != size:
                images = tf.image.resize(images, size, method="bilinear")
            return self._model(images, training=False)

        self._forward_fn = forward

    def _forward(self, images):
        features, logits = self._forward_fn(images)
        return features.numpy(), logits.numpy()


def _keras_cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras")) / "models"


class InceptionFeatures(FeatureExtractor):
    """Keras InceptionV3 pool features (2048-d) at ``image_size`` (299 for reported numbers).

    ``weights``: ``"imagenet"`` (from the Keras cache, else downloaded; offline without the file ->
    :class:`DataUnavailableError` naming it), a path to that ``.h5`` file, or ``None`` (random
    weights: for tests only, the numbers mean nothing).
    """

    name = "inception"
    label = "Keras-InceptionV3"
    feature_dim = 2048
    num_classes = None
    channels = (1, 3)

    def __init__(self, weights="imagenet", image_size: int = 299):
        from zoo._tf import tf
        import keras

        if image_size < 75:
            raise ConfigError(f"InceptionV3 needs image_size >= 75, got {image_size}.")
        if weights not in ("imagenet", None) and not pathlib.Path(weights).is_file():
            raise DataUnavailableError(f"InceptionV3 weights file {weights} does not exist.")
        try:
            self._model = keras.applications.InceptionV3(
                include_top=False, weights=weights, pooling="avg", input_shape=(image_size, image_size, 3)
            )
        except Exception as error:  # keras raises a bare Exception ("URL fetch failure") offline
            if weights != "imagenet":
                raise
            raise DataUnavailableError(
                f"cannot load the ImageNet weights of InceptionV3 ({error}). Offline, download "
                f"{INCEPTION_WEIGHTS_FILE} from {INCEPTION_WEIGHTS_URL} on another machine and put it in "
                f"{_keras_cache_dir()}/ (or pass its path as weights=...)."
            ) from None
        preprocess = keras.applications.inception_v3.preprocess_input

        @tf.function(reduce_retracing=True)
        def forward(images):
            if images.shape[-1] == 1:
                images = tf.tile(images, [1, 1, 1, 3])
            # [-1, 1] -> [0, 255] -> bilinear resize (no antialias) -> Keras' own Inception scaling.
            pixels = tf.image.resize((images + 1.0) * 127.5, (image_size, image_size), method="bilinear")
            return self._model(preprocess(pixels), training=False)

        self._forward_fn = forward

    def _forward(self, images):
        return self._forward_fn(images).numpy(), None


EXTRACTORS = {
    "digits": DigitFeatures,
    "mnist": functools.partial(DigitFeatures, name="mnist"),
    "mnist2": functools.partial(DigitFeatures, name="mnist2"),
    "inception": InceptionFeatures,
}


def get_extractor(name: str, **options) -> FeatureExtractor:
    """Build the extractor ``name`` (one of :data:`EXTRACTORS`) with its ``options``."""
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {name!r}; choose one of {sorted(EXTRACTORS)}.")
    return EXTRACTORS[name](**options)
