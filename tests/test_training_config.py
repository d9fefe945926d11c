"""Recipes and run directories: resolution, validation, and the refusal rules (no TensorFlow needed)."""

import json

import pytest

from training import config as config_lib
from training import rundir as rundir_lib
from zoo.errors import ConfigError

PAPER_EXPERIMENTS = (
    ["ring_gan", "ring_gdpp", "grid_gan", "grid_gdpp", "digits_vae", "digits_gdpp_vae",
     "stacked_digits_gan", "stacked_digits_gdpp", "stacked_mnist_gan", "stacked_mnist_gdpp",
     "mnist_gdpp_dcgan", "cifar10_gan", "cifar10_gdpp", "folder_dcgan_nonparametric"]
    + [f"digits_{gdpp}dcgan_{p}" for gdpp in ("", "gdpp_") for p in ("uniform", "normal", "gamma", "cauchy", "nonparametric")]
    + [f"celeb_a_dcgan_{p}" for p in ("uniform", "normal", "gamma", "cauchy", "nonparametric")]
)


def test_every_experiment_has_a_valid_recipe():
    names = config_lib.recipe_names()
    assert set(PAPER_EXPERIMENTS) <= set(names)
    assert config_lib.DEFAULT_RECIPE in names
    for name in names:
        config = config_lib.resolve(name)
        assert config["recipe"] == name
        assert config["description"], name
        assert config["paper"], f"{name} does not say where its settings come from"
    assert not any(name.startswith("_") for name in names)


def test_recipes_differ_where_the_experiments_do():
    ring = config_lib.resolve("ring_gdpp")
    assert (ring["data"]["name"], ring["model"]["kind"], ring["model"]["diversity_weight"]) == ("ring", "synthetic_gan", 1.0)
    assert ring["data"]["batch_size"] == 512 and ring["train"]["epochs"] * ring["train"]["steps_per_epoch"] == 25_000
    assert config_lib.resolve("ring_gan")["model"]["diversity_weight"] == 0.0
    default = config_lib.resolve(config_lib.DEFAULT_RECIPE)
    assert default["model"]["prior"] == "nonparametric" and default["model"]["diversity_weight"] > 0
    assert default["model"]["options"] == {"width": 32, "generator_steps": 2}  # inherited from the shared base
    assert config_lib.resolve("celeb_a_dcgan_cauchy")["data"]["image_size"] == 64
    # WGAN-GP: Gulrajani et al.'s toy-data penalty on the 2-D mixtures, the model's 10 on images.
    for name in ("ring_wgan_gp", "ring_gdpp_wgan_gp", "grid_wgan_gp", "grid_gdpp_wgan_gp"):
        assert config_lib.resolve(name)["model"]["options"] == {"gradient_penalty_weight": 0.1}, name
    for name in ("mnist_wgan_gp", "stacked_mnist_5k_wgan_gp"):
        assert "gradient_penalty_weight" not in config_lib.resolve(name)["model"]["options"], name


def test_set_overrides_are_typed_and_merged():
    config = config_lib.resolve(
        "digits_dcgan_normal",
        ["train.epochs=3", "optimizer.learning_rate=1e-3", "model.prior=gamma", "train.ema=0.999",
         "model.options.label_smoothing=0.1", "data.image_size=null", "optimizer.beta_2=1"],
    )
    assert config["train"]["epochs"] == 3
    assert config["optimizer"]["learning_rate"] == 1e-3
    assert config["model"]["prior"] == "gamma"
    assert config["model"]["options"] == {"width": 32, "generator_steps": 2, "label_smoothing": 0.1}
    assert config["data"]["image_size"] is None
    assert isinstance(config["optimizer"]["beta_2"], float)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["train.epoch=3"], "Did you mean 'train.epochs'"),
        (["train.epochs=three"], "train.epochs must be int"),
        (["train.epochs=2.5"], "train.epochs must be int"),
        (["train.epochs=0"], "must be >= 1"),
        (["train.deterministic=1"], "must be bool"),
        (["model.prior=norml"], "Did you mean 'normal'"),
        (["optimizer.learning_rate=-1"], "must be > 0"),
        (["seed=null"], "must not be null"),
        (["train.epochs"], "expects key=value"),
        (["eval.metrics=[1, 2]"], "list of metric names"),
    ],
)
def test_bad_overrides_are_clear_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.resolve("digits_dcgan_uniform", overrides)


def test_unknown_recipe_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean 'ring_gdpp'"):
        config_lib.resolve("ring_gdp")
    with pytest.raises(ConfigError, match="does not exist"):
        config_lib.resolve("/nonexistent/recipe.json")


def test_user_recipe_file_extends_a_shipped_one(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"version": 1, "extends": "ring_gdpp", "description": "mine", "data": {"name": "grid"}}))
    config = config_lib.resolve(str(path))
    assert (config["recipe"], config["data"]["name"], config["model"]["diversity_weight"]) == ("mine", "grid", 1.0)
    child = tmp_path / "sub" / "child.json"
    child.parent.mkdir()
    child.write_text(json.dumps({"version": 1, "extends": "../mine.json", "seed": 4}))
    assert (config_lib.resolve(str(child))["data"]["name"], config_lib.resolve(str(child))["seed"]) == ("grid", 4)
    path.write_text(json.dumps({"version": 1, "extends": "ring_gdpp", "trian": {"epochs": 1}}))
    with pytest.raises(ConfigError, match="unknown config key 'trian.epochs'"):
        config_lib.resolve(str(path))
    path.write_text(json.dumps({"version": 99, "extends": "ring_gdpp"}))
    with pytest.raises(ConfigError, match="newer than this zoo"):
        config_lib.resolve(str(path))
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        config_lib.resolve(str(path))


def _start(run, config, mode):
    run.start(config, {"versions": {}}, mode=mode, command=["zoo", "train"])


def test_run_directory_refusals(tmp_path):
    config = config_lib.resolve("ring_gan")
    run = rundir_lib.RunDir(tmp_path / "run")
    assert run.prepare(config) == "fresh"
    with pytest.raises(ConfigError, match="no run to resume"):
        run.prepare(config, resume=True)
    _start(run, config, "fresh")
    # A killed run of the same config resumes with the same command.
    assert run.prepare(config) == "resume"
    other = config_lib.resolve("ring_gan", ["seed=1"])
    with pytest.raises(ConfigError, match=r"holds another run \(seed: 0 -> 1\)"):
        run.prepare(other)
    with pytest.raises(ConfigError, match=r"only train.epochs, samples.., eval.. and the recipe's prose \(description, paper\)"):
        run.prepare(other, resume=True)
    assert run.prepare(config_lib.resolve("ring_gan", ["eval.samples=100"]), resume=True) == "resume"
    reworded = {**config, "description": "reworded", "paper": "a corrected citation"}
    assert run.prepare(reworded, resume=True) == "resume"
    with pytest.raises(ConfigError, match=r"holds another run \(description"):
        run.prepare(reworded)
    assert run.prepare(other, overwrite=True) == "replace"
    run.finish("completed")
    with pytest.raises(ConfigError, match="completed run"):
        run.prepare(config)
    longer = config_lib.resolve("ring_gan", ["train.epochs=30"])
    assert run.prepare(longer, resume=True) == "resume"
    assert (tmp_path / "run" / "config.json").is_file()  # nothing was touched by the checks


def test_a_directory_that_is_not_a_run_is_never_touched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    run = rundir_lib.RunDir(tmp_path)
    for kwargs in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(ConfigError, match="holds no zoo run|no run to resume"):
            run.prepare(config_lib.resolve("ring_gan"), **kwargs)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_unwritable_or_file_output_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        rundir_lib.RunDir(target / "run").prepare(config_lib.resolve("ring_gan"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os

        if os.access(locked, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("permissions are not enforced for this user")
        with pytest.raises(ConfigError, match="cannot write"):
            rundir_lib.RunDir(locked / "run").prepare(config_lib.resolve("ring_gan"))
    finally:
        locked.chmod(0o700)


def test_history_is_written_as_csv_and_json(tmp_path):
    run = rundir_lib.RunDir(tmp_path)
    rows = [{"epoch": 1, "step": 10, "d_loss": 0.5, "g_loss": 1.5, "seconds": 1.0},
            {"epoch": 2, "step": 20, "d_loss": 0.25, "g_loss": 2.0, "seconds": 1.0}]
    run.write_history(rows)
    assert run.history() == rows
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,step,d_loss,g_loss,seconds" and lines[2] == "2,20,0.25,2.0,1.0"
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("{not json", "not a valid cluster description"),
        ('{"cluster": {"worker": ["a:1"]}}', "not a valid cluster description"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "0 <= index < 2"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "must be a worker"),
    ],
)
def test_multiworker_needs_a_valid_tf_config(monkeypatch, tf_config, message):
    from training import strategy

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ConfigError, match=message):
        strategy.setup("multiworker")


def test_unknown_strategy_is_refused():
    from training import strategy

    with pytest.raises(ConfigError, match="--strategy must be one of default, mirrored, multiworker"):
        strategy.setup("tpu")
