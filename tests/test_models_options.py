"""Model options of issue 36: the GDPP options beyond the authors' code (gdpp_eigenvalue_term,
gdpp_centre_features) and the image networks' initialisers (dcgan_normal, tflib_uniform)."""

import numpy as np
import pytest

from zoo._tf import tf  # noqa: F401  (quiet TensorFlow import before keras)

import keras

from zoo import losses, models
from zoo.errors import ConfigError
from zoo.models import _common

IMAGE = dict(image_size=8, channels=1, width=4, latent_dim=4)
OPTIONS = dict(gdpp_eigenvalue_term="paper_sum", gdpp_centre_features=True)


def _images(n=16):
    return np.random.default_rng(0).uniform(-1, 1, size=(n, 8, 8, 1)).astype(np.float32)


@pytest.mark.parametrize("kind", ["dcgan", "vae"])
def test_gdpp_options_round_trip_and_train(kind, tmp_path):
    model = models.build_model({"model": kind, "diversity_weight": 1.0, **IMAGE, **OPTIONS})
    assert (model.gdpp_eigenvalue_term, model.gdpp_centre_features) == ("paper_sum", True)
    clone = type(model).from_config(model.get_config())
    assert (clone.gdpp_eigenvalue_term, clone.gdpp_centre_features) == ("paper_sum", True)
    history = model.fit(_images(), batch_size=8, verbose=0).history
    assert np.isfinite(history["gdpp_loss"][0])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert (loaded.gdpp_eigenvalue_term, loaded.gdpp_centre_features) == ("paper_sum", True)
    # Defaults are the authors' code, and a config without the keys (every file written before
    # they existed) loads with them.
    config = models.build_model({"model": kind, **IMAGE}).get_config()
    assert (config["gdpp_eigenvalue_term"], config["gdpp_centre_features"]) == ("authors_code", False)
    del config["gdpp_eigenvalue_term"], config["gdpp_centre_features"]
    old = type(model).from_config(config)
    assert (old.gdpp_eigenvalue_term, old.gdpp_centre_features) == ("authors_code", False)


def test_the_model_passes_its_gdpp_options_to_the_loss():
    # test_step's gdpp_loss is the loss function's value on the step's features, with the options.
    x = _images(8)
    reported = {}
    for term, centre in [("authors_code", False), ("paper_sum", False), ("authors_code", True)]:
        model = models.build_model({"model": "dcgan", "diversity_weight": 1.0, "gdpp_eigenvalue_term": term,
                                    "gdpp_centre_features": centre, "seed": 3, **IMAGE})
        reported[(term, centre)] = model.evaluate(x, batch_size=8, verbose=0, return_dict=True)["gdpp_loss"]
        seed = _common.evaluation_seed(3, 0, 0)  # the first batch of an evaluation at step 0
        fake = model.generator(model.prior.sample(8, seed), training=False)
        _, real_features = model.discriminator(x, training=False)
        _, fake_features = model.discriminator(fake, training=False)
        expected = losses.gdpp_loss(real_features, fake_features, eigenvalue_term=term, centre_features=centre)
        assert reported[(term, centre)] == pytest.approx(float(expected), rel=1e-5, abs=1e-6)
    assert len({round(v, 6) for v in reported.values()}) == 3


@pytest.mark.parametrize("kind", ["dcgan", "vae"])
def test_bad_gdpp_options_are_config_errors(kind):
    with pytest.raises(ConfigError, match="gdpp_eigenvalue_term must be 'authors_code'"):
        models.build_model({"model": kind, **IMAGE, "gdpp_eigenvalue_term": "sum"})
    with pytest.raises(ConfigError, match="gdpp_centre_features must be true or false"):
        models.build_model({"model": kind, **IMAGE, "gdpp_centre_features": 1})


def _tflib_limit(layer):
    """The tflib initialiser's uniform bound for a layer (papers.md 2.3, tflib conv2d/deconv2d/linear)."""
    kernel = layer.kernel.numpy()
    if isinstance(layer, keras.layers.Conv2DTranspose):
        k, _, out_channels, in_channels = kernel.shape
        fan_in, fan_out = in_channels * k * k / 4, out_channels * k * k
    elif isinstance(layer, keras.layers.Conv2D):
        k, _, in_channels, out_channels = kernel.shape
        fan_in, fan_out = in_channels * k * k, out_channels * k * k / 4
    else:  # Linear: Glorot
        return np.sqrt(6.0 / sum(kernel.shape))
    return np.sqrt(3.0) * np.sqrt(4.0 / (fan_in + fan_out))


def _kernels(model):
    return [layer for network in (model.generator, model.discriminator) for layer in network.layers
            if hasattr(layer, "kernel")]


def test_tflib_initialisers_draw_the_authors_uniform_laws_and_round_trip(tmp_path):
    config = {"model": "gdpp_stacked_mnist_dcgan", "image_size": 28, "channels": 3, "width": 16, "latent_dim": 32,
              "discriminator_batch_norm": False}
    keras.utils.set_random_seed(0)
    model = models.build_model({**config, "initializer": "tflib_uniform"})
    for layer in _kernels(model):
        kernel = layer.kernel.numpy()
        limit = _tflib_limit(layer)
        assert np.abs(kernel).max() <= limit * (1 + 1e-6), layer.name
        # Uniform on [-limit, limit]: standard deviation limit / sqrt(3).
        assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.15 if kernel.size > 300 else 0.4), layer.name
    # The default stays N(0, 0.02).
    default = models.build_model(config)
    assert all(isinstance(layer.kernel_initializer, keras.initializers.RandomNormal) for layer in _kernels(default))
    assert np.std(np.concatenate([layer.kernel.numpy().ravel() for layer in _kernels(default)])) == pytest.approx(
        0.02, rel=0.05)
    # The choice is in the layer configs: a saved model rebuilt from its config draws from the same laws.
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    rebuilt = models.DCGAN.from_config(loaded.get_config())
    for original, fresh in zip(_kernels(model), _kernels(rebuilt)):
        assert fresh.kernel_initializer.get_config() == original.kernel_initializer.get_config()
        assert not np.array_equal(fresh.kernel.numpy(), original.kernel.numpy())  # a new draw ...
        assert np.abs(fresh.kernel.numpy()).max() <= _tflib_limit(fresh) * (1 + 1e-6)  # ... of the same law


def test_initializer_option_of_build_model_and_the_builders():
    vae = models.build_model({"model": "vae", **IMAGE, "initializer": "tflib_uniform", "compile": False})
    conv = [layer for layer in vae.encoder.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv and all(isinstance(layer.kernel_initializer, keras.initializers.VarianceScaling) for layer in conv)
    for bad in ("he_uniform", None):
        with pytest.raises(ConfigError, match="initializer must be 'dcgan_normal'.*'tflib_uniform'"):
            models.build_model({"model": "dcgan", **IMAGE, "initializer": bad})
        with pytest.raises(ConfigError, match="initializer must be"):
            models.dcgan_discriminator(8, 1, width=4, initializer=bad)
    # The synthetic GAN keeps the authors' orthogonal initialisation: no such option.
    with pytest.raises(ConfigError, match="Unknown key"):
        models.build_model({"model": "synthetic_gan", "initializer": "tflib_uniform"})


def test_only_the_stacked_mnist_5k_recipes_use_the_authors_initialisers():
    from training import config as config_lib

    for name in config_lib.recipe_names():
        options = config_lib.resolve(name, [])["model"]["options"]
        expected = "tflib_uniform" if name in ("stacked_mnist_5k_gan", "stacked_mnist_5k_gdpp") else None
        assert options.get("initializer") == expected, name
