"""Training callbacks on a small Keras model: NaN stop, checkpoint restore, image tiling."""

import json

import numpy as np
import pytest
from zoo._tf import tf

import keras

from zoo.errors import ConfigError

from training import callbacks as cb
from training import rundir as rundir_lib

STEPS = 5


def _regression(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def _batches(bad_batch=None):
    """20 fixed batches of 4 rows; ``bad_batch`` (0-based) gets an inf target."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    if bad_batch is not None:
        y[bad_batch * 4] = np.inf
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


def test_non_finite_loss_stops_with_name_and_step_and_keeps_last_good_checkpoint(tmp_path):
    run = rundir_lib.RunDir(tmp_path)
    model = _regression()
    checkpoint, stop = cb.Checkpoint(run, steps_per_epoch=STEPS), cb.NonFiniteStop(STEPS)
    # The inf target sits in batch 7: epoch 2, step 8 of the run.
    model.fit(_batches(bad_batch=7), epochs=4, steps_per_epoch=STEPS, callbacks=[stop, checkpoint], shuffle=False, verbose=0)
    assert stop.stopped[:2] == ("loss", 8)
    state = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1 and [row["epoch"] for row in state["history"]] == [1]
    assert [p.name for p in (tmp_path / "checkpoint").glob("*.weights.h5")] == ["epoch_0001.weights.h5"]
    message = str(stop.error(1, tmp_path))
    assert "loss 'loss' became inf at step 8 (epoch 2)" in message and "epoch 1" in message
    assert isinstance(stop.error(1, tmp_path), cb.NonFiniteLossError)
    assert run.history() == state["history"]


def test_checkpoint_restores_weights_and_optimizer_state_exactly(tmp_path):
    run = rundir_lib.RunDir(tmp_path)
    model = _regression()
    model.fit(_batches().repeat(), epochs=2, steps_per_epoch=STEPS, callbacks=[cb.Checkpoint(run, steps_per_epoch=STEPS)],
              shuffle=False, verbose=0)
    restored = _regression(seed=1)
    checkpoint = cb.Checkpoint(run, steps_per_epoch=STEPS)
    assert checkpoint.restore(restored) == 2
    assert [row["epoch"] for row in checkpoint.history] == [1, 2]
    assert int(restored.optimizer.iterations.numpy()) == 2 * STEPS
    for a, b in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert cb.Checkpoint(rundir_lib.RunDir(tmp_path / "empty"), steps_per_epoch=STEPS).restore(restored) == 0


def test_image_grid_tiles_and_scales():
    from zoo.images import image_grid

    images = np.stack([np.full((2, 3, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(images, columns=2)
    assert grid.shape == (4, 6, 1) and grid.dtype == np.uint8
    assert grid[0, 0, 0] == 0 and grid[0, 3, 0] == 128 and grid[2, 0, 0] == 255 and grid[2, 3, 0] == 0
    # uint8 pixels (what a server returns) are tiled as they are: one grid for both.
    np.testing.assert_array_equal(image_grid(np.array([0, 128, 255], np.uint8).reshape(3, 1, 1, 1).repeat(2, 1)
                                             .repeat(3, 2), columns=2), grid)
    assert cb.image_grid is image_grid


def test_scatter_draws_points_and_centres():
    picture = cb.scatter([np.zeros((1, 2))], limit=1.0, centres=np.array([[0.5, 0.5]]), size=64)
    assert picture.shape == (64, 64, 3)
    assert (picture != 255).any(axis=-1).sum() > 5
    centre = picture[16, 47]  # (0.5, 0.5) -> column 47, row 16
    assert tuple(centre) == (220, 30, 30)


def test_apply_ema_replaces_weights_by_their_average():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss="mse")
    # train_on_batch, unlike fit, leaves the raw weights in place (fit swaps in its own optimizer's EMA).
    for x, y in _batches().take(STEPS):
        model.train_on_batch(x, y)
    raw = [v.numpy().copy() for v in model.trainable_variables]
    ema = cb.ApplyEMA(optimizer, model.trainable_variables)
    ema.set_model(model)
    averages = [v.numpy().copy() for v in optimizer._model_variables_moving_average]
    ema.on_train_end()
    for variable, average, before in zip(model.trainable_variables, averages, raw):
        assert not np.allclose(average, before)
        np.testing.assert_array_equal(variable.numpy(), average)


def test_public_callbacks_work_with_a_plain_fit_of_a_zoo_model(tmp_path):
    from zoo.models import build_model

    model = build_model({"model": "dcgan", "image_size": 8, "channels": 1, "width": 4, "latent_dim": 4,
                         "compile": False})
    model.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=0.9))
    images = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    stop = cb.NonFiniteStop()
    model.fit(images, batch_size=16, epochs=2, verbose=0,
              callbacks=[cb.SampleImages(tmp_path / "samples", grid=4, pairs=2, steps=3), stop, cb.ApplyEMA()])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "epoch_0001.png", "epoch_0002.png", "interpolation_0001.png", "interpolation_0002.png"]
    assert stop.stopped is None
    averages = [v.numpy() for v in model.g_optimizer._model_variables_moving_average]
    for variable, average in zip(model.generator.trainable_variables, averages):
        np.testing.assert_array_equal(variable.numpy(), average)  # the generator ends on its EMA
    without_ema = build_model({"model": "dcgan", "image_size": 8, "channels": 1, "width": 4, "latent_dim": 4})
    with pytest.raises(ConfigError, match="use_ema=True"):
        without_ema.fit(images, batch_size=16, verbose=0, callbacks=[cb.ApplyEMA()])


def test_non_finite_stop_counts_steps_from_fit_without_being_told():
    model = _regression()
    stop = cb.NonFiniteStop()
    model.fit(_batches(bad_batch=7), epochs=4, steps_per_epoch=STEPS, callbacks=[stop], shuffle=False, verbose=0)
    assert stop.stopped[:2] == ("loss", 8)
