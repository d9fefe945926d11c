"""Damaged files and unsafe targets: one-line ZooErrors saying what to do, exit 2, nothing lost."""

import pathlib
import zipfile

import pytest

from zoo import cli, models, presets
from zoo.errors import ConfigError, CorruptFileError


def _tiny_gan():
    return models.build_model({"model": "synthetic_gan", "latent_dim": 8, "hidden": 16, "prior": "nonparametric"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A digits-shaped DCGAN preset directory and its intact model bytes."""
    directory = tmp_path_factory.mktemp("preset") / "good"
    generator = models.dcgan_generator(image_size=28, channels=1, latent_dim=3, width=4)
    discriminator = models.dcgan_discriminator(image_size=28, channels=1, width=4)
    presets.save_to_preset(models.DCGAN(generator, discriminator), directory, {"description": "tiny"})
    return directory


def _damaged(saved, tmp_path, how):
    directory = tmp_path / how
    directory.mkdir()
    data = bytearray((saved / "model.keras").read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # flip bytes inside the weights entry: the zip reads, its CRC check fails
        with zipfile.ZipFile(saved / "model.keras") as archive:
            weights = next(i for i in archive.infolist() if i.filename.endswith(".h5"))
        middle = weights.header_offset + 100 + weights.compress_size // 2
        data[middle:middle + 32] = bytes(b ^ 0xFF for b in data[middle:middle + 32])
    (directory / "model.keras").write_bytes(bytes(data))
    return directory


@pytest.mark.parametrize("how", ["truncated", "crc"])
def test_damaged_model_file_is_a_corrupt_file_error_everywhere(saved, tmp_path, capsys, how):
    directory = _damaged(saved, tmp_path, how)
    with pytest.raises(CorruptFileError, match="could not be loaded as a zoo model: it is truncated, damaged"):
        presets.load(directory)
    with pytest.raises(CorruptFileError, match="model.keras"):
        models.load_file(directory / "model.keras")
    for command in (["evaluate", str(directory), "--samples", "200", "--quiet"],
                    ["export", str(directory), "--base", str(tmp_path / "exports")]):
        assert cli.main(command) == 2
        error = capsys.readouterr().err
        assert "could not be loaded as a zoo model" in error and "File not found" not in error, command
    assert not (tmp_path / "exports").exists()


def test_bad_card_is_a_corrupt_file_error(saved, tmp_path, capsys):
    directory = tmp_path / "card"
    directory.mkdir()
    (directory / "model.keras").write_bytes((saved / "model.keras").read_bytes())
    (directory / "card.json").write_text('{"description": "cut')
    with pytest.raises(CorruptFileError, match="card.json is not valid JSON.*delete it"):
        presets.card(directory)
    assert cli.main(["evaluate", str(directory), "--samples", "200", "--quiet"]) == 2
    assert "card.json is damaged" in capsys.readouterr().err


def test_unwritable_json_is_refused_first_and_metrics_survive_a_late_failure(saved, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a_file"  # a path under a regular file cannot be written, not even by root
    blocker.write_text("")
    target = blocker / "m.json"
    command = ["evaluate", str(saved), "--samples", "200", "--quiet", "--no-midpoint", "--json", str(target)]
    assert cli.main(command) == 2
    assert "cannot write --json" in capsys.readouterr().err
    # the target becomes unwritable while the metrics are computed: they are printed anyway
    from zoo.metrics import command as evaluate_command

    monkeypatch.setattr(evaluate_command, "_check_writable", lambda path: None)
    assert cli.main(command) == 2
    captured = capsys.readouterr()
    assert "digits-FID" in captured.out and "The metrics are printed above" in captured.err
    assert blocker.read_text() == ""


def test_evaluate_seed_out_of_range(capsys):
    assert cli.main(["evaluate", "ring_gan", "--seed", str(2**32)]) == 2
    assert "--seed must be between 0 and 4294967295" in capsys.readouterr().err


# ----------------------------------------------------------------------------- save_to_preset overwrite


def test_overwrite_replaces_only_a_preset_directory(tmp_path):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    with pytest.raises(ConfigError, match="not a preset directory.*chapter1.tex.*Nothing was changed"):
        presets.save_to_preset(_tiny_gan(), thesis, overwrite=True)
    assert (thesis / "chapter1.tex").read_text() == "years of work"
    # a run directory holds model.keras too, and more: also not ours to delete
    (thesis / "model.keras").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a preset directory"):
        presets.save_to_preset(_tiny_gan(), thesis, overwrite=True)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    with pytest.raises(ConfigError, match="not a directory"):
        presets.save_to_preset(_tiny_gan(), a_file, overwrite=True)
    assert a_file.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "thesis"]  # no staging left

    empty = tmp_path / "empty"
    empty.mkdir()
    presets.save_to_preset(_tiny_gan(), empty, overwrite=True)
    assert (empty / "model.keras").is_file()


def test_overwrite_swaps_a_whole_preset_for_another(tmp_path, monkeypatch):
    first, second = _tiny_gan(), _tiny_gan()
    directory = presets.save_to_preset(first, tmp_path / "p", {"description": "first"})
    inode = directory.stat().st_ino
    presets.save_to_preset(second, directory, {"description": "second"}, overwrite=True)
    assert presets.card(directory) == {"description": "second"} and directory.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]

    # a failure between writing and swapping leaves the old preset whole
    def fail(staging, target):
        raise OSError("disk unplugged")

    monkeypatch.setattr(presets, "_replace_directory", fail)
    with pytest.raises(OSError, match="disk unplugged"):
        presets.save_to_preset(first, directory, {"description": "third"}, overwrite=True)
    assert presets.card(directory) == {"description": "second"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_replacement_without_an_atomic_exchange_still_leaves_one_preset(tmp_path, monkeypatch):
    monkeypatch.setattr(presets, "_exchange", lambda a, b: False)  # e.g. macOS, or a filesystem without it
    directory = presets.save_to_preset(_tiny_gan(), tmp_path / "p", {"description": "first"})
    presets.save_to_preset(_tiny_gan(), directory, {"description": "second"}, overwrite=True)
    assert presets.card(directory) == {"description": "second"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
    assert pathlib.Path(directory, "model.keras").is_file()
