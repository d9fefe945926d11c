"""The zoo's models under plain Keras: validation and evaluate, callbacks, TensorBoard, export, input checks."""

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models
from zoo.errors import ConfigError

TINY = dict(image_size=8, channels=1, width=4, latent_dim=4)


def _images(n=32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 8, 8, 1)).astype("float32")


def _model(kind, diversity_weight=0.0, **options):
    return models.build_model({"model": kind, "diversity_weight": diversity_weight, **TINY, **options})


def _weights(model):
    """Every weight and moving statistic, and the optimizers' step counters."""
    return [np.array(v) for v in model.variables] + [int(model.optimizer.iterations)]


@pytest.mark.parametrize("kind,weight,logs", [
    ("dcgan", 1.0, {"d_loss", "g_loss", "gdpp_loss"}),
    ("vae", 0.0, {"loss", "reconstruction_loss", "kl_loss"}),
])
def test_validation_and_evaluate_report_the_losses_without_training(kind, weight, logs):
    model = _model(kind, weight)
    x = _images(40)
    history = model.fit(x, validation_split=0.2, batch_size=8, epochs=2, verbose=0).history
    assert set(history) == logs | {f"val_{name}" for name in logs}
    history = model.fit(x, validation_data=x[:8], batch_size=8, verbose=0).history
    assert all(np.isfinite(history[f"val_{name}"][0]) for name in logs)

    before = _weights(model)
    first = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    second = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)
    assert set(first) == logs and first == second  # stateless evaluation noise: repeatable
    for a, b in zip(before, _weights(model)):
        np.testing.assert_array_equal(a, b)  # no weight, moving statistic or optimizer step changed


def test_monitoring_callbacks_know_the_losses_are_minimised(tmp_path):
    model = _model("dcgan")
    callbacks = [
        keras.callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="val_g_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="d_loss", patience=3),
        keras.callbacks.ReduceLROnPlateau(monitor="g_loss", patience=3),
    ]
    model.fit(_images(), validation_data=_images(16, seed=1), batch_size=16, epochs=2, callbacks=callbacks, verbose=0)
    assert all(callback.monitor_op is keras.ops.less for callback in callbacks)
    assert (tmp_path / "best.keras").is_file()
    vae = _model("vae")
    stop = keras.callbacks.EarlyStopping(monitor="reconstruction_loss")
    vae.fit(_images(), batch_size=16, callbacks=[stop], verbose=0)
    assert stop.monitor_op is keras.ops.less


def test_learning_rate_callbacks_move_both_gan_optimizers_at_their_ratio():
    model = _model("dcgan", g_learning_rate=2e-4, d_learning_rate=4e-4)

    def rates():
        return (float(model.g_optimizer.learning_rate), float(model.d_optimizer.learning_rate))

    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-4)  # an absolute schedule
    model.fit(_images(), batch_size=16, callbacks=[scheduler], verbose=0)
    assert rates() == pytest.approx((1e-4, 2e-4))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)  # the generator's
    # min_delta larger than any change: no epoch improves, so every epoch after the first halves.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="d_loss", factor=0.5, patience=0, min_delta=1e9)
    history = model.fit(_images(), batch_size=16, epochs=3, callbacks=[plateau], verbose=0).history
    assert rates() == pytest.approx((2.5e-5, 5e-5))
    assert history["learning_rate"] == pytest.approx([1e-4, 1e-4, 5e-5])  # logged before the epoch's cut
    assert int(model.optimizer.iterations) == int(model.d_optimizer.iterations) == 8


def test_tensorboard_callback_logs_training_and_validation(tmp_path):
    model = _model("dcgan", 1.0)
    model.fit(_images(), validation_data=_images(16, seed=1), batch_size=16, epochs=2, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(tmp_path)])
    for part in ("train", "validation"):
        assert list((tmp_path / part).glob("events.out.tfevents.*")), part


@pytest.mark.parametrize("kind", ["dcgan", "vae"])
def test_keras_export_serves_call(kind, tmp_path):
    model = _model(kind)
    model.export(tmp_path / "export", verbose=False)
    served = tf.saved_model.load(str(tmp_path / "export"))
    inputs = np.random.default_rng(0).uniform(-1, 1, (3, 4) if kind == "dcgan" else (3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(served.serve(inputs).numpy(), model(inputs).numpy(), atol=1e-5)


def test_integer_images_are_refused_with_the_conversion():
    pixels = (np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1))).astype("uint8")
    for kind in ("dcgan", "vae"):
        with pytest.raises(ConfigError, match=r"uint8 samples; images must be float32 in \[-1, 1\].*127.5 - 1"):
            _model(kind).fit(pixels, batch_size=8, verbose=0)


@pytest.mark.parametrize("kind", ["dcgan", "vae"])
def test_generate_seeds(kind):
    model = _model(kind)
    np.testing.assert_array_equal(model.generate(3, 7), model.generate(3, (0, 7)))
    assert not np.array_equal(model.generate(3), model.generate(3))  # no seed: fresh samples
