"""`zoo train` against hostile input: empty data, bad eval settings, shrinking resumes, two writers,
damaged run records and checkpoints. Each refusal exits 2 and keeps what the run had written."""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from zoo.cli import main

from test_training_run import ROOT, TINY

QUIET = ["--quiet", "--set", "eval.enabled=false"]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({**TINY, "train": {**TINY["train"], "epochs": 1}}))
    return str(path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A completed one-epoch tiny run (copy it before changing it)."""
    root = tmp_path_factory.mktemp("finished")
    recipe = root / "tiny.json"
    recipe.write_text(json.dumps({**TINY, "train": {**TINY["train"], "epochs": 1}}))
    assert main(["train", str(recipe), "--out", str(root / "run"), *QUIET]) == 0
    return recipe, root / "run"


def _copy(finished, tmp_path):
    recipe, run = finished
    shutil.copytree(run, tmp_path / "run")
    return str(recipe), tmp_path / "run"


def _snapshot(run: pathlib.Path) -> dict:
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def _write_images(folder: pathlib.Path, good: int, bad: int):
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(good):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(folder / f"good{i}.png")
    for i in range(bad):
        (folder / f"bad{i}.jpg").write_bytes(rng.bytes(300))  # random bytes named .jpg


# ----------------------------------------------------------------------------- item 1: no silent empty runs


def test_a_folder_whose_images_do_not_decode_is_refused_naming_them(tmp_path):
    from zoo import data
    from zoo.errors import DataUnavailableError

    _write_images(tmp_path / "broken", good=0, bad=12)
    with pytest.raises(DataUnavailableError, match=r"only 0 of the 12 image files .*'bad0.jpg', 'bad1.jpg', "
                                                   r"'bad10.jpg' and 9 more"):
        data.load("folder", data_dir=tmp_path / "broken", batch_size=4, image_size=8)

    _write_images(tmp_path / "mixed", good=3, bad=5)
    with pytest.raises(DataUnavailableError, match="only 3 of the 8 .* fewer than batch_size=4"):
        data.load("folder", data_dir=tmp_path / "mixed", batch_size=4, image_size=8)
    batch = next(iter(data.load("folder", data_dir=tmp_path / "mixed", batch_size=2, image_size=8)))
    assert batch.shape == (2, 8, 8, 3)


def test_undecodable_folder_fails_before_writing(tiny, tmp_path, capsys):
    _write_images(tmp_path / "broken", good=0, bad=20)
    out = tmp_path / "run"
    code = main(["train", tiny, "--out", str(out), "--set", "data.name=folder", "--set",
                 f"data.data_dir={tmp_path / 'broken'}", "--set", "data.options.grayscale=true", *QUIET])
    assert code == 2
    assert "only 0 of the 20 image files" in capsys.readouterr().err
    assert not out.exists()


def test_epochs_that_ran_no_step_fail_the_run_and_save_no_model(tiny, tmp_path, capsys, monkeypatch):
    from zoo import data
    from zoo._tf import tf

    def no_batches(name, *, batch_size, **kwargs):  # a source that passes every check and yields nothing
        return tf.data.Dataset.from_tensors(tf.zeros([batch_size, 16, 16, 1])).take(0)

    monkeypatch.setattr(data, "load", no_batches)
    out = tmp_path / "run"
    assert main(["train", tiny, "--out", str(out), *QUIET]) == 2
    assert "epoch 1 ran no training step" in capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    assert not (out / "model.keras").exists() and not (out / "checkpoint" / "state.json").exists()


# ----------------------------------------------------------------------------- item 5: eval settings first


@pytest.mark.parametrize("setting, key", [("eval.metrics=[\"modes\"]", "eval.metrics"),
                                          ("eval.samples=50", "eval.samples")])
def test_bad_eval_settings_fail_before_training(tiny, tmp_path, capsys, setting, key):
    out = tmp_path / "run"
    assert main(["train", tiny, "--out", str(out), "--quiet", "--set", setting]) == 2
    error = capsys.readouterr().err
    assert key in error and "--samples" not in error and "would fail after training" in error
    assert not out.exists()


# ----------------------------------------------------------------------------- item 8: resume only upward


def test_resume_cannot_shrink_the_run(finished, tmp_path, capsys):
    recipe, run = _copy(finished, tmp_path)
    before = _snapshot(run)
    # the finished run has 1 epoch; ask for it with 2, then "resume" back down to 1 from a 2-epoch record
    record = json.loads((run / "config.json").read_text())
    record["train"]["epochs"] = 2
    (run / "config.json").write_text(json.dumps(record))
    assert main(["train", recipe, "--out", str(run), "--resume", *QUIET]) == 2
    assert "--resume can only raise train.epochs" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2
    assert {k: v for k, v in _snapshot(run).items() if k.name != "config.json"} == \
        {k: v for k, v in before.items() if k.name != "config.json"}


# ----------------------------------------------------------------------------- item 6: damaged records


@pytest.mark.parametrize("damage, message", [
    ("checkpoint/state.json", "state.json is damaged"),
    ("checkpoint/epoch_0001.weights.h5", "is damaged: its SHA-256 differs"),
    ("run.json", "run.json is damaged"),
    ("config.json", "config.json is damaged"),
])
def test_damaged_run_files_are_refused_on_resume_and_kept(finished, tmp_path, capsys, damage, message):
    recipe, run = _copy(finished, tmp_path)
    path = run / damage
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = _snapshot(run)
    assert main(["train", recipe, "--out", str(run), "--resume", "--set", "train.epochs=2", *QUIET]) == 2
    error = capsys.readouterr().err
    assert message in error and "--overwrite" in error and "Traceback" not in error
    assert _snapshot(run) == before


def test_recipe_that_is_not_utf8_and_out_of_range_seed_are_config_errors(tiny, tmp_path, capsys):
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(json.dumps({"extends": "ring_gdpp", "description": "caf\u00e9"}).encode().replace(
        b"\\u00e9", b"\xe9"))
    assert main(["train", str(latin1)]) == 2
    assert "is not UTF-8" in capsys.readouterr().err
    assert main(["train", tiny, "--out", str(tmp_path / "seed"), "--set", f"seed={2**32}"]) == 2
    assert "seed must be <= 4294967295" in capsys.readouterr().err
    assert not (tmp_path / "seed").exists()


# ----------------------------------------------------------------------------- item 7: one writer per run


def test_run_lock_refuses_a_second_owner_and_takes_over_a_dead_one(tmp_path, capsys):
    from training.rundir import LOCK_FILE, RunLock, RunLockedError

    first, second = RunLock(tmp_path), RunLock(tmp_path)
    first.acquire()
    owner = json.loads((tmp_path / LOCK_FILE).read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
    with pytest.raises(RunLockedError, match=f"pid {os.getpid()} on {socket.gethostname()}"):
        second.acquire()
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "x"}))
    second.acquire()  # the flock is free and the pid is gone: a killed run's lock
    assert f"left by pid {dead.pid}" in capsys.readouterr().err
    second.release()

    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "another-host", "started": "x"}))
    with pytest.raises(RunLockedError, match="another-host.*delete"):
        RunLock(tmp_path).acquire()


def test_two_trainings_into_one_directory(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    slow = ["--set", "train.steps_per_epoch=400", *QUIET]
    first = subprocess.Popen([sys.executable, "-m", "zoo", "train", tiny, "--out", str(out), *slow], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lock = out / ".lock"
    deadline = time.monotonic() + 120
    while not (out / "run.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-3000:]
    try:
        assert main(["train", tiny, "--out", str(out), *slow]) == 2
        assert f"in use by another zoo train (pid {first.pid}" in capsys.readouterr().err
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert lock.exists()  # a killed run leaves its lock; the next run takes it over
    assert main(["train", tiny, "--out", str(out), "--set", "train.steps_per_epoch=2", "--overwrite", *QUIET]) == 0
    assert f"left by pid {first.pid}" in capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["status"] == "completed" and not lock.exists()


# ----------------------------------------------------------------------------- issue 34 item 10: sizes that cannot fit


def test_a_latent_dim_that_cannot_fit_is_refused_up_front(tiny, tmp_path, capsys, monkeypatch):
    from zoo import _resources

    monkeypatch.setattr(_resources, "memory_limit", lambda: 24 * 2**30)  # the machine, whatever runs this
    out = tmp_path / "run"
    assert main(["train", tiny, "--out", str(out), "--set", "model.latent_dim=1000000000", *QUIET]) == 2
    error = capsys.readouterr().err
    assert "latent_dim=1000000000: the generator's first layer" in error and "use a smaller latent_dim" in error
    assert len(error.strip().splitlines()) == 1 and not out.exists()

    # Training keeps four copies of every weight (weight, gradient, two Adam moments): a model whose
    # weights fit but whose training state does not is refused before the optimizers are built.
    monkeypatch.setattr(_resources, "memory_limit", lambda: 200_000)  # bytes: the tiny model's weights fit
    assert main(["train", tiny, "--out", str(out), *QUIET]) == 2
    error = capsys.readouterr().err
    assert "training this model (" in error and "each kept 4 times" in error and "of memory this machine has" in error
    assert not out.exists()

    # Whatever the estimates let through and still runs out of memory while building is one line too.
    from zoo import models
    from zoo._tf import tf

    def exhausted(config):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[9,9]\nmore")

    monkeypatch.setattr(models, "build_model", exhausted)
    assert main(["train", tiny, "--out", str(out), *QUIET]) == 2
    error = capsys.readouterr().err
    assert "building the model ran out of memory (ResourceExhaustedError: OOM when allocating" in error
    assert "more" not in error and not out.exists()


# ----------------------------------------------------------------------------- issue 34 item 1: overwrite


def test_overwrite_refuses_a_directory_that_is_not_a_zoo_run(tmp_path, capsys):
    # The repro: run.json and config.json of another tool, and the user's code beside them.
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "run.json").write_text('{"job":1}\n')
    (p / "config.json").write_text("{}\n")
    (p / "src" / "main.py").write_text("code\n")
    before = _snapshot(p)
    for mode in (["--overwrite"], [], ["--resume"]):
        code = main(["train", "ring_gdpp", *mode, "--out", str(p), "--set", "train.epochs=1",
                     "--set", "train.steps_per_epoch=2", "--set", "eval.enabled=false", "--quiet"])
        assert code == 2
        error = capsys.readouterr().err
        assert "holds run.json and config.json, but not a zoo run's" in error and "another --out" in error
        assert len(error.strip().splitlines()) == 1
        assert _snapshot(p) == before


def test_overwrite_removes_only_what_the_run_wrote(finished, tmp_path):
    recipe, run = _copy(finished, tmp_path)
    mine = {"NOTES.md": b"notes", "src/main.py": b"code", "figs/loss.png": b"png", "samples/best.png": b"pick",
            "checkpoint/README": b"keep", "tensorboard/notes.txt": b"tb"}
    for name, content in mine.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_bytes(content)
    (run / ".config.json.abc.tmp").write_text("left by a killed write")
    started = json.loads((run / "run.json").read_text())["started"]
    old_events = sorted((run / "tensorboard").glob("events.out.tfevents.*"))
    time.sleep(1.1)  # run.json's start time has one-second resolution
    assert main(["train", recipe, "--out", str(run), "--overwrite", *QUIET]) == 0
    for name, content in mine.items():
        assert (run / name).read_bytes() == content, name
    assert not (run / ".config.json.abc.tmp").exists()
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and record["started"] != started and record["resumes"] == []
    assert not set(old_events) & set((run / "tensorboard").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["best.png", "epoch_0001.png", "interpolation_0001.png"]


# ----------------------------------------------------------------------------- issue 34 item 4: checksums


def _model_weights(path):
    from zoo.models import load_file

    return [np.asarray(w) for w in load_file(path).weights]


def test_a_damaged_checkpoint_is_refused_naming_the_last_good_one(tiny, tmp_path, capsys):
    # The case: a few bytes flipped in checkpoint/epoch_N.weights.h5 resumed with exit 0.
    run = tmp_path / "run"
    two = ["--set", "train.epochs=2", *QUIET]
    assert main(["train", tiny, "--out", str(run), *two]) == 0
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2 and len(state["sha256"]) == 64
    assert state["previous"]["weights"] == "epoch_0001.weights.h5" and len(state["previous"]["sha256"]) == 64
    assert sorted(p.name for p in (run / "checkpoint").glob("epoch_*")) == ["epoch_0001.weights.h5",
                                                                             "epoch_0002.weights.h5"]
    shutil.copy(run / "model.keras", tmp_path / "uninterrupted.keras")
    damaged = run / "checkpoint" / "epoch_0002.weights.h5"
    data = bytearray(damaged.read_bytes())
    for offset in (len(data) // 2, len(data) // 2 + 7, len(data) - 100):
        data[offset] ^= 0xFF
    damaged.write_bytes(bytes(data))
    before = _snapshot(run)
    assert main(["train", tiny, "--out", str(run), "--resume", *two]) == 2
    error = capsys.readouterr().err
    assert f"the checkpoint {damaged} is damaged: its SHA-256 differs from the one recorded" in error
    assert f"The last good checkpoint is epoch_0001.weights.h5 (epoch 1): delete {damaged} and rerun" in error
    assert len(error.strip().splitlines()) == 1 and _snapshot(run) == before

    # Following the advice resumes from epoch 1 and retrains epoch 2 exactly as before.
    damaged.unlink()
    assert main(["train", tiny, "--out", str(run), "--resume", *two]) == 0
    captured = capsys.readouterr()
    assert "resumed after epoch 1" in captured.out
    assert "is missing; resuming from the checkpoint before it, epoch_0001.weights.h5 (epoch 1" in captured.err
    for resumed, original in zip(_model_weights(run / "model.keras"), _model_weights(tmp_path / "uninterrupted.keras")):
        np.testing.assert_array_equal(resumed, original)
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2 and [row["epoch"] for row in state["history"]] == [1, 2]


def test_checkpoints_written_before_checksums_still_resume(finished, tmp_path, capsys):
    recipe, run = _copy(finished, tmp_path)
    state_path = run / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    state_path.write_text(json.dumps({k: v for k, v in state.items() if k not in ("sha256", "previous")}))
    assert main(["train", recipe, "--out", str(run), "--resume", "--set", "train.epochs=2", *QUIET]) == 0
    assert "resumed after epoch 1" in capsys.readouterr().out


# ----------------------------------------------------------------------------- issue 34 item 9: a full disk


def _full_disk_from(monkeypatch, name):
    """Every atomic write fails with ENOSPC from the first one to ``name`` on, as on a disk that filled up."""
    import errno

    from training import rundir

    write = rundir.atomic_write
    full = []

    def atomic_write(path, text):
        if path.name == name or full:
            full.append(path.name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write(path, text)

    monkeypatch.setattr(rundir, "atomic_write", atomic_write)
    return full


def test_a_full_disk_stops_training_in_one_line_and_keeps_the_last_checkpoint(tiny, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    failed = _full_disk_from(monkeypatch, "epoch_0002.weights.h5")
    assert main(["train", tiny, "--out", str(run), "--set", "train.epochs=3", *QUIET]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"zoo train: error: the disk holding {run / 'checkpoint'} is full ([Errno 28] No space ")
    assert f"the checkpoint of epoch 2 was not written; training stopped and the checkpoint of epoch 1 in " in error
    assert "rerun the same command to continue" in error and len(error.strip().splitlines()) == 1
    assert failed[:2] == ["epoch_0002.weights.h5", "run.json"]  # run.json could not be replaced either...
    record = json.loads((run / "run.json").read_text())  # ...so it was rewritten in place
    assert record["status"] == "failed" and record["message"].startswith("DiskFullError: the disk holding")
    assert json.loads((run / "checkpoint" / "state.json").read_text())["epoch"] == 1
    assert sorted(p.name for p in (run / "checkpoint").iterdir()) == ["epoch_0001.weights.h5", "state.json"]
    assert not (run / ".lock").exists() and not list(run.rglob("*.tmp"))

    # With space again, the same command continues from epoch 1.
    monkeypatch.undo()
    assert main(["train", tiny, "--out", str(run), "--set", "train.epochs=3", *QUIET]) == 0
    assert "resumed after epoch 1" in capsys.readouterr().out


def test_a_disk_without_room_for_the_next_checkpoint_stops_before_writing_it(tiny, tmp_path, capsys, monkeypatch):
    import collections

    from zoo import _resources

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(_resources.shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 1000, 1000))
    run = tmp_path / "run"
    assert main(["train", tiny, "--out", str(run), *QUIET]) == 2
    error = capsys.readouterr().err
    assert "is full (1000 B free, the checkpoint of epoch 1 needs about" in error
    assert "training stopped before any epoch was checkpointed" in error
    assert json.loads((run / "run.json").read_text())["status"] == "failed"
    assert not (run / "checkpoint").exists() or not list((run / "checkpoint").iterdir())


def test_a_full_disk_while_saving_the_model_keeps_the_checkpoints(finished, tmp_path, capsys, monkeypatch):
    import errno

    import keras

    recipe, run = _copy(finished, tmp_path)
    (run / "model.keras").unlink()

    def save(self, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", save)
    assert main(["train", recipe, "--out", str(run), "--resume", *QUIET]) == 2
    error = capsys.readouterr().err
    assert f"the disk holding {run} is full ([Errno 28] No space left on device): training stopped and the " \
           "checkpoint of epoch 1" in error
    assert not (run / "model.keras").exists() and not (run / ".model.tmp.keras").exists()
    assert json.loads((run / "run.json").read_text())["status"] == "failed"


# ----------------------------------------------------------------------------- issue 34 item 11: SIGTERM


@pytest.mark.parametrize("signum, status, message", [(signal.SIGTERM, 143, "terminated by SIGTERM"),
                                                    (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_sigint_record_an_interrupted_run_and_release_the_lock(tiny, tmp_path, signum, status, message):
    out = tmp_path / "run"
    # Many epochs: the signal must land while it trains, however briefly the first checkpoint is seen.
    slow = ["--set", "train.epochs=500", "--set", "train.steps_per_epoch=20", *QUIET]
    # As from a terminal: a test run started in the background (`... &`) inherits an ignored SIGINT.
    process = subprocess.Popen([sys.executable, "-m", "zoo", "train", tiny, "--out", str(out), *slow], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + 600  # a loaded machine takes minutes to import TensorFlow and train an epoch
    while not state.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not state.exists() or process.poll() is not None:
        process.kill()
        raise AssertionError(f"the run did not reach its first checkpoint in time: {process.communicate()[1][-3000:]}")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == status, stderr[-3000:]
    assert stderr.strip().splitlines()[-1].startswith(f"zoo train: {message}")
    assert "Traceback" not in stderr
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted", record
    assert not (out / ".lock").exists()
    if signum == signal.SIGTERM:  # the same command continues the run
        result = subprocess.run([sys.executable, "-m", "zoo", "train", tiny, "--out", str(out), *slow], cwd=ROOT,
                                capture_output=True, text=True)
        assert result.returncode == 0 and "resumed after epoch" in result.stdout, result.stderr[-3000:]
