"""evaluate(), the mid-point protocol, the extractors, the digit classifier and `zoo evaluate`."""

import json

import numpy as np
import pytest

from zoo import data
from zoo.errors import ConfigError, DataUnavailableError
from zoo.metrics import evaluate, format_table
from zoo.metrics.midpoint import prior_and_midpoint_latents, ratio
from zoo.models import GenerativeModel


class ReplayModel(GenerativeModel):
    """A stand-in generator that maps each latent to one fixed sample: what a model that learned
    the data exactly would produce. Row i of z picks sample floor((z_0 + 1) / 2 * N)."""

    def __init__(self, samples, latent_dim=4):
        from zoo.priors import LatentPrior

        super().__init__()
        self.samples = np.asarray(samples, np.float32)
        self.prior = LatentPrior("uniform", latent_dim=latent_dim)
        self.latent_dim = latent_dim
        self.element_shape = self.samples.shape[1:]

    def index(self, z):
        index = np.floor((np.asarray(z)[:, 0] + 1.0) / 2.0 * len(self.samples)).astype(int)
        return np.clip(index, 0, len(self.samples) - 1)

    def latents_to_images(self, z, training=False):
        return self.samples[self.index(z)]


@pytest.fixture(scope="module")
def tiny_dcgan():
    from zoo.models import build_model

    return build_model({"model": "dcgan", "image_size": 28, "channels": 1, "width": 16, "latent_dim": 16})


def test_points_replaying_the_centres_capture_every_mode():
    spec = data.spec("ring")
    report = evaluate(ReplayModel(spec.centres), dataset="ring", samples=400, seed=3)
    assert report["results"]["modes"] == {"prior": len(spec.centres)}
    assert report["results"]["high_quality_pct"] == {"prior": 100.0}
    # Points pushed 4 std away from the centres are all low quality.
    report = evaluate(ReplayModel(spec.centres + 4 * spec.std), dataset="ring", samples=400)
    assert report["results"]["modes"]["prior"] == 0


def test_stacked_digits_replaying_real_data_score_like_the_data():
    x, labels = data.arrays("stacked_digits", split="test", num_examples=400)
    model = ReplayModel(x)
    result = evaluate(model, dataset="stacked_digits", samples=400, seed=1)["results"]
    true_modes = len(np.unique(labels[model.index(prior_and_midpoint_latents(model.prior, 400, 1)[0])]))
    # The classifier reads ~97% of triplets right, so the mode count is close to the true one.
    assert abs(result["modes"]["prior"] - true_modes) <= 0.06 * true_modes
    assert result["kl"]["prior"] < 3.0


def test_stacked_mnist_5k_is_read_by_the_mnist_classifier():
    x, labels = data.arrays("stacked_mnist_5k", split="test", num_examples=400)
    model = ReplayModel(x)
    report = evaluate(model, dataset="stacked_mnist_5k", samples=400, seed=1)
    true_labels = labels[model.index(prior_and_midpoint_latents(model.prior, 400, 1)[0])]
    # The MNIST classifier reads ~99% of digits right, ~97% of triplets: the mode count is close to
    # the true one, and far from what the 8x8-digits classifier makes of real MNIST.
    assert abs(report["results"]["modes"]["prior"] - len(np.unique(true_labels))) <= 0.04 * len(np.unique(true_labels))
    from zoo.metrics.classifier import for_dataset

    assert for_dataset("stacked_mnist_5k") == for_dataset("mnist") == "mnist"
    assert for_dataset("stacked_digits") == for_dataset("folder") == "digits"


def test_mnist_5k_defaults_to_mnist_fid_and_separates_real_from_untrained(tiny_dcgan):
    x, _ = data.arrays("mnist_5k", split="test")
    metrics = ["mnist-fid", "mnist-is", "precision-recall"]
    real = evaluate(ReplayModel(x), metrics, dataset="mnist_5k", samples=400, seed=0)
    fake = evaluate(tiny_dcgan, metrics, dataset="mnist_5k", samples=400, seed=0)["results"]
    assert real["results"]["mnist-FID"]["prior"] < 0.1 * fake["mnist-FID"]["prior"]
    assert real["results"]["mnist-IS"]["prior"] > 8.0 and fake["mnist-IS"]["prior"] < 3.0
    assert real["results"]["recall"]["prior"] > 0.5 > fake["recall"]["prior"]
    defaults = evaluate(ReplayModel(x), dataset="mnist_5k", samples=200, seed=0, midpoint=False)["metrics"]
    assert defaults == ["mnist-fid", "precision-recall", "density-coverage"]


def test_the_second_mnist_feature_space_separates_real_from_untrained_and_is_another_space(tiny_dcgan):
    x, _ = data.arrays("mnist_5k", split="test")
    metrics = ["mnist2-fid", "mnist2-kid", "mnist-fid"]
    real = evaluate(ReplayModel(x), metrics, dataset="mnist_5k", samples=400, seed=0)["results"]
    fake = evaluate(tiny_dcgan, metrics, dataset="mnist_5k", samples=400, seed=0)["results"]
    assert set(real) == {"mnist2-FID", "mnist2-KID", "mnist2-KID-std", "mnist-FID"}
    assert real["mnist2-FID"]["prior"] < 0.1 * fake["mnist2-FID"]["prior"]
    assert real["mnist2-KID"]["prior"] < 0.1 * fake["mnist2-KID"]["prior"]
    assert real["mnist2-FID"]["prior"] != pytest.approx(real["mnist-FID"]["prior"], rel=0.05)
    # mnist2 is asked for by name: never a dataset's default classifier.
    from zoo.metrics.classifier import for_dataset

    assert for_dataset("mnist_5k") == for_dataset("mnist") == "mnist"


def test_digits_metrics_separate_real_from_untrained(tiny_dcgan):
    x, _ = data.arrays("digits", split="test")
    metrics = ["digits-fid", "digits-is", "precision-recall", "density-coverage"]
    real = evaluate(ReplayModel(x), metrics, samples=400, seed=0)["results"]
    fake = evaluate(tiny_dcgan, metrics, samples=400, seed=0)["results"]
    assert real["digits-FID"]["prior"] < 0.1 * fake["digits-FID"]["prior"]
    assert real["digits-IS"]["prior"] > 8.0 and fake["digits-IS"]["prior"] < 2.0
    assert real["coverage"]["prior"] > 0.3 > fake["coverage"]["prior"]
    assert real["recall"]["prior"] > 0.5 > fake["recall"]["prior"]


def test_report_shape_determinism_and_table(tiny_dcgan):
    first = evaluate(tiny_dcgan, samples=200, seed=(1, 2))
    second = evaluate(tiny_dcgan, samples=200, seed=(1, 2))
    assert first["metrics"] == ["digits-fid", "precision-recall", "density-coverage"] and first["midpoint"] is True
    for name in ("digits-FID", "precision", "recall", "density", "coverage"):
        assert set(first["results"][name]) == {"prior", "midpoint", "ratio"}
        assert first["results"][name]["prior"] == second["results"][name]["prior"]
    entry = first["results"]["digits-FID"]
    assert entry["ratio"] == pytest.approx(entry["midpoint"] / entry["prior"])
    json.dumps(first)
    table = format_table(first)
    assert "digits-FID" in table and "mid/prior" in table


def test_bad_requests_get_clear_errors(tiny_dcgan):
    with pytest.raises(ConfigError, match="valid metrics: modes, digits-fid"):
        evaluate(tiny_dcgan, ["digits-fid", "fid-typo"], samples=200)
    with pytest.raises(ConfigError, match="more samples than its 128 feature dimensions"):
        evaluate(tiny_dcgan, ["digits-fid"], samples=100)
    with pytest.raises(ConfigError, match="do not apply"):
        evaluate(tiny_dcgan, ["modes"], samples=200)
    with pytest.raises(ConfigError, match="elements of shape"):
        evaluate(tiny_dcgan, dataset="stacked_digits", samples=200)
    with pytest.raises(ConfigError, match="pass it"):
        evaluate(ReplayModel(data.spec("ring").centres), samples=200)


def test_midpoint_latents_are_linear_midpoints_of_independent_pairs():
    from zoo.priors import LatentPrior

    prior = LatentPrior("uniform", latent_dim=8)
    z, z_mid = prior_and_midpoint_latents(prior, 20_000, seed=5)
    again, _ = prior_and_midpoint_latents(prior, 20_000, seed=5)
    np.testing.assert_array_equal(z, again)
    # U(-1, 1) has variance 1/3; the mean of two independent draws has half of it.
    assert z.var() == pytest.approx(1 / 3, rel=0.02)
    assert z_mid.var() == pytest.approx(1 / 6, rel=0.02)
    assert ratio(0.0, 1.0) is None and ratio(2.0, 3.0) == 1.5
    # Matched mid-points: the same draws moved back onto the prior (variance 1/3, inside [-1, 1]).
    same, matched = prior_and_midpoint_latents(prior, 20_000, seed=5, method="matched")
    np.testing.assert_array_equal(same, z)
    assert matched.var() == pytest.approx(1 / 3, rel=0.02) and np.abs(matched).max() <= 1.0
    assert np.array_equal(np.sign(matched), np.sign(z_mid))  # a monotone, odd map of each coordinate


def test_digit_classifier_ships_with_its_held_out_accuracy():
    from zoo.metrics import classifier
    from zoo.metrics.features import DigitFeatures

    card = classifier.card()
    assert card["test_accuracy"] >= classifier.REQUIRED_ACCURACY
    x, labels = data.arrays("digits", split="test")
    features, logits = DigitFeatures()(x)
    assert features.shape == (450, 128)
    assert np.mean(np.argmax(logits, axis=1) == labels) == pytest.approx(card["test_accuracy"])


def test_mnist_classifier_ships_with_its_held_out_accuracy():
    from zoo.metrics import classifier
    from zoo.metrics.features import get_extractor

    card = classifier.card("mnist")
    assert card["test_accuracy"] >= classifier.get_spec("mnist").required_accuracy == 0.985
    x, labels = data.arrays("mnist_5k", split="test")
    features, logits = get_extractor("mnist")(x)
    assert features.shape == (1000, 128)
    assert np.mean(np.argmax(logits, axis=1) == labels) == pytest.approx(card["test_accuracy"])
    with pytest.raises(ConfigError, match="unknown digit classifier"):
        classifier.get_spec("emnist")


def test_second_mnist_classifier_ships_built_and_trained_differently():
    from zoo.metrics import classifier
    from zoo.metrics.features import get_extractor

    spec, first = classifier.get_spec("mnist2"), classifier.get_spec("mnist")
    card = classifier.card("mnist2")
    assert card["test_accuracy"] >= spec.required_accuracy == 0.975
    assert (spec.widths, spec.kernel_size, spec.augment, spec.seed) != (first.widths, first.kernel_size,
                                                                       first.augment, first.seed)
    assert card["seed"] == spec.seed == 1 and card["command"] == "python -m zoo.metrics.classifier --name mnist2 --write"
    x, labels = data.arrays("mnist_5k", split="test")
    features, logits = get_extractor("mnist2")(x)
    assert features.shape == (1000, 128)
    assert np.mean(np.argmax(logits, axis=1) == labels) == pytest.approx(card["test_accuracy"])
    model = classifier.load_classifier("mnist2")
    assert not any("random" in layer.name for layer in model.layers)  # trained without augmentation


@pytest.mark.slow
def test_second_mnist_classifier_retrains_to_its_card():
    # Deterministic ops and the card's seed: the same libraries give the same held-out accuracy, and
    # the process's determinism setting is left as it was.
    from tensorflow.python.framework.config import is_op_determinism_enabled

    from zoo.metrics import classifier

    before = is_op_determinism_enabled()
    _, accuracy = classifier.train("mnist2")
    assert accuracy == classifier.card("mnist2")["test_accuracy"]
    assert is_op_determinism_enabled() == before


def test_extractors_check_shapes_and_inception_runs_without_weights():
    from zoo.metrics.features import DigitFeatures, InceptionFeatures, get_extractor

    with pytest.raises(ConfigError, match="C in \\(1,\\)"):
        DigitFeatures()(np.zeros((2, 28, 28, 3), np.float32))
    with pytest.raises(ConfigError, match="images \\[B, H, W, C\\]"):
        DigitFeatures()(np.zeros((5, 2), np.float32))
    with pytest.raises(ConfigError, match="unknown feature extractor"):
        get_extractor("vgg")
    inception = InceptionFeatures(weights=None, image_size=75)
    image = np.random.default_rng(0).uniform(-1, 1, size=(2, 28, 28, 1)).astype(np.float32)
    grey, _ = inception(image)
    colour, logits = inception(np.tile(image, (1, 1, 1, 3)))
    assert grey.shape == (2, 2048) and logits is None
    np.testing.assert_allclose(grey, colour, rtol=1e-5, atol=1e-6)  # grey images are read as tiled RGB


def test_inception_offline_names_the_weights_file(monkeypatch):
    import keras

    from zoo.metrics.features import INCEPTION_WEIGHTS_FILE, InceptionFeatures

    def offline(**kwargs):
        raise Exception("URL fetch failure: Name or service not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(DataUnavailableError, match=INCEPTION_WEIGHTS_FILE):
        InceptionFeatures()
    with pytest.raises(DataUnavailableError, match="does not exist"):
        InceptionFeatures(weights="/no/such/file.h5")


def test_zoo_evaluate_command_on_a_keras_file_and_a_run_directory(tiny_dcgan, tmp_path, capsys):
    from zoo.cli import main

    run = tmp_path / "run"
    run.mkdir()
    tiny_dcgan.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"data": {"name": "digits", "options": {}}}))
    out = tmp_path / "out.json"
    assert main(["evaluate", str(run), "--samples", "200", "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text())
    assert report["dataset"] == "digits" and "digits-FID" in report["results"]
    assert "digits-FID" in capsys.readouterr().out
    assert main(["evaluate", str(run / "model.keras"), "--samples", "200", "--metrics", "digits-is", "--quiet"]) == 0
    assert main(["evaluate", str(tmp_path / "missing"), "--quiet"]) == 2
    assert "neither a .keras file" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--metrics", "nope", "--quiet"]) == 2
    assert "valid metrics" in capsys.readouterr().err


def test_folder_reference_statistics_come_from_data_dir(tmp_path):
    from PIL import Image

    from zoo.models import build_model

    model = build_model({"model": "dcgan", "image_size": 8, "channels": 1, "width": 4, "latent_dim": 4})
    settings = dict(metrics=["digits-fid"], samples=130, midpoint=False, dataset="folder",
                    data_options={"grayscale": True})
    fids = {}
    # Two folders of one grey level each; 130 images: enough for FID, fewer than a reading batch (256).
    for level in (30, 220):
        folder = tmp_path / f"grey{level}"
        folder.mkdir()
        for i in range(130):
            Image.new("L", (8, 8), level).save(folder / f"{i:02d}.png")
        report = evaluate(model, data_dir=folder, **settings)
        assert report["data_dir"] == str(folder)
        fids[level] = report["results"]["digits-FID"]["prior"]
    # Same model and draws: only the reference differs, so the cached statistics are per directory.
    assert fids[30] != pytest.approx(fids[220], rel=1e-3)
    with pytest.raises(ConfigError, match="--data-dir DIR"):
        evaluate(model, **settings)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataUnavailableError, match="no images in"):
        evaluate(model, data_dir=tmp_path / "empty", **settings)
    with pytest.raises(ConfigError, match="data_dir must be a directory path"):
        evaluate(model, data_dir=3, **settings)

def test_vae_defaults_add_reconstruction_and_posterior_kl():
    from zoo.models import build_model

    vae = build_model({"model": "vae", "image_size": 28, "channels": 1, "width": 16, "latent_dim": 8})
    report = evaluate(vae, samples=200, seed=0)
    assert report["metrics"] == ["digits-fid", "precision-recall", "density-coverage", "reconstruction", "posterior-kl"]
    x, _ = data.arrays("digits", split="test")
    x = x[:200]
    mean, logvar = (np.asarray(v, np.float64) for v in vae.encode(x))
    expected_kl = np.mean(np.sum(0.5 * (mean**2 + np.exp(logvar) - logvar - 1), axis=1))
    expected_mse = np.mean((vae.decode(mean) - x) ** 2)
    assert report["results"]["posterior-kl"] == {"value": pytest.approx(expected_kl, rel=1e-4)}
    assert report["results"]["reconstruction-mse"] == {"value": pytest.approx(expected_mse, rel=1e-4)}


def test_ndb_against_the_train_pixels_separates_held_out_digits_from_one_digit():
    x, labels = data.arrays("mnist_5k", split="test")
    settings = dict(dataset="mnist_5k", samples=2000, seed=0, midpoint=False, ndb_bins=[20, 50])
    real = evaluate(ReplayModel(x), ["ndb"], **settings)["results"]
    sevens = evaluate(ReplayModel(x[labels == 7]), ["ndb"], **settings)["results"]
    assert set(real) == {"ndb-k20", "ndb-k50"}
    assert real["ndb-k50"]["prior"] <= 0.2 and sevens["ndb-k50"]["prior"] >= 0.8
    again = evaluate(ReplayModel(x), "ndb", **settings)["results"]
    assert again == real  # bins and draws fixed by the seed
    from zoo.metrics.evaluate import _check_ndb_bins

    assert _check_ndb_bins("100,200,300") == (100, 200, 300) == _check_ndb_bins([100, 200, 300, 100])
    for bad in (1, [], "a,b", [100.5], True):
        with pytest.raises(ConfigError, match="ndb_bins must be"):
            _check_ndb_bins(bad)


def test_ivo_is_a_held_out_metric_of_any_image_model(tiny_dcgan):
    report = evaluate(tiny_dcgan, ["ivo"], dataset="mnist_5k", samples=6, seed=0)
    assert set(report["results"]) == {"ivo-mse"}
    from zoo.metrics.ivo import ivo

    held_out, _ = data.arrays("mnist_5k", split="test")
    assert report["results"]["ivo-mse"]["value"] == pytest.approx(ivo(tiny_dcgan, held_out[:6], seed=0), rel=1e-6)
    with pytest.raises(ConfigError, match="do not apply"):
        evaluate(ReplayModel(data.spec("ring").centres), ["ivo"], dataset="ring", samples=10)


def test_zoo_evaluate_takes_ndb_bins(tiny_dcgan, tmp_path, capsys):
    from zoo.cli import main

    path = tmp_path / "model.keras"
    tiny_dcgan.save(path)
    assert main(["evaluate", str(path), "--dataset", "mnist_5k", "--metrics", "ndb", "--ndb-bins", "10,20",
                 "--samples", "500", "--no-midpoint", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "ndb-k10" in table and "ndb-k20" in table
    assert main(["evaluate", str(path), "--dataset", "mnist_5k", "--metrics", "ndb", "--ndb-bins", "0",
                 "--quiet"]) == 2
    assert "ndb_bins must be" in capsys.readouterr().err
