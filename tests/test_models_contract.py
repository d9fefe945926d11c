"""The model contract (``zoo.models.GenerativeModel``): a model kind defined in this file alone trains
with ``training.run``, is evaluated, exported and served by TensorFlow alone; the registries feed
the recipe schema; sample grids show what ``generate`` makes."""

import json
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models, priors, registry
from zoo.errors import ConfigError
from zoo.models import GenerativeModel

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---- a model kind defined here and nowhere else ----------------------------------------------------


@keras.saving.register_keras_serializable(package="zoo_contract_test")
class MomentMatcher(GenerativeModel):
    """A generator trained to match each pixel's batch mean and standard deviation: no
    discriminator, one optimizer, nothing the zoo knows about."""

    def __init__(self, generator, prior="normal", seed=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(generator, dict):
            generator = keras.saving.deserialize_keras_object(generator)
        if isinstance(prior, dict):
            prior = keras.saving.deserialize_keras_object(prior)
        self.generator = generator
        self.latent_dim = int(generator.input_shape[-1])
        self.element_shape = tuple(int(d) for d in generator.output_shape[1:])
        self.prior = priors.as_layer(prior, self.latent_dim)
        self.seed = int(seed)
        self.loss_tracker = keras.metrics.Mean(name="moment_loss")

    def image_network(self):
        return self.generator

    def call(self, z, training=False):
        return self.latents_to_images(z, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        real = self.check_batch(data)
        seed = tf.stack([tf.constant(self.seed, tf.int32), tf.cast(self.optimizer.iterations, tf.int32)])
        z = self.prior.sample(tf.shape(real)[0], seed)
        with tf.GradientTape() as tape:
            fake = self.latents_to_images(z, training=True)
            loss = (tf.reduce_mean(tf.square(tf.reduce_mean(real, 0) - tf.reduce_mean(fake, 0)))
                    + tf.reduce_mean(tf.square(tf.math.reduce_std(real, 0) - tf.math.reduce_std(fake, 0))))
        variables = self.generator.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        return {"moment_loss": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), "generator": keras.saving.serialize_keras_object(self.generator),
                "prior": keras.saving.serialize_keras_object(self.prior), "seed": self.seed}


def _build_moment_matcher(config):
    latent_dim = config.get("latent_dim", 4)
    shape = (config["image_size"], config["image_size"], config["channels"])
    generator = keras.Sequential([
        keras.Input((latent_dim,)), keras.layers.Dense(int(np.prod(shape)), activation="tanh"), keras.layers.Reshape(shape),
    ], name="generator")
    model = MomentMatcher(generator, prior=config.get("prior", "normal"), seed=config.get("seed", 0))
    if config.get("compile", True):
        model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=config.get("jit_compile", "auto"))
    return model


@pytest.fixture
def moment_kind():
    models.register_model_kind("moments", _build_moment_matcher, keys=(), description="test kind")
    yield "moments"
    registry.MODELS.unregister("moments")


_SERVE = textwrap.dedent(r'''
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    seeds = tf.constant([[0, 1], [0, 2], [5, 3]], tf.int32)
    out = loaded.signatures["sample"](seed=seeds)
    z = out["z"].numpy()
    again = loaded.signatures["serving_default"](z=out["z"])["images"].numpy()
    print(json.dumps({"images": out["images"].numpy().tolist(), "z": z.tolist(),
                      "same": bool(np.array_equal(again, out["images"].numpy())),
                      "zoo_imported": any(m == "zoo" or m.startswith(("zoo.", "exports", "training"))
                                          for m in sys.modules)}))
''')


def test_a_model_kind_defined_in_a_test_trains_evaluates_exports_and_serves(moment_kind, tmp_path):
    from zoo.metrics import evaluate
    from exports import savedmodel
    from training import config as config_lib
    from training.run import train

    recipe = tmp_path / "moments.json"
    recipe.write_text(json.dumps({
        "version": 1, "description": "a kind the zoo does not ship",
        "data": {"name": "digits", "batch_size": 32},
        "model": {"kind": moment_kind, "latent_dim": 4, "prior": "normal"},
        "optimizer": {"learning_rate": 0.01},
        "train": {"epochs": 2, "steps_per_epoch": 5},
        "samples": {"grid": 4, "interpolation_pairs": 1, "interpolation_steps": 3},
        "eval": {"samples": 200},
    }))
    config = config_lib.resolve(str(recipe))
    result = train(config, tmp_path / "run", verbose=0)
    assert [row["epoch"] for row in result.history] == [1, 2] and "moment_loss" in result.history[0]
    assert result.history[-1]["moment_loss"] < result.history[0]["moment_loss"]
    assert "digits-FID" in result.metrics["results"]
    assert (tmp_path / "run" / "samples" / "epoch_0002.png").is_file()

    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert isinstance(model, MomentMatcher) and model.element_shape == (28, 28, 1)
    report = evaluate(model, dataset="digits", samples=200, midpoint=False)
    assert report["model"] == "MomentMatcher" and np.isfinite(report["results"]["digits-FID"]["prior"])

    assert_served_by_tensorflow_alone(model, savedmodel.export(model, tmp_path / "serving", "moments"), tmp_path)


def assert_served_by_tensorflow_alone(model, version, cwd):
    """The export ``version`` of ``model``, loaded by a process that imports TensorFlow and never zoo,
    samples and decodes what ``model`` does."""
    served = subprocess.run([sys.executable, "-c", _SERVE, str(version)], capture_output=True, text=True, cwd=cwd)
    assert served.returncode == 0, served.stderr[-3000:]
    answer = json.loads(served.stdout.strip().splitlines()[-1])
    assert not answer["zoo_imported"] and answer["same"]
    seeds = tf.constant([[0, 1], [0, 2], [5, 3]], tf.int32)
    z = model.prior.sample_per_row(seeds)
    np.testing.assert_array_equal(np.asarray(answer["z"], np.float32), z.numpy())
    np.testing.assert_allclose(np.asarray(answer["images"], np.float32), model.latents_to_images(z).numpy(),
                               atol=1e-6)


def test_registered_kinds_and_priors_are_the_recipe_choices(moment_kind):
    from training import config as config_lib

    assert moment_kind in models.model_kinds() and moment_kind in config_lib.SCHEMA["model.kind"].allowed()
    assert config_lib.SCHEMA["model.prior"].allowed() == tuple(priors.names())
    with pytest.raises(ConfigError, match="model.kind must be one of .*moments"):
        config_lib.resolve("digits_vae", ["model.kind=nope"])
    with pytest.raises(ConfigError, match="registered already"):
        models.register_model_kind(moment_kind, _build_moment_matcher)
    with pytest.raises(ConfigError, match="Unknown key.*'width'"):
        models.build_model({"model": moment_kind, "image_size": 8, "channels": 1, "width": 4})
    with pytest.raises(ConfigError, match="trains on images but"):
        models.model_kind(moment_kind).data_keys((2,))


def test_registry_names_need_no_tensorflow():
    code = ("import sys; from training import config; "
            "print(config.SCHEMA['model.kind'].allowed(), config.SCHEMA['model.prior'].allowed(), "
            "'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")
    assert "'vae'" in result.stdout and "'nonparametric'" in result.stdout


def test_builtin_names_are_what_their_modules_register():
    for reg in (registry.MODELS, registry.PRIORS):
        for name in reg._builtin:
            reg.get(name)  # imports the registering module
        assert set(reg._builtin) <= set(reg._entries)
    assert set(registry.PRIORS.names()) == {cls.kind for cls in registry.PRIORS._entries.values()}


def test_register_prior_adds_a_prior_everywhere():
    from zoo.priors.distributions import Normal

    class Wide(Normal):
        kind = "wide_normal"

        def __init__(self, latent_dim=100, loc=0.0, scale=3.0, **kwargs):
            super().__init__(latent_dim=latent_dim, loc=loc, scale=scale, **kwargs)

    priors.register_prior(Wide)
    try:
        model = models.build_model({"model": "dcgan", "image_size": 8, "channels": 1, "width": 4,
                                    "latent_dim": 3, "prior": "wide_normal", "compile": False})
        assert model.prior.kind == "wide_normal"
        assert float(np.std(model.prior.sample(4000, seed=1).numpy())) == pytest.approx(3.0, rel=0.05)
    finally:
        registry.PRIORS.unregister("wide_normal")
    with pytest.raises(ConfigError, match="LatentDistribution subclass"):
        priors.register_prior(int)


# ---- the contract of the shipped kinds --------------------------------------------------------------

TINY = {"image_size": 8, "channels": 1, "width": 4, "latent_dim": 3}


@pytest.mark.parametrize("kind", ["dcgan", "vae", "synthetic_gan", "wgan_gp", "synthetic_wgan_gp"])
def test_builtin_kinds_implement_the_contract(kind):
    config = {"model": kind, **({"latent_dim": 3, "hidden": 8} if kind.startswith("synthetic") else TINY)}
    model = models.build_model(config)
    assert isinstance(model, GenerativeModel)
    assert model.output_shape_ == model.element_shape  # the 0.1 name
    z = model.prior.sample(5, seed=(0, 3))
    images = model.latents_to_images(z).numpy()
    assert images.shape == (5, *model.element_shape) and images.dtype == np.float32
    np.testing.assert_array_equal(images, model.generate(5, seed=(0, 3)))
    if len(model.element_shape) == 3:
        assert images.min() >= -1.0 and images.max() <= 1.0
    slots = model.optimizer_slots()
    assert slots[-1].role == "generator" and [s.argument for s in slots] == [a for a in (
        ["d_optimizer", "g_optimizer"] if kind != "vae" else ["optimizer"])]
    assert [o for o, _ in model.optimizer_targets()] == [getattr(model, s.argument) for s in slots]
    assert model.encodes == (kind == "vae")
    assert model.generate(0).shape == (0, *model.element_shape)


def test_vae_images_are_decoded_logits_not_raw_ones():
    vae = models.build_model({"model": "vae", **TINY})
    z = vae.prior.sample(4, seed=(0, 1))
    logits = vae.decoder(z).numpy()
    np.testing.assert_allclose(vae.latents_to_images(z).numpy(), 2 / (1 + np.exp(-logits)) - 1, atol=1e-6)


def test_a_vae_runs_sample_grid_is_what_generate_makes(tmp_path):
    """The grid and strip of a VAE run show decoded images (``generate``), not the decoder's logits."""
    from PIL import Image

    from training import callbacks as cb
    from training import config as config_lib
    from training.run import train
    from zoo.latent import interpolate

    overrides = ["data.batch_size=16", "model.latent_dim=4", "model.options.width=4", "train.epochs=1",
                 "train.steps_per_epoch=2", "samples.grid=4", "samples.interpolation_pairs=2",
                 "samples.interpolation_steps=3", "eval.enabled=false", "seed=3"]
    train(config_lib.resolve("digits_vae", overrides), tmp_path / "run", verbose=0)
    vae = keras.saving.load_model(tmp_path / "run" / "model.keras")
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "epoch_0001.png"))[..., None]
    np.testing.assert_array_equal(grid, cb.image_grid(vae.generate(4, seed=(cb.GRID_SEED, 3)), columns=2))
    starts = vae.prior.sample(2, seed=(cb.INTERPOLATION_SEED, 3)).numpy()
    paths = interpolate(starts, None, 3, method="linear", through_origin=True).reshape(-1, 4)
    strip = np.asarray(Image.open(tmp_path / "run" / "samples" / "interpolation_0001.png"))[..., None]
    np.testing.assert_array_equal(strip, cb.image_grid(vae.latents_to_images(paths).numpy(), columns=3))
