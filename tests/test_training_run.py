"""`zoo train` end to end on a tiny recipe: records, determinism, resume after a kill, errors."""

import json
import os
import pathlib
import re
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from zoo.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
EPOCHS = 3
# A few-second GDPP-DCGAN on digits: narrow nets, few steps, small sample grids and evaluation.
TINY = {
    "version": 1,
    "extends": "digits_gdpp_dcgan_nonparametric",
    "description": "tiny test run",
    "data": {"batch_size": 16, "image_size": 16},
    "model": {"latent_dim": 8, "options": {"width": 4}},
    # Exact repeats and resumes are what deterministic ops (off by default) are for.
    "train": {"epochs": EPOCHS, "steps_per_epoch": 4, "deterministic": True},
    "samples": {"grid": 4, "interpolation_pairs": 2, "interpolation_steps": 5},
    "eval": {"samples": 200},
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return str(path)


def _zoo(*args):
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, cwd=ROOT)


def _losses(run: pathlib.Path):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in json.loads((run / "history.json").read_text())]


def _weights(run: pathlib.Path, trainable_only=False, optimizers=False):
    """The saved model's weights (and with ``optimizers``, both optimizers' variables: moments, steps)."""
    import keras

    import zoo.models  # noqa: F401  (registers the zoo's classes for loading)

    model = keras.saving.load_model(run / "model.keras")
    weights = model.trainable_weights if trainable_only else model.weights
    if optimizers:
        weights = [*weights, *model.d_optimizer.variables, *model.g_optimizer.variables]
    return [np.asarray(w) for w in weights]


def test_train_writes_a_complete_run_and_repeats_exactly(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", tiny, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"{EPOCHS} epochs" in printed and "metrics" in printed

    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "completed" and record["recipe"] == "tiny"
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["prior"] == "nonparametric" and config["train"]["epochs"] == EPOCHS
    environment = json.loads((out / "environment.json").read_text())
    assert {"tensorflow", "keras", "numpy", "python"} <= set(environment["versions"])
    assert environment["devices"] and environment["strategy"] == "default"
    assert environment["deterministic"] is True and environment["jit"] is False
    history = _losses(out)
    assert [row["epoch"] for row in history] == list(range(1, EPOCHS + 1))
    assert {"d_loss", "g_loss", "gdpp_loss"} <= set(history[0])
    csv_lines = (out / "history.csv").read_text().splitlines()
    assert len(csv_lines) == EPOCHS + 1 and "g_loss" in csv_lines[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics and all(isinstance(k, str) for k in metrics)
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == [f"{kind}_{e:04d}.png" for kind in ("epoch", "interpolation") for e in range(1, EPOCHS + 1)]
    from PIL import Image

    strip = Image.open(out / "samples" / "interpolation_0001.png")
    assert strip.size == (5 * 16, 2 * 16)  # interpolation_steps x pairs tiles of 16 px
    assert any((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert (out / "model.keras").is_file()
    # One mode for everything a run writes (run records were mkstemp's 0600 beside a 0644 model).
    modes = {path.relative_to(out).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in out.rglob("*") if path.is_file() and path.name != ".lock"}
    assert {"run.json", "config.json", "metrics.json", "history.csv", "checkpoint/state.json"} <= set(modes)
    assert set(modes.values()) == {stat.S_IMODE((out / "model.keras").stat().st_mode)}, modes

    # Same recipe and seed on the same machine: the same losses.
    again = tmp_path / "again"
    assert main(["train", tiny, "--out", str(again), "--quiet", "--set", "eval.enabled=false"]) == 0
    assert _losses(again) == history
    # A different seed trains differently (the comparison above can fail).
    other = tmp_path / "other"
    assert main(["train", tiny, "--out", str(other), "--quiet", "--set", "seed=1", "--set", "eval.enabled=false"]) == 0
    assert _losses(other) != history


def test_resume_after_kill_matches_an_uninterrupted_run(tiny, tmp_path):
    slow = ["--set", "train.steps_per_epoch=20", "--set", "eval.enabled=false", "--quiet"]
    reference = tmp_path / "reference"
    assert main(["train", tiny, "--out", str(reference), *slow]) == 0

    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", tiny, "--out", str(out), *slow], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-3000:]
    completed_before_kill = json.loads(state.read_text())["epoch"]
    assert 1 <= completed_before_kill < EPOCHS, "the run finished before it could be killed"
    assert json.loads((out / "run.json").read_text())["status"] == "running"

    # The same command again continues from the last completed epoch.
    result = _zoo("train", tiny, "--out", str(out), *slow)
    assert result.returncode == 0, result.stderr
    assert f"resumed after epoch {completed_before_kill}" in result.stdout
    assert _losses(out) == _losses(reference)
    resumed, uninterrupted = _weights(out, optimizers=True), _weights(reference, optimizers=True)
    assert len(resumed) == len(uninterrupted)
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "completed" and len(record["resumes"]) == 1
    # The training time counts the epochs of both invocations, not only the resumed one's.
    epoch_seconds = [row["seconds"] for row in json.loads((out / "history.json").read_text())]
    assert len(epoch_seconds) == EPOCHS and record["training_seconds"] == round(sum(epoch_seconds), 1)
    assert record["training_seconds"] > sum(epoch_seconds[completed_before_kill:]) > 0


def test_diverging_run_stops_naming_the_loss(tiny, tmp_path, capsys):
    out = tmp_path / "nan"
    code = main(["train", tiny, "--out", str(out), "--quiet", "--set", "optimizer.learning_rate=1e30",
                 "--set", "optimizer.d_learning_rate=1e30", "--set", "model.diversity_weight=0"])
    assert code == 2
    error = capsys.readouterr().err
    assert "became nan" in error or "became inf" in error
    assert "at step" in error
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "stopped_nan"
    assert not (out / "model.keras").exists()


def test_bad_input_fails_before_writing(tiny, tmp_path, capsys):
    missing = tmp_path / "missing"
    code = main(["train", tiny, "--out", str(missing), "--set", "data.name=folder",
                 "--set", f"data.data_dir={tmp_path / 'no_such_images'}"])
    assert code == 2
    assert "no_such_images" in capsys.readouterr().err
    assert not missing.exists()

    assert main(["train", "ring_gdp"]) == 2
    assert "Did you mean 'ring_gdpp'" in capsys.readouterr().err
    assert main(["train", tiny, "--set", "train.epochs=many"]) == 2
    assert "train.epochs must be int" in capsys.readouterr().err
    assert main(["train", tiny, "--out", str(missing), "--jit"]) == 2
    assert "train.deterministic=false" in capsys.readouterr().err
    assert not missing.exists()


# A few-step VAE on an image folder, evaluated on metrics that need no downloaded weights.
FOLDER_VAE = {
    "version": 1,
    "extends": "digits_vae",
    "description": "tiny VAE on an image folder",
    "data": {"name": "folder", "batch_size": 8, "image_size": 8, "options": {"grayscale": True}},
    "model": {"latent_dim": 4, "options": {"width": 4}},
    "train": {"epochs": 1, "steps_per_epoch": 2},
    "samples": {"grid": 2, "interpolation_pairs": 1, "interpolation_steps": 3},
    "eval": {"metrics": ["precision-recall", "reconstruction"], "samples": 8},
}


def test_folder_run_evaluates_against_its_own_folder(tmp_path, capsys):
    import keras
    from PIL import Image

    import zoo.models  # noqa: F401  (registers the zoo's classes for loading)

    # Every image one grey level: the reconstruction error of any 8 of them is known exactly. Fewer
    # images than evaluate's reading batch (256), as in a user's small folder.
    images = tmp_path / "images"
    images.mkdir()
    for i in range(16):
        Image.new("L", (12, 12), 200).save(images / f"{i:02d}.png")
    recipe = tmp_path / "folder_vae.json"
    recipe.write_text(json.dumps(FOLDER_VAE))
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--quiet", "--set", f"data.data_dir={images}"]) == 0

    report = json.loads((out / "metrics.json").read_text())
    assert report["dataset"] == "folder" and report["data_dir"] == str(images)
    assert {"precision", "recall"} <= set(report["results"])
    model = keras.saving.load_model(out / "model.keras")
    grey = np.full((1, 8, 8, 1), 200 / 127.5 - 1, np.float32)
    expected = float(np.mean((model.decode(model.encode(grey)[0]) - grey) ** 2))
    assert report["results"]["reconstruction-mse"]["value"] == pytest.approx(expected, rel=1e-4)

    # `zoo evaluate` on the run directory reads the folder from its config.json; --data-dir overrides it.
    again = tmp_path / "again.json"
    args = ["evaluate", str(out), "--metrics", "reconstruction", "--samples", "8", "--quiet"]
    assert main([*args, "--json", str(again)]) == 0
    assert json.loads(again.read_text())["results"]["reconstruction-mse"] == report["results"]["reconstruction-mse"]
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main([*args, "--data-dir", str(tmp_path / "empty")]) == 2
    assert "no images in" in capsys.readouterr().err
    assert main([*args, "--data-dir", str(tmp_path / "gone")]) == 2
    assert "does not exist" in capsys.readouterr().err
    alone = tmp_path / "alone.keras"  # a model file without its run: nothing says where the images are
    alone.write_bytes((out / "model.keras").read_bytes())
    grey_folder = ["--dataset", "folder", "--data-options", '{"grayscale": true}']
    assert main(["evaluate", str(alone), *grey_folder, *args[2:]]) == 2
    assert "--data-dir DIR" in capsys.readouterr().err

def test_defaults_are_fast_and_jit_really_compiles(tiny, tmp_path):
    from training import config as config_lib
    from training import run as run_lib
    from zoo._tf import tf

    assert config_lib.DEFAULTS["train"]["deterministic"] is False
    config = config_lib.resolve(tiny, ["train.deterministic=false", "train.epochs=1", "eval.enabled=false"])
    tf.config.experimental.enable_op_determinism()  # left on by earlier work in this process
    if tf.config.list_physical_devices("GPU"):
        result = run_lib.train(config, tmp_path / "jit", jit=True, verbose=0)
    else:  # XLA on a CPU is slower for these models, and --jit says so
        with pytest.warns(UserWarning, match="--jit on a machine without a GPU makes .* train SLOWER"):
            result = run_lib.train(config, tmp_path / "jit", jit=True, verbose=0)
    environment = json.loads((result.path / "environment.json").read_text())
    assert environment["jit"] is True and environment["deterministic"] is False  # Keras kept XLA on
    from tensorflow.python.framework.config import is_op_determinism_enabled

    assert not is_op_determinism_enabled()
    assert all(np.isfinite(v) for row in result.history for v in row.values())


def test_mirrored_strategy_trains_replicas_on_a_split_cpu(tiny, tmp_path):
    out = tmp_path / "mirrored"
    result = _zoo("train", tiny, "--out", str(out), "--strategy", "mirrored", "--cpu-devices", "2", "--quiet",
                  "--set", "train.epochs=1", "--set", "eval.enabled=false")
    assert result.returncode == 0, result.stderr[-3000:]
    environment = json.loads((out / "environment.json").read_text())
    assert environment["replicas"] == 2 and len(environment["devices"]) >= 2
    uneven = tmp_path / "uneven"
    result = _zoo("train", tiny, "--out", str(uneven), "--strategy", "mirrored", "--cpu-devices", "2",
                  "--set", "data.batch_size=15")
    assert result.returncode == 2 and "Use a multiple of 2, e.g. --set data.batch_size=14" in result.stderr
    assert not uneven.exists()


def test_strategy_misconfigurations_are_reported(tiny, tmp_path, capsys):
    from training import strategy as strategy_lib

    with pytest.warns(UserWarning, match="found one device"):
        placement = strategy_lib.setup("mirrored")
    assert placement.replicas == 1
    assert main(["train", tiny, "--out", str(tmp_path / "x"), "--cpu-devices", "2"]) == 2
    assert "add --strategy mirrored" in capsys.readouterr().err
    # This process started TensorFlow long ago: its CPU can no longer be split.
    assert main(["train", tiny, "--out", str(tmp_path / "x"), "--strategy", "mirrored", "--cpu-devices", "3"]) == 2
    assert "in a fresh process" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_list_and_keys_are_fast_and_need_no_tensorflow():
    code = "import sys; from zoo.cli import main; main(['train', '--list']); print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert re.search(r"mnist_gdpp_dcgan_nonparametric.*\(default\)", result.stdout)
    assert result.stdout.strip().endswith("False")
    result = _zoo("train", "--keys")
    assert "train.steps_per_epoch" in result.stdout and "model.options" in result.stdout


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_multiworker_trains_the_same_model_in_lock_step(tiny, tmp_path):
    ports = [_free_port(), _free_port()]
    out = tmp_path / "mw"
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "zoo", "train", tiny, "--out", str(out), "--strategy", "multiworker", "--quiet",
             "--set", "eval.enabled=false", "--set", "train.epochs=2"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    chief, other = out, tmp_path / "mw-worker1"
    assert json.loads((chief / "environment.json").read_text())["replicas"] == 2
    assert (chief / "samples").is_dir() and not (other / "samples").exists()
    assert _losses(chief) == _losses(other)
    # Gradients are all-reduced, so every trained weight is identical; BatchNorm's moving statistics
    # are not trained and follow each worker's own shard of the data.
    for a, b in zip(_weights(chief, trainable_only=True), _weights(other, trainable_only=True)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_default_recipe_trains_and_evaluates_within_its_budget(tmp_path):
    """The README's main command: a few minutes on 2 CPU cores; the budget is 10 minutes with export."""
    out = tmp_path / "default"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "zoo", "train", "digits_gdpp_dcgan_nonparametric", "--out", str(out),
                             "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"default recipe: {time.monotonic() - started:.0f} s")
    report = json.loads((out / "metrics.json").read_text())
    fid = report["results"]["digits-FID"]
    # An untrained generator scores in the hundreds; a trained one in the tens.
    assert fid["prior"] < 60 and fid["midpoint"] < 90
    assert len(list((out / "samples").glob("interpolation_*.png"))) == 10


def test_ema_callbacks_end_a_plain_fit_with_the_generator_averages(tiny):
    # The benchmarks fit models from run.build without run.train; train.ema must still apply.
    from training import config as config_lib
    from training import run as run_lib
    from training import strategy as strategy_lib

    def fitted(overrides, with_callbacks):
        config = config_lib.resolve(tiny, overrides)
        model, dataset, _, _ = run_lib.build(config, strategy_lib.setup("default"))
        callbacks = run_lib.ema_callbacks(config, model) if with_callbacks else []
        model.fit(dataset.repeat(), epochs=1, steps_per_epoch=3, verbose=0, callbacks=callbacks)
        return model, callbacks

    assert fitted([], True)[1] == []
    averaged, callbacks = fitted(["train.ema=0.5"], True)
    raw, _ = fitted(["train.ema=0.5"], False)
    assert len(callbacks) == 1
    for a, b in zip(averaged.discriminator.weights, raw.discriminator.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert any(not np.allclose(np.asarray(a), np.asarray(b))
               for a, b in zip(averaged.generator.trainable_weights, raw.generator.trainable_weights))
    averages = averaged.g_optimizer._model_variables_moving_average
    for variable, average in zip(averaged.generator.trainable_variables, averages):
        np.testing.assert_array_equal(np.asarray(variable), np.asarray(average))


def test_fit_steps_sizes_the_schedule_to_the_iterations_it_runs(tiny):
    # The benchmarks train for --iterations, not the recipe's length: a linear decay must end there
    # (it used to reach 0 at the recipe's length, freezing longer runs, or never reach it).
    from training import run as run_lib
    from zoo.errors import ConfigError

    model, config, seconds = run_lib.fit_steps(tiny, ["optimizer.decay=linear"], 5)
    assert config["train"]["epochs"] == 1 and config["train"]["steps_per_epoch"] == 5 and seconds > 0
    # The digits recipes make 2 generator updates per step: the generator's schedule counts both.
    assert model.generator_steps == 2
    assert (int(model.d_optimizer.iterations), int(model.g_optimizer.iterations)) == (5, 10)
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
    schedules = [o.get_config()["learning_rate"]["config"] for o in (model.g_optimizer, model.d_optimizer)]
    assert [schedule["decay_steps"] for schedule in schedules] == [10, 5]
    again, _, _ = run_lib.fit_steps(tiny, ["optimizer.decay=linear"], 5)
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ConfigError, match="iterations"):
        run_lib.fit_steps(tiny, [], 0)


def test_fit_steps_callbacks_that_sample_do_not_change_training(tiny):
    # The benchmarks' probes generate from the model mid-run: training noise is stateless, so the
    # weights end exactly where an unprobed run ends.
    import keras

    from training import run as run_lib

    class Probe(keras.callbacks.Callback):
        calls = 0

        def on_train_batch_end(self, batch, logs=None):
            self.model.generate(16, batch)
            Probe.calls += 1

    plain, _, _ = run_lib.fit_steps(tiny, [], 4)
    probed, _, _ = run_lib.fit_steps(tiny, [], 4, callbacks=[Probe()])
    assert Probe.calls == 4
    for a, b in zip(plain.weights, probed.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
