"""Batch checks of the model contract (issue 34, items 2 and 3): shapes checked on every batch,
float pixels outside [-1, 1] refused, pixels that are never negative warned about."""

import warnings

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models
from zoo.errors import ConfigError
from zoo.models import PixelRangeWarning

pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed", "ignore:Your input ran out of data",
                                        "ignore::zoo.models.PixelRangeWarning")

TINY = {"image_size": 28, "channels": 1, "width": 4, "latent_dim": 3}


def _pixels(shape, low=-1.0, high=1.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _from_generator(batches, spec):
    """A dataset whose static shape is ``spec`` (unknown sizes: an image-file pipeline, a generator)."""
    return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)


@pytest.fixture(scope="module")
def gan():
    return models.build_model({"model": "dcgan", **TINY})


@pytest.fixture(scope="module")
def vae():
    return models.build_model({"model": "vae", **TINY})


@pytest.mark.parametrize("model_name", ["gan", "vae"])
def test_images_of_another_size_from_a_dataset_of_unknown_size_are_refused(model_name, request):
    model = request.getfixturevalue(model_name)
    data = _from_generator([_pixels((4, 32, 32, 1))] * 2, tf.TensorSpec([None, None, None, 1], tf.float32))
    with pytest.raises(ConfigError, match=r"expects batches of shape \[batch, 28, 28, 1\] but got \[4, 32, 32, 1\]"):
        model.fit(data, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match=r"but got \[4, 32, 32, 1\]"):
        model.evaluate(data, verbose=0)


def test_a_second_fit_with_other_sizes_is_refused(gan):
    gan.fit(_pixels((8, 28, 28, 1)), epochs=1, batch_size=4, verbose=0)
    # Keras relaxes the traced shapes on the second call: the trace no longer knows 28.
    with pytest.raises(ConfigError, match=r"but got \[4, 32, 32, 1\]"):
        gan.fit(_pixels((8, 32, 32, 1)), epochs=1, batch_size=4, verbose=0)
    gan.fit(_pixels((8, 28, 28, 1)), epochs=1, batch_size=4, verbose=0)  # still trains


def test_a_batch_without_its_channel_axis_gets_a_clear_message(gan):
    with pytest.raises(ConfigError, match="no channel axis: add it"):
        gan.fit(_pixels((8, 28, 28)), epochs=1, batch_size=4, verbose=0)
    unknown_rank = _from_generator([_pixels((4, 28, 28))], tf.TensorSpec(None, tf.float32))
    with pytest.raises(ConfigError, match=r"but got \[4, 28, 28\]\. The batch has no channel axis"):
        gan.fit(unknown_rank, epochs=1, verbose=0)


@pytest.mark.parametrize("model_name", ["gan", "vae"])
def test_pixels_outside_minus_one_one_are_refused(model_name, request):
    model = request.getfixturevalue(model_name)
    weights = [np.asarray(w) for w in model.weights]
    with pytest.raises(ConfigError, match=r"takes float pixels in \[-1, 1\] but a batch holds values from 0.* to 25"):
        model.fit(_pixels((8, 28, 28, 1), 0, 255), epochs=1, batch_size=4, verbose=0)  # before any step
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(weights, model.weights))
    dataset = tf.data.Dataset.from_tensor_slices(_pixels((8, 28, 28, 1), 0, 255)).batch(4)
    with pytest.raises(ConfigError, match=r"x / 127.5 - 1 for 0..255 pixels"):
        model.fit(dataset, epochs=1, verbose=0)
    labelled = tf.data.Dataset.from_tensor_slices((_pixels((8, 28, 28, 1), 0, 255), np.zeros(8))).batch(4)
    with pytest.raises(ConfigError, match=r"in \[-1, 1\]"):
        model.evaluate(labelled, verbose=0)
    with pytest.raises(ConfigError, match=r"in \[-1, 1\]"):
        model.fit(_pixels((8, 28, 28, 1)), epochs=1, batch_size=4, verbose=0,
                  validation_data=(_pixels((4, 28, 28, 1), 0, 255),))


def test_pixels_that_are_never_negative_are_warned_about_once(gan):
    for data in (_pixels((8, 28, 28, 1), 0, 1), tf.data.Dataset.from_tensor_slices(_pixels((8, 28, 28, 1), 0, 1)).batch(4)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gan.fit(data, epochs=1, batch_size=None if isinstance(data, tf.data.Dataset) else 4, verbose=0)
        found = [w for w in caught if issubclass(w.category, PixelRangeWarning)]
        assert len(found) == 1 and "are they in [0, 1]?" in str(found[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PixelRangeWarning)
        gan.fit(tf.data.Dataset.from_tensor_slices(_pixels((8, 28, 28, 1))).batch(4), epochs=1, verbose=0)


def test_the_checks_leave_training_unchanged():
    small = {**TINY, "image_size": 8, "seed": 2}
    checked, unchecked = (models.build_model({"model": "dcgan", **small}) for _ in range(2))
    unchecked.set_weights(checked.get_weights())
    dataset = tf.data.Dataset.from_tensor_slices(_pixels((16, 8, 8, 1))).batch(8)
    checked_history = checked.fit(dataset, epochs=1, verbose=0).history
    plain_history = keras.Model.fit(unchecked, dataset, epochs=1, verbose=0).history  # Keras' own fit
    assert checked_history == plain_history
    for a, b in zip(checked.weights, unchecked.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_points_are_not_images(gan):
    synthetic = models.build_model({"model": "synthetic_gan", "latent_dim": 3, "hidden": 8})
    synthetic.fit(_pixels((64, 2), -5, 5), epochs=1, batch_size=32, verbose=0)  # 2-D points may be anywhere


def test_encode_refuses_pixels_outside_minus_one_one(vae):
    with pytest.raises(ConfigError, match=r"values from 0 to 255"):
        vae.encode(np.concatenate([np.zeros((1, 28, 28, 1)), np.full((1, 28, 28, 1), 255.0)]).astype(np.float32))
    mean, _ = vae.encode(_pixels((2, 28, 28, 1)))
    assert np.abs(mean).max() < 100


def test_the_shape_check_holds_under_xla():
    model = models.build_model({"model": "dcgan", **TINY, "jit_compile": True})
    data = _from_generator([_pixels((4, 32, 32, 1))], tf.TensorSpec([None, None, None, 1], tf.float32))
    with pytest.raises(ConfigError, match=r"but got \[4, 32, 32, 1\]"):
        model.fit(data, epochs=1, verbose=0)
