"""zoo.models.reproduction: the GDPP Stacked-MNIST script's switches, out of the core DCGAN, and the
files written while they were in it."""

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models, presets
from zoo.errors import ConfigError
from zoo.models.reproduction import GDPPStackedMNISTDCGAN

KIND = "gdpp_stacked_mnist_dcgan"
TINY = {"image_size": 8, "channels": 1, "width": 4, "latent_dim": 4}
STACKED_PRESETS = ["stacked_digits_gan", "stacked_digits_gdpp_gan", "stacked_mnist_gan", "stacked_mnist_gdpp_gan"]


def _batch_norms(network):
    return sum(isinstance(layer, keras.layers.BatchNormalization) for layer in network.layers)


def test_the_core_dcgan_has_no_reproduction_switches():
    for key, value in [("label_smoothing_mode", "two_sided"), ("training_noise", {"slots": 4}),
                       ("discriminator_batch_norm", False)]:
        with pytest.raises(ConfigError, match=f"Unknown key.*'{key}'"):
            models.build_model({"model": "dcgan", **TINY, key: value})
    with pytest.raises((TypeError, ValueError), match="training_noise"):
        models.DCGAN(models.dcgan_generator(8, 1, 4, width=4), models.dcgan_discriminator(8, 1, width=4),
                     training_noise=None)
    with pytest.raises(TypeError):
        models.dcgan_discriminator(8, 1, width=4, batch_norm=False)


def test_the_kind_builds_the_scripts_model_by_default():
    model = models.build_model({"model": KIND, "image_size": 28, "channels": 3, "width": 4, "compile": False})
    assert isinstance(model, GDPPStackedMNISTDCGAN) and isinstance(model, models.DCGAN)
    assert (model.latent_dim, model.prior.kind, model.label_smoothing, model.label_smoothing_mode) == (
        128, "normal", 0.1, "two_sided")
    assert (model.training_noise.slots, model.training_noise.scale, model.training_noise.latent_dim) == (64, 0.2, 128)
    # No BatchNorm in the discriminator (the script's); the generator keeps its own.
    assert _batch_norms(model.discriminator) == 0 and _batch_norms(model.generator) > 0
    with_bn = models.build_model({"model": KIND, "image_size": 28, "channels": 3, "width": 4, "compile": False,
                                  "discriminator_batch_norm": True})
    assert _batch_norms(with_bn.discriminator) == 2
    assert with_bn.discriminator.output_shape[1] == model.discriminator.output_shape[1]
    compiled = models.build_model({"model": KIND, **TINY})
    assert float(compiled.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert compiled.g_optimizer.beta_2 == 0.9


def test_bad_switches_are_refused():
    with pytest.raises(ConfigError, match="label_smoothing_mode"):
        models.build_model({"model": KIND, **TINY, "label_smoothing_mode": "both"})
    with pytest.raises(ConfigError, match="training_noise takes slots"):
        models.build_model({"model": KIND, **TINY, "training_noise": {"slot": 4}})
    with pytest.raises(ConfigError, match="batch_norm must be true or false"):
        models.build_model({"model": KIND, **TINY, "discriminator_batch_norm": "no"})
    with pytest.raises(ConfigError, match="training_noise makes 3-d latents"):
        GDPPStackedMNISTDCGAN(models.dcgan_generator(8, 1, 4, width=4), models.dcgan_discriminator(8, 1, width=4),
                              training_noise=models.SlotOffsetNoise(3))


def test_with_the_switches_off_it_trains_exactly_as_the_dcgan():
    # The subclass only replaces the latents and targets: off, it is the core model.
    data = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype(
        np.float32)).batch(16)
    core = models.build_model({"model": "dcgan", **TINY, "label_smoothing": 0.1, "seed": 3})
    off = models.build_model({"model": KIND, **TINY, "prior": "uniform", "label_smoothing": 0.1, "seed": 3,
                              "label_smoothing_mode": "one_sided", "training_noise": None,
                              "discriminator_batch_norm": True, "d_learning_rate": 2e-4, "g_learning_rate": 2e-4,
                              "beta_2": 0.999})
    off.set_weights(core.get_weights())
    assert core.fit(data, epochs=1, verbose=0, shuffle=False).history == \
        off.fit(data, epochs=1, verbose=0, shuffle=False).history
    for a, b in zip(core.weights, off.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_dcgan_files_with_the_switches_load_as_the_reproduction_model():
    model = models.build_model({"model": KIND, **TINY, "training_noise": {"slots": 8, "scale": 0.2}})
    legacy = {**model.get_config(), "update": "alternating"}  # as a 0.1 DCGAN wrote it
    loaded = models.DCGAN.from_config(legacy)
    assert type(loaded) is GDPPStackedMNISTDCGAN and loaded.training_noise.slots == 8
    plain = models.build_model({"model": "dcgan", **TINY})
    at_defaults = {**plain.get_config(), "label_smoothing_mode": "one_sided", "training_noise": None}
    assert type(models.DCGAN.from_config(at_defaults)) is models.DCGAN
    one_sided = models.DCGAN.from_config({**plain.get_config(), "label_smoothing_mode": "one_sided",
                                          "training_noise": model.get_config()["training_noise"]})
    assert type(one_sided) is GDPPStackedMNISTDCGAN and one_sided.label_smoothing_mode == "one_sided"


@pytest.mark.parametrize("name", STACKED_PRESETS)
def test_shipped_stacked_presets_load_with_their_slot_offsets(name):
    model = presets.load(name)
    assert type(model) is GDPPStackedMNISTDCGAN and model.label_smoothing_mode == "two_sided"
    noise = model.training_noise
    rebuilt = models.SlotOffsetNoise(noise.latent_dim, noise.slots, noise.scale, noise.low, noise.high, noise.seed)
    np.testing.assert_array_equal(np.asarray(noise.offsets), np.asarray(rebuilt.offsets))
    assert _batch_norms(model.discriminator) == 0
