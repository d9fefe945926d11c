"""`zoo export`: run directories and .keras files in, TF Serving versions out; clear refusals."""

import json
import pathlib

import pytest

from zoo import cli, models
from exports.cli import default_name


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    generator = models.dcgan_generator(image_size=8, channels=1, latent_dim=3, width=4)
    discriminator = models.dcgan_discriminator(image_size=8, channels=1, width=4)
    models.DCGAN(generator, discriminator, prior="nonparametric").save(run / "model.keras")
    return run


def test_export_run_directory_then_next_version(run_dir, tmp_path, capsys):
    base = tmp_path / "exports"
    assert cli.main(["export", str(run_dir), "--name", "digits", "--base", str(base)]) == 0
    assert capsys.readouterr().out.strip() == str(base / "digits" / "1")
    assert cli.main(["export", str(run_dir / "model.keras"), "--name", "digits", "--base", str(base),
                     "--interpolation-steps", "4", "--interpolation", "matched", "--max-batch-size", "32"]) == 0
    info = json.loads((base / "digits" / "2" / "assets.extra" / "zoo_export.json").read_text())
    assert info["prior"] == "nonparametric" and info["interpolation_steps"] == 4
    assert info["interpolation"] == "matched"
    first = json.loads((base / "digits" / "1" / "assets.extra" / "zoo_export.json").read_text())
    assert first["interpolation"] == "linear"
    assert (base / "batching_parameters.txt").read_text().startswith("max_batch_size { value: 32 }")
    assert 'name: "digits"' in (base / "models.config").read_text()


def test_existing_version_is_refused_and_kept(run_dir, tmp_path, capsys):
    base = tmp_path / "exports"
    assert cli.main(["export", str(run_dir), "--name", "g", "--base", str(base), "--version", "3"]) == 0
    before = (base / "g" / "3" / "saved_model.pb").read_bytes()
    capsys.readouterr()
    assert cli.main(["export", str(run_dir), "--name", "g", "--base", str(base), "--version", "3"]) == 2
    assert "never overwritten" in capsys.readouterr().err
    assert (base / "g" / "3" / "saved_model.pb").read_bytes() == before


@pytest.mark.parametrize(
    "source, extra, message",
    [
        ("no-such-preset", [], "Unknown preset"),
        ("{tmp}", [], "holds no model.keras"),
        ("{run}", ["--name", "bad/name"], "model name"),
        ("{run}", ["--warmup-batch-sizes", "1,x"], "comma-separated integers"),
        ("{run}", ["--interpolation-steps", "1"], "interpolation steps"),
        # Issue 34 item 8: 10**6 steps was accepted, 10**12 died with a MemoryError traceback.
        ("{run}", ["--interpolation-steps", "1000000"], "integer from 2 to 256 (both ends included), got 1000000"),
        ("{run}", ["--interpolation-steps", str(10**12)], "integer from 2 to 256"),
    ],
)
def test_refusals_are_one_line_errors(run_dir, tmp_path, capsys, source, extra, message):
    source = source.format(tmp=tmp_path, run=run_dir)
    args = ["export", source, "--base", str(tmp_path / "exports")]
    args += extra if "--name" in extra else ["--name", "m", *extra]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo export: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "exports").exists()


def test_name_defaults_to_the_run_directory(run_dir, tmp_path, capsys):
    assert cli.main(["export", str(run_dir), "--base", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / run_dir.name / "1")
    assert default_name(str(run_dir / "model.keras")) == run_dir.name
    assert default_name("models/celeb_a.keras") == "celeb_a"
    assert default_name("digits_nonparametric") == "digits_nonparametric"


def test_corrupt_model_file_is_refused(tmp_path, capsys):
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert cli.main(["export", str(tmp_path / "broken.keras"), "--base", str(tmp_path / "exports")]) == 2
    assert "could not be loaded as a zoo model" in capsys.readouterr().err
    assert not (tmp_path / "exports").exists()


def test_precision_float16_round_trip_and_refusal(run_dir, tmp_path, capsys):
    base = tmp_path / "exports"
    assert cli.main(["export", str(run_dir), "--name", "half", "--base", str(base), "--precision", "float16"]) == 0
    info = json.loads((base / "half" / "1" / "assets.extra" / "zoo_export.json").read_text())
    assert info["precision"] == "float16"
    assert info["float16_vs_float32"]["seeds"] == 1000
    assert info["float16_vs_float32"]["max_diff_uint8_levels"] <= info["float16_vs_float32"]["max_allowed_uint8_levels"]
    capsys.readouterr()
    # A model whose weights overflow float16: one clear line, nothing written.
    model = models.load_file(run_dir / "model.keras")
    dense = model.generator.layers[1]
    dense.kernel.assign(dense.kernel * 0.0 + 1e5)
    model.save(tmp_path / "overflow.keras")
    assert cli.main(["export", str(tmp_path / "overflow.keras"), "--base", str(tmp_path / "refused"),
                     "--precision", "float16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo export: error:") and "not finite" in err and "--precision float32" in err
    assert "Traceback" not in err
    assert not (tmp_path / "refused").exists()


def test_a_damaged_models_config_is_refused_before_a_version_is_published(run_dir, tmp_path, capsys):
    # Issue 34 item 7: the version was published first; following "fix it or delete it" made a duplicate.
    base = tmp_path / "exports"
    base.mkdir()
    (base / "models.config").write_text('model_config_list {\n  config {\n    name: "a"\n')  # cut short
    args = ["export", str(run_dir), "--name", "m", "--base", str(base)]
    assert cli.main(args) == 2
    error = capsys.readouterr().err
    assert "models.config" in error and "fix it or delete it; nothing was exported" in error
    assert len(error.strip().splitlines()) == 1 and not (base / "m").exists()
    (base / "models.config").unlink()
    assert cli.main(args) == 0
    from exports.repository import versions

    assert versions(base / "m") == [1]


def test_a_full_disk_during_export_is_one_line_and_publishes_nothing(run_dir, tmp_path, capsys, monkeypatch):
    # Issue 34 item 9: a 51-line traceback.
    import errno

    from exports import repository
    from zoo._tf import tf

    def no_space(obj, directory, *args, **kwargs):  # what SaveV2 raises when the variables do not fit
        (pathlib.Path(directory) / "variables").mkdir(parents=True)
        (pathlib.Path(directory) / "variables" / "part").write_bytes(b"half")
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{directory}/variables/variables_temp/part-00000; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.saved_model, "save", no_space)
    base = tmp_path / "exports"
    assert cli.main(["export", str(run_dir), "--name", "m", "--base", str(base)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"zoo export: error: the disk holding {base} is full (") and "No space left" in error
    assert "nothing was published" in error and len(error.strip().splitlines()) == 1
    assert [p.name for p in (base / "m").iterdir() if not p.name.startswith(".export")] == []
    assert not (base / "models.config").exists()

    monkeypatch.undo()

    def config_no_space(base, serving_root="/models"):
        raise OSError(errno.ENOSPC, "No space left on device", str(base))

    monkeypatch.setattr(repository, "write_models_config", config_no_space)
    assert cli.main(["export", str(run_dir), "--name", "m", "--base", str(base)]) == 2
    error = capsys.readouterr().err
    assert f"{base / 'm' / '1'} was published, but models.config and batching_parameters.txt may not list it" in error
    assert len(error.strip().splitlines()) == 1
