"""WGAN-GP (``zoo.models.WGANGP``, kinds ``wgan_gp`` / ``synthetic_wgan_gp``): its losses against
closed forms, the critic/generator update counts, GDPP in the generator loss, save/load, export."""

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import losses, models
from zoo.errors import ConfigError

TINY = dict(image_size=8, channels=1, width=4, latent_dim=3)


def _wgan(**options):
    return models.build_model({"model": "wgan_gp", **TINY, **options})


def _images(n, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def _dataset(x, batch):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch, drop_remainder=True)


# ---- the losses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2,), (4, 4, 1)])
def test_gradient_penalty_of_a_linear_critic_is_10_times_norm_minus_one_squared(shape):
    """f(x) = w.x has gradient w everywhere, so the penalty is (|w| - 1)^2 whatever the samples."""
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=shape) * 2.0, tf.float32)
    real, fake = rng.normal(size=(6, *shape)), rng.normal(size=(6, *shape))
    alpha = rng.uniform(size=6)
    penalty = losses.gradient_penalty(lambda x: tf.reduce_sum(x * w, axis=list(range(1, len(shape) + 1))),
                                      real, fake, alpha)
    expected = (np.linalg.norm(w.numpy()) - 1.0) ** 2
    assert float(penalty) == pytest.approx(expected, rel=1e-5)
    assert 10 * float(penalty) == pytest.approx(10 * expected, rel=1e-5)


def test_gradient_penalty_interpolates_each_sample_with_its_own_alpha():
    """f(x) = |x|^2 / 2 has gradient x: the penalty is mean_i (|real_i + alpha_i (fake_i - real_i)| - 1)^2."""
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    alpha = np.array([0.0, 1.0, 0.25, 0.5, 0.9])
    penalty = losses.gradient_penalty(lambda x: 0.5 * tf.reduce_sum(x * x, axis=1, keepdims=True), real, fake, alpha)
    norms = np.linalg.norm(real + alpha[:, None] * (fake - real), axis=1)
    assert float(penalty) == pytest.approx(np.mean((norms - 1.0) ** 2), rel=1e-5)


def test_gradient_penalty_is_finite_where_the_gradient_vanishes():
    variable = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(lambda x: variable * 0.0 * tf.reduce_sum(x, axis=1),
                                          np.zeros((3, 2)), np.ones((3, 2)), np.full(3, 0.5))
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)  # (sqrt(1e-12) - 1)^2
    assert np.isfinite(tape.gradient(penalty, variable).numpy())


def test_wasserstein_losses():
    real, fake = tf.constant([[1.0], [3.0]]), tf.constant([[0.5], [-1.5]])
    assert float(losses.discriminator_loss(real, fake, "wasserstein")) == pytest.approx(-0.5 - 2.0)
    assert float(losses.generator_loss(fake, "wasserstein")) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="set it to 0 for wasserstein"):
        losses.discriminator_loss(real, fake, "wasserstein", label_smoothing=0.1)


# ---- the model --------------------------------------------------------------------------------------


@pytest.mark.parametrize("critic_steps", [5, 2])
def test_one_step_is_critic_steps_critic_updates_and_one_generator_update(critic_steps):
    model = _wgan(critic_steps=critic_steps)
    history = model.fit(_dataset(_images(4 * critic_steps), 2 * critic_steps), epochs=1, verbose=0).history
    assert int(model.d_optimizer.iterations) == 2 * critic_steps
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.optimizer.iterations) == 2  # training steps, for TensorBoard and schedules
    assert set(history) == {"d_loss", "g_loss", "gradient_penalty", "wasserstein"}
    slots = model.optimizer_slots()
    assert [(s.argument, s.updates_per_step) for s in slots] == [("d_optimizer", critic_steps), ("g_optimizer", 1)]


def test_defaults_are_the_papers():
    model = _wgan()
    assert (model.critic_steps, model.gradient_penalty_weight, model.prior.kind) == (5, 10.0, "normal")
    for optimizer in (model.d_optimizer, model.g_optimizer):
        config = optimizer.get_config()
        assert (config["learning_rate"], config["beta_1"], config["beta_2"]) == pytest.approx((1e-4, 0.5, 0.9))
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in model.discriminator._flatten_layers())
    points = models.build_model({"model": "synthetic_wgan_gp", "latent_dim": 3, "hidden": 8})
    assert isinstance(points, models.WGANGP) and points.element_shape == (2,)


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="multiple of 5.*batch_size=320"):
        _wgan().fit(_dataset(_images(12), 12), epochs=1, verbose=0)
    with pytest.raises((ConfigError, tf.errors.InvalidArgumentError), match="multiple of 5"):
        _wgan().fit(_images(12), batch_size=12, epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="must not use BatchNorm"):  # at 16 px the second conv has one
        models.WGANGP(models.dcgan_generator(16, 1, 3, 4), models.dcgan_discriminator(16, 1, 4))
    with pytest.raises(ConfigError, match="does not take label_smoothing"):
        models.WGANGP(models.dcgan_generator(8, 1, 3, 4), models.dcgan_critic(8, 1, 4),
                      label_smoothing=0.1)
    for key, value in (("critic_steps", 0), ("gradient_penalty_weight", -1.0), ("critic_steps", 2.5)):
        with pytest.raises(ConfigError, match=key):
            _wgan(**{key: value})
    with pytest.raises(ConfigError, match="Unknown key"):
        _wgan(label_smoothing=0.1)


def _same_weights(model, diversity_weight):
    twin = _wgan(diversity_weight=diversity_weight, seed=model.seed)
    twin.set_weights(model.get_weights())
    for name in ("d_optimizer", "g_optimizer"):  # evaluate's noise is keyed by the step count
        getattr(twin, name).iterations.assign(getattr(model, name).iterations)
    return twin


def test_gdpp_enters_the_generator_loss_only():
    """With weight w the generator loss is 0.5 * (-mean D(G(z)) + w * gdpp), the critic's unchanged."""
    model = _wgan(diversity_weight=2.0, seed=3)
    x = _images(20)
    model.fit(_dataset(x, 10), epochs=1, verbose=0)
    with_gdpp = model.evaluate(x[:10], batch_size=10, verbose=0, return_dict=True)
    plain = _same_weights(model, 0.0).evaluate(x[:10], batch_size=10, verbose=0, return_dict=True)
    assert "gdpp_loss" in with_gdpp and "gdpp_loss" not in plain
    assert with_gdpp["gdpp_loss"] != 0.0
    assert with_gdpp["g_loss"] == pytest.approx(0.5 * (plain["g_loss"] + 2.0 * with_gdpp["gdpp_loss"]), rel=1e-5)
    for name in ("d_loss", "gradient_penalty", "wasserstein"):
        assert with_gdpp[name] == pytest.approx(plain[name], rel=1e-6)
    assert "gdpp_loss" in model.fit(_dataset(x, 10), epochs=1, verbose=0).history


def _assert_same_variables(a, b):
    assert len(a.variables) == len(b.variables)
    for va, vb in zip(a.variables, b.variables):
        np.testing.assert_array_equal(np.asarray(va), np.asarray(vb), err_msg=va.path)


def test_keras_round_trip_continues_training_identically(tmp_path):
    model = _wgan(diversity_weight=1.0, critic_steps=2, gradient_penalty_weight=5.0, seed=4)
    data = _dataset(_images(24), 8)
    model.fit(data, epochs=1, verbose=0)
    config = model.get_config()
    assert {"critic_steps": 2, "gradient_penalty_weight": 5.0}.items() <= config.items()
    assert not {"label_smoothing", "label_smoothing_mode", "generator_steps"} & set(config)
    def own(config):  # the networks' configs carry their layer names, the rest is the model's
        return {k: v for k, v in config.items() if k not in ("generator", "discriminator")}

    assert own(models.WGANGP.from_config(config).get_config()) == own(config)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is models.WGANGP and own(loaded.get_config()) == own(config)
    for name in ("d_optimizer", "g_optimizer"):
        assert getattr(loaded, name).get_config() == getattr(model, name).get_config()
        _assert_same_variables(getattr(loaded, name), getattr(model, name))
    assert int(loaded.optimizer.iterations) == 3
    _assert_same_variables(loaded, model)
    before = model.fit(data, epochs=1, verbose=0).history
    after = loaded.fit(data, epochs=1, verbose=0).history
    assert before == after
    _assert_same_variables(loaded, model)


def test_export_serves_the_generator_in_a_tensorflow_only_process(tmp_path):
    from exports import savedmodel
    from test_models_contract import assert_served_by_tensorflow_alone

    model = _wgan()
    assert_served_by_tensorflow_alone(model, savedmodel.export(model, tmp_path / "serving", "wgan"), tmp_path)


def test_recipes_train_through_the_run():
    from training import run as run_lib

    for recipe in ("ring_gdpp_wgan_gp", "mnist_gdpp_wgan_gp"):
        model, _, _ = run_lib.fit_steps(recipe, ["data.batch_size=10", "model.latent_dim=4"], 1)
        assert isinstance(model, models.WGANGP) and model.diversity_weight == 1.0
        assert int(model.d_optimizer.iterations) == 5 and int(model.g_optimizer.iterations) == 1
