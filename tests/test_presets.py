"""Shipped presets: listing, offline loading, user round trips, the cards' numbers, CLI and export."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

import zoo
from zoo import presets
from zoo.cli import main as zoo_main
from zoo.errors import ConfigError, DataUnavailableError

SHIPPED = presets.presets()
DATA_DIR = pathlib.Path(presets.__file__).resolve().parent / "data"
IMAGE_PRESET = "digits_dcgan_nonparametric"
# Same weights, seed, sample count and batch size give the same computation; what may differ between
# machines is floating-point summation order (BLAS threads), which moves FID-like statistics by far
# less than 1e-3 relative. Mode counts are integers and must match exactly.
REL_TOLERANCE = 1e-3


def _tiny_gan():
    from zoo.models import build_model

    return build_model({"model": "synthetic_gan", "latent_dim": 8, "hidden": 16, "prior": "nonparametric"})


def test_every_spec_is_shipped_and_listed_with_a_description():
    from training.presets import PRESETS

    assert set(SHIPPED) == {entry.name for entry in PRESETS}
    for entry in PRESETS:  # each card was built by its spec as the table now reads
        card = presets.card(entry.name)
        assert (card["recipe"], card["overrides"], card["evaluation"], card["description"]) == (
            entry.recipe, list(entry.overrides), entry.evaluation, entry.description), entry.name
    assert zoo.presets() == SHIPPED  # the module is callable
    assert all(description and "\n" not in description for description in SHIPPED.values())


def test_presets_fit_the_size_budget():
    # The presets ship inside the wheel, and PyPI refuses files over 100 MB: 80 MB leaves room for the
    # code and a margin (a GAN preset with its critic is about 3 MB, a VAE about 5 MB).
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total < 80e6, f"shipped presets take {total / 1e6:.1f} MB, over the 80 MB budget"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_card_has_the_required_fields(name):
    card = presets.card(name)
    for key in ("recipe", "seed", "steps", "wall_time_s", "machine", "versions", "metrics", "evaluation", "paper"):
        assert key in card, key
    assert card["steps"] > 0 and card["wall_time_s"] > 0
    assert {"seed", "samples", "dataset"} <= set(card["evaluation"])
    assert all(math.isfinite(v) for v in card["metrics"].values())
    assert card["versions"]["tensorflow"] and card["versions"]["keras"]
    # The key metrics' spread over sample seeds; the card's own seed gives the card's own value.
    from training.presets import SPREAD_SEEDS, spec

    spread = card["spread"]
    assert spread["sample_seeds"] == list(SPREAD_SEEDS) and set(spread["metrics"]) == set(spec(name).spread)
    own = SPREAD_SEEDS.index(card["evaluation"]["seed"])
    for key, entry in spread["metrics"].items():
        assert entry["values"][own] == card["metrics"][key], key
        assert entry["mean"] == pytest.approx(np.mean(entry["values"]))
        assert entry["std"] == pytest.approx(np.std(entry["values"], ddof=1))


def test_image_cards_are_measured_on_10000_samples():
    image = [name for name in SHIPPED if presets.card(name)["evaluation"]["dataset"] in ("digits", "mnist_5k")]
    assert len(image) == 13
    assert all(presets.card(name)["evaluation"]["samples"] == 10_000 for name in image)


def test_load_returns_a_model_that_generates_deterministically():
    from zoo.models import DCGAN

    model = zoo.load(IMAGE_PRESET)
    assert isinstance(model, DCGAN) and model.prior.kind == "nonparametric"
    images = model.generate(4, (1, 2))
    assert images.shape == (4, 28, 28, 1)
    assert np.all(np.abs(images) <= 1.0)
    np.testing.assert_array_equal(images, model.generate(4, (1, 2)))


def test_load_checks_the_expected_model_class():
    from zoo.models import DCGAN, VAE

    assert isinstance(presets.load("digits_vae", expected_class=VAE), VAE)
    assert presets.load("ring_gan", expected_class=DCGAN).element_shape == (2,)
    with pytest.raises(ConfigError, match="holds a DCGAN, not a VAE"):
        presets.load(IMAGE_PRESET, expected_class=VAE)


def test_unknown_name_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean .*ring_gdpp_gan"):
        zoo.load("ring_gdp_gan")


def test_save_to_preset_round_trip_from_a_user_directory(tmp_path):
    model = _tiny_gan()  # compiled: the optimizers are dropped on save
    card = {"description": "my ring model", "seed": 3}
    directory = presets.save_to_preset(model, tmp_path / "mine", card)
    loaded = presets.load(directory)
    np.testing.assert_array_equal(loaded.generate(16, 5), model.generate(16, 5))
    assert presets.card(directory) == card
    assert not loaded.compiled
    with pytest.raises(ConfigError, match="already exists"):
        presets.save_to_preset(model, directory)
    presets.save_to_preset(loaded, directory, overwrite=True)  # no card: replaced, card gone
    assert presets.card(directory) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging directory left


def test_save_can_keep_the_optimizer_for_further_training(tmp_path):
    model = _tiny_gan()
    directory = presets.save_to_preset(model, tmp_path / "resume", include_optimizer=True)
    assert presets.load(directory, compile=True).compiled


def test_load_compiled_fine_tunes_a_preset_and_accepts_keras_files(tmp_path):
    from zoo.data import arrays

    model = zoo.load(IMAGE_PRESET, compile=True)  # shipped without optimizers: compiled with the defaults
    assert model.compiled
    history = model.fit(arrays("digits")[0][:64], batch_size=32, verbose=0).history
    assert all(np.isfinite(v[0]) for v in history.values())
    model.save(tmp_path / "tuned.keras")
    again = zoo.load(tmp_path / "tuned.keras", compile=True)  # a .keras file, its optimizer state restored
    assert int(again.d_optimizer.iterations) == 2
    np.testing.assert_array_equal(again.generate(2, 1), model.generate(2, 1))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a .keras file"):
        zoo.load(tmp_path / "notes.txt")


def test_bad_preset_directories_and_cards_are_refused(tmp_path):
    with pytest.raises(DataUnavailableError, match="no model.keras"):
        presets.load(tmp_path)
    with pytest.raises(ConfigError, match="takes a Keras model"):
        presets.save_to_preset("model.keras", tmp_path / "x")
    with pytest.raises(ConfigError, match="card must be a dict"):
        presets.save_to_preset(_tiny_gan(), tmp_path / "x", card=["not", "a", "dict"])
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_preset_loads_with_todays_model_classes(name):
    # Presets written before options were retired (DCGAN ``update``, ...) carry them at their
    # defaults; they must load as they are.
    assert type(presets.load(name)).__name__ == presets.card(name)["model"]


FINGERPRINTS = json.loads((pathlib.Path(__file__).parent / "data" / "preset_generate_fingerprints.json").read_text())


@pytest.mark.parametrize("name", sorted(FINGERPRINTS["presets"]))
def test_presets_generate_what_they_generated_before_the_model_contract(name):
    """``generate(16, seed=(0, 1))`` of shipped presets (GANs, a VAE, the GDPP-code reproduction), as
    recorded before issue 31 moved sampling into the model contract: per-image sums and sampled pixels
    (``stacked_mnist_gdpp_gan`` re-recorded once issue 36 re-estimated its batch-norm statistics)."""
    reference = FINGERPRINTS["presets"][name]
    images = presets.load(name).generate(FINGERPRINTS["n"], seed=tuple(FINGERPRINTS["seed"]))
    flat = images.reshape(len(images), -1).astype(np.float64)
    np.testing.assert_allclose(flat[:, reference["pixel_index"]], reference["pixels"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(flat.sum(axis=1), reference["sums"], rtol=1e-6, atol=1e-4)


# 10,000-sample image cards take 10-40 s each on 2 CPU cores, 26,000-sample Stacked-MNIST cards (both
# protocols) about a minute: the default suite re-measures one of each (and every card of the other
# families); `pytest -m slow` re-measures them all.
_QUICK_CARDS = {"digits": IMAGE_PRESET, "mnist_5k": IMAGE_PRESET, "stacked_mnist_5k": "stacked_mnist_wgan_gp"}
_SLOW_CARDS = {name for name in SHIPPED if name != _QUICK_CARDS.get(presets.card(name)["evaluation"]["dataset"], name)}


def _re_measure(name):
    from training.presets import flat_results, measure, spec

    card = presets.card(name)
    model = presets.load(name)
    measured = flat_results(measure(model, card["evaluation"])["results"])
    assert set(measured) == set(card["metrics"])
    for key, value in card["metrics"].items():
        assert measured[key] == pytest.approx(value, rel=REL_TOLERANCE, abs=1e-6), key
    # Stacked presets also carry the GDPP authors' evaluation protocol (batch statistics in calls of 64).
    entry = spec(name)
    assert ("metrics_authors_protocol" in card) == entry.authors_protocol
    if entry.authors_protocol:
        assert card["evaluation_authors_protocol"] == entry.authors_evaluation()
        authors = flat_results(measure(model, card["evaluation_authors_protocol"])["results"])
        assert set(authors) == set(card["metrics_authors_protocol"])
        for key, value in card["metrics_authors_protocol"].items():
            assert authors[key] == pytest.approx(value, rel=REL_TOLERANCE, abs=1e-6), key


def test_score_authors_protocol_refuses_non_stacked_presets_and_missing_cards(tmp_path):
    from training.presets import score_authors_protocol, spec

    assert spec("stacked_mnist_gdpp_gan").authors_evaluation() == {
        **spec("stacked_mnist_gdpp_gan").evaluation, "batch_norm": "batch", "batch_norm_batch_size": 64}
    with pytest.raises(ConfigError, match="not a stacked preset"):
        score_authors_protocol("ring_gan", DATA_DIR)
    with pytest.raises(ConfigError, match="no card.json"):
        score_authors_protocol("stacked_digits_gan", tmp_path)


@pytest.mark.parametrize("name", sorted(set(SHIPPED) - _SLOW_CARDS))
def test_card_metrics_are_re_measured_from_the_shipped_weights(name):
    _re_measure(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_SLOW_CARDS))
def test_large_card_metrics_are_re_measured_from_the_shipped_weights(name):
    _re_measure(name)


def test_measure_rewrites_only_the_measured_fields_of_a_card(tmp_path):
    import hashlib
    import shutil

    from training.presets import SPREAD_SEEDS, remeasure, spec

    name = "ring_gan"
    shutil.copytree(DATA_DIR / name, tmp_path / name)
    weights = (tmp_path / name / "model.keras").read_bytes()
    card = presets.card(tmp_path / name)
    card["metrics"] = {"modes": -1}
    del card["spread"]
    (tmp_path / name / "card.json").write_text(json.dumps(card))
    remeasure(spec(name), tmp_path)
    again = presets.card(tmp_path / name)
    assert again["metrics"] == presets.card(name)["metrics"] and again["spread"] == presets.card(name)["spread"]
    assert len(again["spread"]["metrics"]["modes"]["values"]) == len(SPREAD_SEEDS)
    assert again["steps"] == card["steps"] and "measured" in again
    assert hashlib.sha256((tmp_path / name / "model.keras").read_bytes()).digest() == hashlib.sha256(weights).digest()


def _generator_moving_means(model):
    import keras

    return [layer.moving_mean.numpy().copy() for layer in model.generator._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization)]


def test_recalibrate_re_estimates_prior_statistics_and_re_measures_the_card(tmp_path, monkeypatch):
    import dataclasses
    import shutil

    import keras

    from training import presets as builder
    from training.presets import flat_results, measure

    name = "stacked_digits_gan"  # trained on per-slot latents (training_noise)
    shutil.copytree(DATA_DIR / name, tmp_path / name)
    card = presets.card(tmp_path / name)
    card.pop("batch_norm_statistics", None)  # as written before the builder re-estimated them
    stale = presets.load(tmp_path / name)
    for layer in stale.generator._flatten_layers():  # statistics that are not the prior's
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(layer.moving_mean + 1.0)
    presets.save_to_preset(stale, tmp_path / name, card, overwrite=True)
    before = _generator_moving_means(stale)
    entry = builder.spec(name)
    small = dataclasses.replace(entry, evaluation={**entry.evaluation, "samples": 640})
    monkeypatch.setattr(builder, "spec", lambda _: small)

    card = builder.recalibrate(name, tmp_path)
    assert "re-estimated" in card["batch_norm_statistics"] and "recalibrate --only" in card["batch_norm_statistics"]
    model = presets.load(tmp_path / name)
    after = _generator_moving_means(model)
    assert before and all(not np.allclose(a, b) for a, b in zip(before, after))
    # The same batches and seed as the shipped preset's re-estimate: the same statistics.
    for mine, shipped in zip(after, _generator_moving_means(presets.load(name))):
        np.testing.assert_allclose(mine, shipped, rtol=1e-5, atol=1e-6)
    assert card["evaluation"]["samples"] == 640 and card["steps"] == presets.card(name)["steps"]
    for key, value in flat_results(measure(model, card["evaluation"])["results"]).items():
        assert value == pytest.approx(card["metrics"][key], rel=REL_TOLERANCE, abs=1e-6), key
    assert set(card["metrics_authors_protocol"]) == {"modes", "kl"}
    with pytest.raises(ConfigError, match="already records its batch-norm statistics"):
        builder.recalibrate(name, tmp_path)
    shutil.copytree(DATA_DIR / "ring_gan", tmp_path / "ring_gan")
    ring = presets.card(tmp_path / "ring_gan")
    ring.pop("batch_norm_statistics", None)
    (tmp_path / "ring_gan" / "card.json").write_text(json.dumps(ring))
    with pytest.raises(ConfigError, match="trained on its prior"):
        builder.recalibrate("ring_gan", tmp_path)
    with pytest.raises(ConfigError, match="no card.json"):
        builder.recalibrate("grid_gan", tmp_path)


def test_targets_are_checked_on_every_card():
    from training.presets import read_cards, targets

    checks = targets(read_cards(DATA_DIR))
    assert len(checks) == 8 and all(met is not None for _, met, _ in checks)


def test_cli_lists_and_shows_cards(capsys):
    assert zoo_main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in SHIPPED)
    assert zoo_main(["presets", "ring_gan"]) == 0
    assert json.loads(capsys.readouterr().out)["recipe"] == "ring_gan"
    assert zoo_main(["presets", "nope"]) == 2
    assert "Unknown preset" in capsys.readouterr().err


def test_export_a_preset_by_name(tmp_path, capsys):
    base = tmp_path / "repo"
    assert zoo_main(["export", "--preset", "digits_vae", "--base", str(base)]) == 0
    assert (base / "digits_vae" / "1" / "saved_model.pb").is_file()
    assert "digits_vae" in (base / "models.config").read_text()
    assert zoo_main(["export", "--preset", "ring_gan", "--base", str(base)]) == 2  # points do not export
    assert zoo_main(["export", "digits_vae", "--all-presets", "--base", str(base)]) == 2
    capsys.readouterr()


@pytest.mark.slow
def test_export_all_presets_into_one_repository(tmp_path, capsys):
    base = tmp_path / "repo"
    assert zoo_main(["export", "--all-presets", "--base", str(base)]) == 0
    images = {name for name in SHIPPED if len(presets.load(name).element_shape) == 3}
    config = (base / "models.config").read_text()
    assert images and all(f'name: "{name}"' in config for name in images)
    assert "skipped ring_gan" in capsys.readouterr().out


@pytest.mark.slow
def test_regenerating_a_preset_from_its_recipe_lands_near_its_card(tmp_path):
    from training.presets import build, spec

    name = "ring_gdpp_gan"
    rebuilt = presets.card(build(spec(name), tmp_path / "presets", tmp_path / "runs"))
    shipped = presets.card(name)
    # Deterministic ops reproduce a run bit for bit on one machine, not across machines: with the
    # same library versions another CPU's kernels round differently and 25,000 adversarial steps
    # amplify that into another draw of the seed's outcome (rebuilt on two machines: 75.36 % and 85.84 %; seeds 0-2: 71.1-81.4 %).
    # So the rebuild must meet the card's own target and land within that spread of it.
    assert rebuilt["metrics"]["modes"] == shipped["metrics"]["modes"] == 8
    assert rebuilt["metrics"]["high_quality_pct"] >= shipped["paper"]["high_quality_pct"]["value"]
    assert abs(rebuilt["metrics"]["high_quality_pct"] - shipped["metrics"]["high_quality_pct"]) <= 15.0


# ----------------------------------------------------------------------------- the README's zoo table


def test_the_readme_zoo_table_is_the_cards():
    from training.presets import PRESETS, markdown_table, read_cards

    cards = read_cards(DATA_DIR)
    table = markdown_table({entry.name: cards[entry.name] for entry in PRESETS})
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert table in readme, "README's zoo table differs from `python -m training.presets table`: paste its output"
    assert f"\n{len(PRESETS)} presets trained by the zoo's own recipes" in readme, "README's preset count is stale"


def _card(dataset, spread, metrics=None):
    return {"evaluation": {"dataset": dataset}, "paper": {},
            "metrics": metrics or {key: mean for key, (mean, _) in spread.items()},
            "spread": {"metrics": {key: {"mean": mean, "std": std} for key, (mean, std) in spread.items()}}}


def test_the_zoo_table_bolds_only_what_beats_its_group_by_two_standard_deviations():
    from training.presets import markdown_table

    fid = ("mnist-FID/prior", "mnist-FID/midpoint", "mnist-FID/ratio")

    def dcgan(prior, mid):
        return _card("mnist_5k", {fid[0]: prior, fid[1]: mid, fid[2]: (mid[0] / prior[0], 0.01)})

    cards = {"mnist_dcgan_uniform": dcgan((30.0, 1.0), (40.0, 1.0)),
             "mnist_dcgan_normal": dcgan((30.5, 1.0), (41.0, 1.0)),
             "mnist_dcgan_nonparametric": dcgan((31.0, 1.0), (33.0, 1.0))}
    rows = {line.split(" | ")[0].strip("|` "): line for line in markdown_table(cards).splitlines()[2:]}
    # 33 beats 40 and 41 by more than 2 x 1.0: bold; 30 beats 30.5 by less: plain; ratios never bold.
    assert "| 31 ± 1 / **33 ± 1** (1.065) |" in rows["mnist_dcgan_nonparametric"]
    assert "**" not in rows["mnist_dcgan_uniform"] and "**" not in rows["mnist_dcgan_normal"]
    # A wider spread takes the bold away: 33 ± 4 is within two of its standard deviations of 40.
    cards["mnist_dcgan_nonparametric"] = dcgan((31.0, 1.0), (33.0, 4.0))
    assert "**" not in markdown_table(cards)
    # Higher is better for modes: 25 vs 14 with spreads 0.5 is bold.
    grid = {"grid_gan": _card("grid", {"modes": (14.0, 0.5), "high_quality_pct": (4.6, 0.2)}),
            "grid_gdpp_gan": _card("grid", {"modes": (25.0, 0.5), "high_quality_pct": (77.0, 0.8)})}
    text = markdown_table(grid)
    assert "| `grid_gdpp_gan` | 25 Gaussians on a grid | modes / % high quality | **25 ± 0.5** / **77 ± 0.8** |" in text
    assert "| `grid_gan` | 25 Gaussians on a grid | modes / % high quality | 14 ± 0.5 / 4.6 ± 0.2 |" in text


def test_the_zoo_table_refuses_a_card_without_its_spread():
    from training.presets import markdown_table

    card = _card("grid", {"modes": (25.0, 0.5), "high_quality_pct": (77.0, 0.8)})
    del card["spread"]
    with pytest.raises(ConfigError, match="python -m training.presets measure --only grid_gan"):
        markdown_table({"grid_gan": card})
