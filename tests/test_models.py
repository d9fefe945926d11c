"""zoo.models: builders, DCGAN / VAE training, save/load, XLA, mixed precision, build_model, bad input."""

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models
from zoo.errors import ConfigError
from zoo.priors import LatentPrior

# fit() on a tf.data.Dataset warns that its default shuffle=True is ignored.
pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")

TINY_IMAGE = dict(image_size=8, channels=1, width=4)
LATENT = 4


def _images(n=32, size=8, channels=1, seed=0):
    """Smooth blobs in [-1, 1] (learnable structure, unlike uniform noise)."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1, 1, size)
    centres = rng.uniform(-0.5, 0.5, size=(n, 2))
    blobs = np.exp(-((grid[None, :, None] - centres[:, 0, None, None]) ** 2
                     + (grid[None, None, :] - centres[:, 1, None, None]) ** 2) / 0.2)
    return np.repeat((2 * blobs - 1)[..., None], channels, axis=-1).astype(np.float32)


def _dataset(x, batch_size=16):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch_size, drop_remainder=True)


def _dcgan(diversity_weight=0.0, **kwargs):
    return models.build_model(
        {"model": "dcgan", "latent_dim": LATENT, "diversity_weight": diversity_weight, **TINY_IMAGE, **kwargs}
    )


def _vae(diversity_weight=0.0, **kwargs):
    return models.build_model(
        {"model": "vae", "latent_dim": LATENT, "diversity_weight": diversity_weight, **TINY_IMAGE, **kwargs}
    )


# ---- builders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size,features", [(28, 4 * 4 * 16), (32, 4 * 4 * 16), (64, 4 * 4 * 32)])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_builders_shapes(size, features, channels):
    generator = models.dcgan_generator(size, channels, latent_dim=6, width=4)
    discriminator = models.dcgan_discriminator(size, channels, width=4)
    assert generator.output_shape == (None, size, size, channels)
    images = generator(np.zeros((2, 6), np.float32))
    assert np.all(np.abs(images.numpy()) <= 1.0)  # tanh output
    logits, phi = discriminator(images)
    assert logits.shape == (2, 1) and phi.shape == (2, features)
    encoder = models.vae_encoder(size, channels, latent_dim=6, width=4)
    decoder = models.vae_decoder(size, channels, latent_dim=6, width=4)
    mean, logvar, phi = encoder(images)
    assert mean.shape == logvar.shape == (2, 6) and phi.shape == (2, features)
    assert decoder.output_shape == (None, size, size, channels)


def test_paper_sizes_of_features_and_synthetic_builders():
    # The GDPP Stacked-MNIST D/encoder: phi = flatten 4096 at 28 px, width 64.
    assert models.dcgan_discriminator(28, 3).output_shape[1] == (None, 4096)
    assert models.vae_encoder(28, 3, latent_dim=128).output_shape[2] == (None, 4096)
    assert models.dcgan_discriminator(64, 3).output_shape[1] == (None, 8192)
    generator = models.synthetic_generator()
    discriminator = models.synthetic_discriminator()
    assert generator.input_shape == (None, 256) and generator.output_shape == (None, 2)
    assert discriminator.output_shape == [(None, 1), (None, 128)]


@pytest.mark.parametrize("bad", [27, 12, 4, 0, 2.5])
def test_builders_reject_unsupported_sizes(bad):
    with pytest.raises(ConfigError):
        models.dcgan_generator(bad, 1, 8)


# ---- training -----------------------------------------------------------------------------------


@pytest.mark.parametrize("diversity_weight", [0.0, models.GDPP_GAN_WEIGHT])
def test_dcgan_fit_lowers_discriminator_loss(diversity_weight):
    model = _dcgan(diversity_weight, d_learning_rate=2e-3)
    history = model.fit(_dataset(_images(64)), epochs=4, verbose=0).history
    expected = {"d_loss", "g_loss"} | ({"gdpp_loss"} if diversity_weight else set())
    assert set(history) == expected
    assert all(np.all(np.isfinite(v)) for v in history.values())
    assert history["d_loss"][-1] < history["d_loss"][0]


def test_gdpp_term_is_optimised_by_the_generator():
    # Same initial weights and noise, one SGD step: the generator's update must depend on the GDPP
    # weight (a 1e-12 weight keeps the same 0.5 * (adversarial + w * gdpp) form with ~no GDPP).
    def generator_after_step(weight):
        keras.utils.set_random_seed(0)
        model = _dcgan(weight, d_optimizer="sgd", g_optimizer="sgd")
        model.fit(_dataset(_images(16)), verbose=0)
        return np.concatenate([np.ravel(v) for v in model.generator.trainable_variables])

    with_gdpp, without = generator_after_step(100.0), generator_after_step(1e-12)
    assert np.abs(with_gdpp - without).max() > 1e-3


def test_gdpp_term_is_optimised_by_the_vae():
    # The authors' VAE script computed the GDPP term but never added it to the cost. With the
    # likelihood and KL terms made negligible, one SGD step must move the decoder only through GDPP.
    def decoder_step(weight):
        keras.utils.set_random_seed(0)
        model = _vae(weight, reconstruction="gaussian", reconstruction_scale=1e4, kl_weight=0.0, optimizer="sgd")
        before = [np.array(v) for v in model.decoder.trainable_variables]
        model.fit(_dataset(_images(16)), verbose=0)
        return max(np.abs(np.array(v) - b).max() for v, b in zip(model.decoder.trainable_variables, before))

    assert decoder_step(models.GDPP_VAE_WEIGHT) > 100 * decoder_step(0.0)


@pytest.mark.parametrize("cls,retired,default,other", [
    (models.DCGAN, "adversarial_loss", "non_saturating", "hinge"),
    (models.DCGAN, "update", "alternating", "simultaneous"),
    (models.DCGAN, "gdpp_eigenvector_signs", "samples", "features"),
    (models.DCGAN, "gdpp_eigenvalue_weight", 1e-4, 0.01),
    (models.VAE, "gdpp_eigenvector_signs", "samples", "features"),
    (models.VAE, "gdpp_eigenvalue_weight", 1e-4, 0.01),
])
def test_retired_options_load_at_their_default_and_are_refused_otherwise(cls, retired, default, other):
    # Files written before an option was removed carry it: at its default they load unchanged.
    model = _vae() if cls is models.VAE else _dcgan(1.0)
    assert retired not in model.get_config()
    clone = cls.from_config({**model.get_config(), retired: default})  # from_config consumes its dict
    assert clone.get_config() == cls.from_config(model.get_config()).get_config()
    with pytest.raises(ConfigError, match=f"no longer takes '{retired}'.*{retired}={default!r}"):
        cls.from_config({**model.get_config(), retired: other})
    with pytest.raises(ConfigError, match="Unknown key"):
        (_vae if cls is models.VAE else _dcgan)(**{retired: default})


def test_synthetic_gan_options_and_generate():
    model = models.build_model(
        {"model": "synthetic_gan", "latent_dim": 8, "hidden": 8,
         "generator_steps": 2, "diversity_weight": "paper"}
    )
    assert model.diversity_weight == models.GDPP_GAN_WEIGHT and model.generator_steps == 2
    assert model.prior.kind == "normal" and model.latent_dim == 8 and model.element_shape == (2,)
    points = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    history = model.fit(_dataset(points, 32), epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["g_loss"]))
    assert model.d_optimizer.iterations.numpy() == 4 and model.g_optimizer.iterations.numpy() == 8
    a, b, c = model.generate(300, (1, 2)), model.generate(300, (1, 2)), model.generate(300, 3)
    assert a.shape == (300, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("diversity_weight,reconstruction", [(0.0, "bernoulli"), (models.GDPP_VAE_WEIGHT, "gaussian")])
def test_vae_fit_lowers_loss_and_inference_api(diversity_weight, reconstruction):
    model = _vae(diversity_weight, reconstruction=reconstruction, learning_rate=3e-3)
    x = _images(64)
    history = model.fit(_dataset(x), epochs=5, verbose=0).history
    assert history["reconstruction_loss"][-1] < history["reconstruction_loss"][0]
    assert history["loss"][-1] < history["loss"][0]
    assert ("gdpp_loss" in history) == (diversity_weight > 0)
    mean, logvar = model.encode(x[:3])
    assert mean.shape == logvar.shape == (3, LATENT)
    decoded = model.decode(mean)
    assert decoded.shape == (3, 8, 8, 1) and np.all(np.abs(decoded) <= 1)
    np.testing.assert_allclose(model.reconstruct(x[:3]), decoded, atol=1e-6)
    assert model.generate(5, 0).shape == (5, 8, 8, 1)
    with pytest.raises(ConfigError, match="decode expects"):
        model.decode(np.zeros((2, LATENT + 1)))


def test_vae_priors():
    assert _vae(prior="cauchy").fit(_dataset(_images(16)), verbose=0).history["kl_loss"][0] != 0
    with pytest.raises(ConfigError, match="bounded support"):
        _vae(prior="uniform")


# ---- save / load --------------------------------------------------------------------------------


def _assert_same_variables(a, b):
    assert len(a.variables) == len(b.variables)
    for va, vb in zip(a.variables, b.variables):
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb), err_msg=va.path)


@pytest.mark.parametrize("kind", ["dcgan", "dcgan_slot_noise", "vae"])
def test_keras_round_trip_continues_training_identically(kind, tmp_path):
    prior = LatentPrior("nonparametric", LATENT)
    if kind == "vae":
        model = _vae(100.0, prior="cauchy", seed=5)
    elif kind == "dcgan":
        model = _dcgan(1.0, prior=prior, label_smoothing=0.1, seed=5)
    else:  # the GDPP Stacked-MNIST protocol: its offsets are weights, they must travel with the model
        model = _dcgan(1.0, model="gdpp_stacked_mnist_dcgan", prior="normal", label_smoothing=0.1,
                       label_smoothing_mode="two_sided", seed=5, training_noise={"slots": 8, "scale": 0.2})
    data = _dataset(_images(48))
    model.fit(data, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    submodels = ("generator", "discriminator", "encoder", "decoder")
    config, loaded_config = model.get_config(), loaded.get_config()
    assert {k: v for k, v in loaded_config.items() if k not in submodels} == {
        k: v for k, v in config.items() if k not in submodels
    }
    assert loaded.prior.kind == model.prior.kind
    optimizers = ("d_optimizer", "g_optimizer") if kind.startswith("dcgan") else ("optimizer",)
    for name in optimizers:
        assert getattr(loaded, name).get_config() == getattr(model, name).get_config()
        _assert_same_variables(getattr(loaded, name), getattr(model, name))
    _assert_same_variables(loaded, model)
    np.testing.assert_array_equal(loaded.generate(4, 9), model.generate(4, 9))
    before = model.fit(data, epochs=1, verbose=0).history
    after = loaded.fit(data, epochs=1, verbose=0).history
    assert before == after
    _assert_same_variables(loaded, model)


# ---- compilation modes --------------------------------------------------------------------------


def _xla_must_compile(model):
    """Whether the train function Keras built runs the step as an XLA cluster (``_XlaMustCompile``).

    Keras drops ``jit_compile`` with only a warning (op determinism on, an unsupported layer), and a
    model then trains the same way without XLA; the compiled step's function attribute tells.
    """
    functions = [cell.cell_contents for cell in model.train_function.__closure__
                 if hasattr(cell.cell_contents, "_list_all_concrete_functions")]
    attributes = [
        definition.attr["_XlaMustCompile"].b
        for function in functions for concrete in function._list_all_concrete_functions()
        for definition in concrete.graph.as_graph_def().library.function
        if "_XlaMustCompile" in definition.attr
    ]
    return bool(attributes) and all(attributes)


def test_jit_compile_trains_gdpp_models_under_xla():
    data = _dataset(_images(32))
    for model in (_dcgan(1.0, jit_compile=True), _vae(100.0, jit_compile=True)):
        history = model.fit(data, verbose=0).history
        assert all(np.isfinite(v[0]) for v in history.values())
        assert model.jit_compile is True and _xla_must_compile(model)
    plain = _dcgan(1.0, jit_compile=False)
    plain.fit(data, verbose=0)
    assert not _xla_must_compile(plain)  # the check can fail


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_uses_loss_scaling_for_every_optimizer(mixed_precision, tmp_path):
    data = _dataset(_images(32))
    gan, vae = _dcgan(1.0), _vae(100.0)
    for optimizer in (gan.d_optimizer, gan.g_optimizer, vae.optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.generator.layers[1].compute_dtype == "float16"
    for model in (gan, vae):
        history = model.fit(data, epochs=2, verbose=0).history
        assert all(np.all(np.isfinite(v)) for v in history.values())
    assert gan.generate(3, 0).dtype == np.float32
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded.g_optimizer, keras.optimizers.LossScaleOptimizer)
    _assert_same_variables(loaded.g_optimizer, gan.g_optimizer)


# ---- bad input ----------------------------------------------------------------------------------


def test_image_shape_mismatch_is_a_config_error_at_fit():
    model = _dcgan()
    with pytest.raises(ConfigError, match=r"expects batches of shape \[batch, 8, 8, 1\]"):
        model.fit(_dataset(_images(32, size=16)), verbose=0)
    with pytest.raises(ConfigError, match="expects batches"):
        _vae().fit(_dataset(_images(32, channels=3)), verbose=0)


def test_prior_size_and_weights_are_checked_at_construction():
    generator = models.dcgan_generator(8, 1, LATENT, width=4)
    discriminator = models.dcgan_discriminator(8, 1, width=4)
    with pytest.raises(ConfigError, match="event size"):
        models.DCGAN(generator, discriminator, prior=LatentPrior("uniform", LATENT + 1))
    with pytest.raises(ConfigError, match="diversity_weight"):
        models.DCGAN(generator, discriminator, diversity_weight=-1.0)
    with pytest.raises(ConfigError, match="diversity_weight"):
        _vae(diversity_weight=float("nan"))
    with pytest.raises(ConfigError, match="discriminator takes"):
        models.DCGAN(generator, models.dcgan_discriminator(16, 1, width=4))
    with pytest.raises(ConfigError, match="label_smoothing"):
        models.DCGAN(generator, discriminator, label_smoothing=1.0)
    with pytest.raises(ConfigError, match="generator_steps"):
        models.DCGAN(generator, discriminator, generator_steps=0)
    with pytest.raises(ConfigError, match="gdpp_compute_dtype"):
        _vae(gdpp_compute_dtype="float16")


def test_gdpp_with_static_batches_of_one_is_a_clear_error():
    x = _images(4)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        _dcgan(1.0).fit(_dataset(x, batch_size=1), verbose=0)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        _vae(100.0).fit(_dataset(x, batch_size=1), verbose=0)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        _dcgan(1.0).fit(x[:1], batch_size=1, verbose=0)


@pytest.mark.parametrize("build", [_dcgan, _vae])
def test_gdpp_skips_a_last_batch_of_one_sample(build):
    # 9 samples in batches of 4: 4, 4, 1. The batch of 1 trains the other losses; its GDPP term is
    # 0 and left out of the reported gdpp_loss, which is the mean over the two full batches.
    x = _images(9)
    model = build(1.0)
    history = model.fit(x, batch_size=4, shuffle=False, verbose=0).history
    assert all(np.isfinite(v[0]) for v in history.values())
    report = model.evaluate(x[:1], batch_size=4, verbose=0, return_dict=True)
    assert report["gdpp_loss"] == 0.0 and np.isfinite(list(report.values())).all()
    pair = model.evaluate(x[:2], batch_size=4, verbose=0, return_dict=True)["gdpp_loss"]
    both = model.evaluate(np.concatenate([x[:2], x[:1]]), batch_size=2, verbose=0, return_dict=True)
    assert both["gdpp_loss"] == pytest.approx(pair)


def test_compile_is_required_and_takes_gan_optimizers():
    model = models.build_model({"model": "dcgan", "latent_dim": LATENT, "compile": False, **TINY_IMAGE})
    with pytest.raises(ValueError, match="compile"):  # Keras' own check, before train_step
        model.fit(_dataset(_images(16)), verbose=0)
    with pytest.raises(ConfigError, match="d_optimizer and g_optimizer"):
        model.compile(optimizer="adam")
    model.compile(d_optimizer="sgd", g_optimizer={"class_name": "Adam", "config": {"learning_rate": 0.01}})
    assert isinstance(model.d_optimizer, keras.optimizers.SGD)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(0.01)


def test_build_model_validates_config():
    with pytest.raises(ConfigError, match="must be one of"):
        models.build_model({"model": "wgan"})
    with pytest.raises(ConfigError, match="Unknown key"):
        models.build_model({"model": "dcgan", "learning_rate": 1e-3})
    model = models.build_model({"model": "vae", "prior": {"kind": "normal", "params": {"scale": 2.0}},
                                "compile": False, "latent_dim": 3, **TINY_IMAGE})
    assert model.prior.params == {"scale": 2.0} and model.latent_dim == 3
    gan = models.build_model({"model": "dcgan", **TINY_IMAGE})
    assert gan.latent_dim == 100 and gan.prior.kind == "uniform" and gan.diversity_weight == 0.0
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4) and float(gan.d_optimizer.beta_1) == 0.5


def test_discriminator_width_narrows_only_the_discriminator():
    # The VEEGAN / Unrolled-GAN "harder" Stacked-MNIST setting: D at a quarter of G's width.
    wide = models.build_model({"model": "dcgan", "image_size": 28, "channels": 3, "width": 16, "compile": False})
    narrow = models.build_model({"model": "dcgan", "image_size": 28, "channels": 3, "width": 16,
                                 "discriminator_width": 4, "compile": False})
    assert narrow.generator.count_params() == wide.generator.count_params()
    assert narrow.discriminator.output_shape[1] == (None, 4 * 4 * 4 * 4)
    assert wide.discriminator.output_shape[1] == (None, 4 * 4 * 16 * 4)
    with pytest.raises(ConfigError):
        models.build_model({"model": "dcgan", "image_size": 28, "discriminator_width": 0, "compile": False})


def test_get_config_from_config_round_trip():
    gan = _dcgan(1.0, prior="nonparametric", label_smoothing=0.1, generator_steps=2)
    clone = models.DCGAN.from_config(gan.get_config())
    assert (clone.prior.kind, clone.diversity_weight, clone.label_smoothing, clone.generator_steps) == (
        "nonparametric", 1.0, 0.1, 2
    )
    assert clone.element_shape == gan.element_shape and clone.latent_dim == gan.latent_dim
    vae = _vae(100.0, reconstruction="gaussian", prior="cauchy", kl_weight=0.5)
    clone = models.VAE.from_config(vae.get_config())
    assert (clone.prior.kind, clone.reconstruction, clone.kl_weight) == ("cauchy", "gaussian", 0.5)
