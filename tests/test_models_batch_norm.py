"""The generator's batch norm outside training: evaluate's batch-statistics protocol (the GDPP
authors'), recalibrate_batch_norm, and `zoo train` re-estimating it for models trained off the prior."""

import importlib
import json

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import models
from zoo.errors import ConfigError
from zoo.metrics import evaluate
from zoo.models import batch_norm
from zoo.priors import LatentPrior

# The module (zoo.metrics re-exports a function of the same name).
evaluate_module = importlib.import_module("zoo.metrics.evaluate")


def _dcgan(**options):
    return models.build_model({"model": "dcgan", "image_size": 28, "channels": 1, "width": 4, "latent_dim": 6,
                               "compile": False, **options})


def _values(model):
    return [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in model.weights]


def _same_bits(before, after):
    return len(before) == len(after) and all(a.dtype == b.dtype and a.tobytes() == b.tobytes()
                                             for a, b in zip(before, after))


def _scramble_moving_statistics(network, seed=0):
    """Moving statistics far from any real batch's (as a model trained on other latents has)."""
    rng = np.random.default_rng(seed)
    for layer in batch_norm.batch_norm_layers(network):
        layer.moving_mean.assign(rng.normal(3.0, 1.0, layer.moving_mean.shape).astype(np.float32))
        layer.moving_variance.assign(rng.uniform(20.0, 50.0, layer.moving_variance.shape).astype(np.float32))


@pytest.fixture
def captured(monkeypatch):
    """The generated samples evaluate hands to its feature extractors, in order."""
    samples = []
    add = evaluate_module._Collected.add

    def spy(self, images, *args, **kwargs):
        samples.append(np.asarray(images))
        return add(self, images, *args, **kwargs)

    monkeypatch.setattr(evaluate_module._Collected, "add", spy)
    return samples


# ---- evaluate(batch_norm=...) --------------------------------------------------------------------


def test_batch_protocol_normalises_every_call_with_its_own_batch_and_restores_the_model(captured):
    from zoo.metrics.midpoint import prior_and_midpoint_latents

    model = _dcgan()
    _scramble_moving_statistics(model.generator)
    before = _values(model)
    # 50 samples in calls of 16: 16, 16, 16 and a last call of 2 completed with the first 14 latents.
    report = evaluate(model, ["precision-recall"], dataset="digits", samples=50, seed=4, midpoint=False,
                      batch_size=40, batch_norm="batch", batch_norm_batch_size=16)
    assert _same_bits(before, _values(model))  # weights and moving statistics, bit for bit
    assert report["batch_norm"] == "batch" and report["batch_norm_batch_size"] == 16
    got = np.concatenate(captured)
    z = np.asarray(prior_and_midpoint_latents(model.prior, 50, 4)[0])
    expected = []
    for start in range(0, 50, 16):
        index = np.arange(start, start + 16) % 50
        expected.append(model.generator(z[index], training=True).numpy()[: min(50, start + 16) - start])
    np.testing.assert_allclose(got, np.concatenate(expected), atol=1e-5)
    # The moving protocol, on the same latents, is what generate gives: different here.
    captured.clear()
    moving = evaluate(model, ["precision-recall"], dataset="digits", samples=50, seed=4, midpoint=False)
    assert moving["batch_norm"] == "moving" and moving["batch_norm_batch_size"] is None
    np.testing.assert_allclose(np.concatenate(captured), model.generator(z, training=False).numpy(), atol=1e-5)
    assert np.abs(np.concatenate(captured) - got).mean() > 0.5 * np.abs(got).mean() > 0


def test_batch_protocol_also_for_frozen_layers_and_vae_decoders(captured):
    model = _dcgan()
    model.generator.trainable = False  # Keras would then use the moving statistics even in training mode
    _scramble_moving_statistics(model.generator)
    before = _values(model)
    evaluate(model, ["precision-recall"], dataset="digits", samples=32, seed=0, midpoint=False,
             batch_norm="batch", batch_norm_batch_size=32)
    assert _same_bits(before, _values(model)) and not model.generator.trainable
    images = np.concatenate(captured)
    # Batch statistics: each channel of the first batch-norm output is standardised, so the samples
    # do not depend on the scrambled moving statistics.
    _scramble_moving_statistics(model.generator, seed=1)
    captured.clear()
    evaluate(model, ["precision-recall"], dataset="digits", samples=32, seed=0, midpoint=False,
             batch_norm="batch", batch_norm_batch_size=32)
    np.testing.assert_allclose(np.concatenate(captured), images, atol=1e-5)

    vae = models.build_model({"model": "vae", "image_size": 28, "channels": 1, "width": 4, "latent_dim": 6,
                              "compile": False})
    _scramble_moving_statistics(vae.decoder)
    before = _values(vae)
    captured.clear()
    evaluate(vae, ["precision-recall"], dataset="digits", samples=20, seed=0, midpoint=False,
             batch_norm="batch", batch_norm_batch_size=10)
    assert _same_bits(before, _values(vae))
    assert np.all(np.abs(np.concatenate(captured)) <= 1.0)


def test_bad_batch_norm_settings_are_config_errors():
    model = _dcgan()
    with pytest.raises(ConfigError, match="batch_norm must be 'moving'.*or 'batch'"):
        evaluate(model, ["precision-recall"], dataset="digits", samples=20, batch_norm="train")
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ConfigError, match="batch_norm_batch_size must be an int >= 2"):
            evaluate(model, ["precision-recall"], dataset="digits", samples=20, batch_norm="batch",
                     batch_norm_batch_size=bad)


def test_zoo_evaluate_takes_the_batch_norm_protocol(tmp_path, capsys):
    from zoo.cli import main

    path = tmp_path / "model.keras"
    _dcgan().save(path)
    out = tmp_path / "report.json"
    assert main(["evaluate", str(path), "--dataset", "digits", "--metrics", "precision-recall", "--samples", "40",
                 "--no-midpoint", "--batch-norm", "batch", "--batch-norm-batch-size", "8", "--json", str(out),
                 "--quiet"]) == 0
    report = json.loads(out.read_text())
    assert (report["batch_norm"], report["batch_norm_batch_size"]) == ("batch", 8)
    assert "batch statistics in batches of 8" in capsys.readouterr().out
    assert main(["evaluate", str(path), "--dataset", "digits", "--batch-norm", "batch", "--batch-norm-batch-size",
                 "1", "--quiet"]) == 2
    assert "batch_norm_batch_size" in capsys.readouterr().err


# ---- recalibrate_batch_norm ----------------------------------------------------------------------


def test_recalibration_averages_the_batch_moments_of_prior_batches():
    model = _dcgan(prior="normal")
    _scramble_moving_statistics(model.generator)
    trainable_before = [np.array(v) for v in model.generator.trainable_weights]
    assert models.recalibrate_batch_norm(model, batches=5, batch_size=16, seed=3) == 3
    assert _same_bits(trainable_before, [np.array(v) for v in model.generator.trainable_weights])
    # The first batch norm follows the dense projection: its statistics in closed form.
    dense = next(layer for layer in model.generator.layers if isinstance(layer, keras.layers.Dense))
    first = batch_norm.batch_norm_layers(model.generator)[0]
    base = tf.constant([0, 3], tf.int32)
    means, variances = [], []
    for index in range(5):
        z = model.prior.sample(16, tf.random.experimental.stateless_fold_in(base, index)).numpy()
        x = (z.astype(np.float64) @ dense.kernel.numpy().astype(np.float64)).reshape(16, 4, 4, -1)
        means.append(x.mean(axis=(0, 1, 2)))
        variances.append(x.var(axis=(0, 1, 2)))
    np.testing.assert_allclose(first.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(first.moving_variance.numpy(), np.mean(variances, axis=0), rtol=1e-4, atol=1e-6)
    assert first.momentum == 0.9 and first.trainable  # the layers' own settings are back


def test_recalibrated_generate_matches_batch_statistics_and_reproduces():
    model = _dcgan(prior="normal")
    _scramble_moving_statistics(model.generator)
    z = model.prior.sample(512, tf.constant([0, 9], tf.int32))
    with batch_norm.batch_statistics(model.generator):
        reference = model.generator(z, training=True).numpy()
    far = np.abs(model.generate(512, seed=9) - reference).mean()
    models.recalibrate_batch_norm(model, batches=20, batch_size=64, seed=0)
    stats = [np.array(v) for layer in batch_norm.batch_norm_layers(model.generator)
             for v in (layer.moving_mean, layer.moving_variance)]
    near = np.abs(model.generate(512, seed=9) - reference).mean()
    assert near < 0.1 * far and near < 0.05
    # Stateless: the same seed gives the same statistics, whatever the moving statistics were before.
    _scramble_moving_statistics(model.generator, seed=5)
    models.recalibrate_batch_norm(model, batches=20, batch_size=64, seed=0)
    again = [np.array(v) for layer in batch_norm.batch_norm_layers(model.generator)
             for v in (layer.moving_mean, layer.moving_variance)]
    assert _same_bits(stats, again)


def test_recalibration_of_networks_without_batch_norm_and_bad_arguments():
    gan = models.build_model({"model": "synthetic_gan", "compile": False})
    before = _values(gan)
    assert models.recalibrate_batch_norm(gan, seed=0) == 0 and _same_bits(before, _values(gan))
    vae = models.build_model({"model": "vae", "image_size": 28, "channels": 1, "width": 4, "latent_dim": 6,
                              "compile": False})
    assert models.recalibrate_batch_norm(vae, batches=2, batch_size=8, seed=0) == 3
    model = _dcgan()
    for kwargs in ({"batches": 0}, {"batch_size": 1}, {"batches": 2.5}, {"batch_size": True}):
        with pytest.raises(ConfigError, match="recalibrate_batch_norm"):
            models.recalibrate_batch_norm(model, **kwargs)
    with pytest.raises(ConfigError, match="GenerativeModel"):
        models.recalibrate_batch_norm(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(ConfigError, match="GenerativeModel"):
        models.recalibrate_batch_norm(type("NoPrior", (), {"prior": LatentPrior("normal", 2)})())


# ---- zoo train ----------------------------------------------------------------------------------

TINY_SLOTS = {
    "version": 1,
    "extends": "stacked_digits_gan",
    "description": "tiny slot-latent run",
    "data": {"batch_size": 16},
    "model": {"latent_dim": 8, "options": {"width": 4, "training_noise": {"slots": 16, "scale": 0.2}}},
    "train": {"epochs": 1, "steps_per_epoch": 3, "deterministic": True},
    "samples": {"grid": 4, "interpolation_pairs": 2, "interpolation_steps": 5},
    "eval": {"enabled": False},
}


def test_training_off_the_prior_saves_prior_statistics(tmp_path):
    import zoo
    from zoo.cli import main

    recipe = tmp_path / "slots.json"
    recipe.write_text(json.dumps(TINY_SLOTS))
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--quiet", "--set", "seed=7"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["batch_norm_recalibrated"] == {"batches": 100, "batch_size": 64, "seed": 7, "layers": 3}
    saved = zoo.models.load_file(out / "model.keras")
    stats = [np.array(v) for layer in batch_norm.batch_norm_layers(saved.generator)
             for v in (layer.moving_mean, layer.moving_variance)]
    # The saved statistics are the re-estimate on prior samples with the run's seed (it does not
    # depend on the statistics training left), and generate reproduces exactly.
    models.recalibrate_batch_norm(saved, seed=7)
    assert _same_bits(stats, [np.array(v) for layer in batch_norm.batch_norm_layers(saved.generator)
                              for v in (layer.moving_mean, layer.moving_variance)])
    np.testing.assert_array_equal(saved.generate(8, seed=1), saved.generate(8, seed=1))
    # A model trained on its prior keeps the statistics training collected.
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({**TINY_SLOTS, "model": {"latent_dim": 8, "options": {"width": 4,
                                                                                       "training_noise": None}}}))
    assert main(["train", str(plain), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert "batch_norm_recalibrated" not in json.loads((tmp_path / "plain" / "run.json").read_text())
