"""The model repository under hostile conditions: operator-edited and damaged models.config, racing
exports, killed exports' leftovers, symbolic links, file modes, bad arguments (no TensorFlow model)."""

import fcntl
import os
import threading
import time

import pytest
from google.protobuf import text_format

from exports import repository
from zoo.errors import ConfigError

EDITED = """# pinned by ops: do not serve 2 until QA signs off
model_config_list {
  config {
    name: "a"
    base_path: "/srv/a"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 } }
  }
}
"""


def _write_files(staging):
    (staging / "saved_model.pb").write_bytes(b"model")


def _entries(base):
    from tensorflow_serving.config import model_server_config_pb2 as pb2
    config = text_format.Parse((base / repository.MODELS_CONFIG).read_text(), pb2.ModelServerConfig())
    return {c.name: c for c in config.model_config_list.config}


def test_models_config_is_merged_keeping_operator_edits(tmp_path):
    repository.publish(tmp_path, "a", _write_files)
    (tmp_path / repository.MODELS_CONFIG).write_text(EDITED)
    repository.publish(tmp_path, "a", _write_files)
    repository.publish(tmp_path, "b", _write_files)
    repository.write_models_config(tmp_path, "/models")
    text = (tmp_path / repository.MODELS_CONFIG).read_text()
    assert text.startswith(EDITED[: EDITED.index("  }\n}")])  # the operator's lines, comment included
    entries = _entries(tmp_path)
    assert list(entries) == ["a", "b"]
    assert list(entries["a"].model_version_policy.specific.versions) == [1] and entries["a"].base_path == "/srv/a"
    assert entries["b"].base_path == "/models/b" and entries["b"].model_version_policy.latest.num_versions == 1
    repository.write_models_config(tmp_path, "/models")  # nothing new: the file is left as it is
    assert (tmp_path / repository.MODELS_CONFIG).read_text() == text


def test_damaged_models_config_is_refused_and_kept(tmp_path):
    repository.publish(tmp_path, "a", _write_files)
    path = tmp_path / repository.MODELS_CONFIG
    path.write_text(EDITED[:-3])  # the closing brace lost
    with pytest.raises(ConfigError, match="models.config.*fix it or delete it"):
        repository.write_models_config(tmp_path)
    assert path.read_text() == EDITED[:-3]


def test_entries_are_found_in_every_syntax():
    text = 'model_config_list: < config: < name: "x" base_path: \'/m/x\' > config { name: "y" }; >'
    merged = repository.merge_models_config(text, ["x", "y", "z"], "/m")
    assert merged.count('name: "z"') == 1 and merged.count("name:") == 3 and merged.rstrip().endswith(">")
    with pytest.raises(ConfigError, match="custom_model_config"):
        repository.merge_models_config('custom_model_config { type_url: "t" }', ["z"], "/m")


def test_models_config_read_modify_write_is_locked(tmp_path):
    repository.publish(tmp_path, "a", _write_files)
    done = threading.Event()
    with open(tmp_path / repository._CONFIG_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        writer = threading.Thread(target=lambda: (repository.write_models_config(tmp_path), done.set()))
        writer.start()
        time.sleep(0.5)
        assert not done.is_set() and not (tmp_path / repository.MODELS_CONFIG).exists()
        fcntl.flock(handle, fcntl.LOCK_UN)
    writer.join(10)
    assert done.is_set() and "a" in _entries(tmp_path)


def test_racing_exports_of_two_models_keep_both(tmp_path):
    def export(name):
        for _ in range(15):
            repository.publish(tmp_path, name, _write_files)
            repository.write_models_config(tmp_path)

    threads = [threading.Thread(target=export, args=(name,)) for name in ("a", "b", "a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(_entries(tmp_path)) == ["a", "b"]
    assert repository.versions(tmp_path / "a") == list(range(1, 31))


def test_repository_files_are_readable_by_a_server_of_another_uid(tmp_path):
    old = os.umask(0o022)
    try:
        repository.publish(tmp_path, "a", _write_files)
        config = repository.write_models_config(tmp_path)
        batching = repository.write_batching_parameters(tmp_path)
    finally:
        os.umask(old)
    assert config.stat().st_mode & 0o777 == 0o644 and batching.stat().st_mode & 0o777 == 0o644
    config.chmod(0o640)  # an operator's choice is kept
    repository.publish(tmp_path, "b", _write_files)
    repository.write_models_config(tmp_path)
    assert config.stat().st_mode & 0o777 == 0o640


def test_killed_exports_staging_directories_are_cleaned_up(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    old_dead, old_alive, fresh = (model / f".staging-{c * 32}" for c in "abc")
    foreign = model / ".staging-mine"
    for directory in (old_dead, old_alive, fresh, foreign):
        directory.mkdir()
        (directory / "saved_model.pb").write_bytes(b"half")
    hour_ago = time.time() - 3600
    for directory in (old_dead, old_alive, foreign):
        os.utime(directory, (hour_ago, hour_ago))
    alive = os.open(old_alive, os.O_RDONLY)  # an exporter still writing
    fcntl.flock(alive, fcntl.LOCK_EX)
    try:
        repository.publish(tmp_path, "m", _write_files)
    finally:
        os.close(alive)
    assert sorted(p.name for p in model.iterdir()) == sorted(
        [".export.lock", "1", old_alive.name, fresh.name, foreign.name])


def test_symlinked_model_directory_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "m").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        repository.publish(tmp_path / "base", "m", _write_files)
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_bad_serving_root_is_refused_before_anything_is_written(tmp_path, capsys):
    from zoo import cli, models

    run = tmp_path / "run"
    run.mkdir()
    generator = models.dcgan_generator(image_size=8, channels=1, latent_dim=3, width=4)
    discriminator = models.dcgan_discriminator(image_size=8, channels=1, width=4)
    models.DCGAN(generator, discriminator).save(run / "model.keras")
    base = tmp_path / "exports"
    assert cli.main(["export", str(run), "--base", str(base), "--serving-root", "models"]) == 2
    assert "absolute path" in capsys.readouterr().err
    assert not base.exists()
