"""``zoo demo`` without a browser: input checks, the export cache, the backends, the measurements, the CLI.

The page itself, driven in Chromium, is tests/test_demo_browser.py; both share the session's cache.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import DEMO_MODES_SAMPLES, DEMO_PRESETS
import zoo
from zoo.errors import ConfigError

pytest.importorskip("matplotlib", reason='the Diversity figures need matplotlib (pip install -e ".[demo]")')


@pytest.mark.parametrize("value, expected", [(0, 0), (7.0, 7), ("12", 12), (2**31 - 1, 2**31 - 1)])
def test_whole_number_accepts(value, expected):
    from demo.app import MAX_SEED, whole_number

    assert whole_number(value, "seed", 0, MAX_SEED) == expected


@pytest.mark.parametrize("value, message", [
    (None, "seed is empty; enter a whole number from 0 to 2,147,483,647"),
    ("", "seed is empty"),
    ("abc", "seed must be a number, got 'abc'"),
    (1.5, "seed must be a whole number, got 1.5"),
    (float("nan"), "seed must be a whole number, got nan"),
    (-1, "seed -1 is out of range"),
    (2**31, "seed 2,147,483,648 is out of range"),
])
def test_whole_number_refuses(value, message):
    from demo.app import MAX_SEED, whole_number

    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        whole_number(value, "seed", 0, MAX_SEED)


def test_sample_is_reproducible_and_matches_the_interpolation_ends(demo_handlers):
    from demo import pictures

    first, status = demo_handlers.sample(DEMO_PRESETS[0], 3, 5)
    again, _ = demo_handlers.sample(DEMO_PRESETS[0], 3, 5)
    other, _ = demo_handlers.sample(DEMO_PRESETS[0], 4, 5)
    assert status.startswith(f"5 images of {DEMO_PRESETS[0]}, seeds (3, 0) ... (3, 4)")
    assert first.shape[:2] == pictures.grid_size(5, (28, 28, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # The interpolation's ends are image 0 of seeds a and b, exactly as the Sample tab draws them.
    strip, _ = demo_handlers.interpolate([DEMO_PRESETS[0]], 3, 4, 3, "linear")
    gap, tile = pictures.GAP, 56
    start, end = pictures.LABEL_WIDTH + gap, pictures.LABEL_WIDTH + gap + 2 * (tile + gap)
    assert np.array_equal(strip[gap:gap + tile, start:start + tile], first[gap:gap + tile, gap:gap + tile])
    assert np.array_equal(strip[gap:gap + tile, end:end + tile], other[gap:gap + tile, gap:gap + tile])


def test_matched_path_lies_on_the_prior(demo_handlers):
    from zoo import latent

    model = demo_handlers.models.get(DEMO_PRESETS[1])  # normal prior: matched mid-point (z0 + z1) / sqrt(2)
    z = model.run("sample", {"seed": np.array([[1, 0], [2, 0]], np.int32)})["z"]
    path = latent.interpolate(z[0], z[1], 3, method="matched", prior=model.prior())
    np.testing.assert_allclose(path[1], (z[0] + z[1]) / np.sqrt(2), rtol=1e-4, atol=1e-5)
    _, status = demo_handlers.interpolate(list(DEMO_PRESETS), 1, 2, 3, "matched")
    assert status.startswith("matched path in 3 steps"), status


@pytest.mark.parametrize("call, message", [
    (lambda h: h.sample("nope", 1, 1), "Error: unknown model 'nope'; choose one of " + ", ".join(DEMO_PRESETS)),
    (lambda h: h.sample(None, 1, 1), "Error: unknown model 'NoneType'"),
    (lambda h: h.sample(DEMO_PRESETS[0], 1, 1025), "Error: count 1,025 is more than digits_dcgan_nonparametric "
                                                   "serves in one request (1,024, this export's --max-batch-size)"),
    (lambda h: h.sample(DEMO_PRESETS[0], "1e3", 0), "Error: count 0 is out of range; enter a whole number from 1 to 1,024"),
    (lambda h: h.interpolate([], 1, 2, 3, "linear"), "Error: choose at least one model to interpolate"),
    (lambda h: h.interpolate([DEMO_PRESETS[0]], 1, 2, 65, "linear"), "Error: steps 65 is out of range"),
    (lambda h: h.interpolate([DEMO_PRESETS[0]], 1, 2, 3, "../etc"), "Error: unknown path '../etc'; choose one of"),
    (lambda h: h.stacked("/etc/passwd"), "Error: unknown data set '/etc/passwd'"),
    (lambda h: h.card("/etc/passwd"), "Error: unknown model '/etc/passwd'"),
])
def test_bad_input_is_a_message(demo_handlers, call, message):
    result = call(demo_handlers)
    assert result[-1].startswith(message), result[-1]
    assert all(value is None for value in result[:-1])


def test_unexpected_errors_are_summarised_and_logged(demo_handlers, monkeypatch, caplog):
    model = demo_handlers.models.get(DEMO_PRESETS[0])
    monkeypatch.setattr(model, "run", lambda *a, **k: 1 / 0)
    picture, status = demo_handlers.sample(DEMO_PRESETS[0], 1, 1)
    assert picture is None
    assert status == ("Unexpected error (ZeroDivisionError): division by zero. The terminal running zoo demo has "
                      "the details.")
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text


def test_cache_exports_once_and_again_when_the_preset_changes(tmp_path):
    import zoo.presets
    from demo.cache import Cache, preset_digest

    preset = tmp_path / "my_digits"
    shutil.copytree(zoo.presets.preset_dir(DEMO_PRESETS[1]), preset)
    cache = Cache(tmp_path / "cache")
    first = cache.preset_export(preset, "my_digits")
    assert first == tmp_path / "cache" / "exports" / f"my_digits-{preset_digest(preset)}" / "my_digits" / "1"
    stamp = (first / "saved_model.pb").stat().st_mtime_ns
    assert cache.preset_export(preset, "my_digits") == first  # cached: not exported again
    assert (first / "saved_model.pb").stat().st_mtime_ns == stamp

    card = preset / zoo.presets.CARD_FILE
    card.write_text(card.read_text().replace('"description": "', '"description": "rebuilt: '))
    second = cache.preset_export(preset, "my_digits")
    assert second != first and (second / "saved_model.pb").is_file()
    assert not first.exists(), "the export of the older preset is removed"
    assert [p.name for p in (tmp_path / "cache" / "exports").iterdir()] == [second.parents[1].name]


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    from demo.cache import default_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "latent-zoo" / "demo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "latent-zoo" / "demo"


def test_an_export_directory_is_a_model_without_a_prior(demo_handlers):
    from demo import app, backends

    version_dir = demo_handlers.models.get(DEMO_PRESETS[0]).version_dir()
    for source in (version_dir, version_dir.parent):  # a version, or the model's directory (latest version)
        models = backends.local_models([str(source)], demo_handlers.counts.cache)
        assert models.names == [DEMO_PRESETS[0]] and models.get(DEMO_PRESETS[0]).preset is None
    handlers = app.Handlers(models, demo_handlers.counts.cache)
    picture, _ = handlers.sample(DEMO_PRESETS[0], 3, 5)
    assert np.array_equal(picture, demo_handlers.sample(DEMO_PRESETS[0], 3, 5)[0])
    _, status = handlers.interpolate([DEMO_PRESETS[0]], 1, 2, 3, "matched")
    assert status.startswith(f"Error: {DEMO_PRESETS[0]} is an export, not a preset"), status
    card = handlers.card(DEMO_PRESETS[0])[0]
    assert "(no card: an export without a preset)" in card and "| latent size | 16 |" in card


@pytest.mark.parametrize("sources, message", [
    (["ring_gan"], "ring_gan makes 2-D points, which no export serves; the Diversity tab shows it"),
    (["digits_dcgan_nonparametic"], "Unknown preset 'digits_dcgan_nonparametic'. Did you mean digits_dcgan_nonparametric"),
    ([DEMO_PRESETS[0], DEMO_PRESETS[0]], "two models are named digits_dcgan_nonparametric"),
])
def test_local_models_refuse(tmp_path, sources, message):
    from demo import backends
    from demo.cache import Cache

    with pytest.raises(ConfigError, match=message):
        backends.local_models(sources, Cache(tmp_path))
    assert not (tmp_path / "exports").exists(), "nothing is exported before the page asks"


def _closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_served_models_report_a_server_that_is_down(tmp_path):
    from demo import app, backends
    from demo.cache import Cache

    url = f"http://127.0.0.1:{_closed_port()}"
    models = backends.served_models([], url)
    assert models.names == backends.image_presets() and "ring_gan" not in models.names
    handlers = app.Handlers(models, Cache(tmp_path))
    picture, status = handlers.sample(models.names[0], 1, 4)
    assert picture is None and status.startswith(f"Error: no model server answered at {url}"), status
    _, status = handlers.stacked(next(iter(app.diversity.STACKED)))
    assert status.startswith(f"Error: no model server answered at {url}"), status
    with pytest.raises(ConfigError, match="must start with http://, https://, grpc://"):
        backends.make_client("localhost:8501", "digits")
    with pytest.raises(ConfigError, match="not paths"):
        backends.served_models(["../models/digits"], url)


def test_stacked_counts_are_evaluate_s_and_cached(demo_handlers, monkeypatch):
    import zoo
    from demo import diversity
    from zoo.metrics import evaluate

    preset = "stacked_mnist_gan"
    image, status = demo_handlers.stacked(next(iter(diversity.STACKED)))
    assert image is not None, status
    counts = demo_handlers.counts.counts(preset, DEMO_MODES_SAMPLES, 0)
    stats = diversity.stacked_stats(preset, counts)
    assert counts.sum() == DEMO_MODES_SAMPLES and f"{preset}: {stats['modes']} of 1,000 classes" in status
    report = evaluate(zoo.load(preset), ["modes"], samples=DEMO_MODES_SAMPLES, seed=0, dataset="stacked_mnist_5k")
    assert stats["modes"] == report["results"]["modes"]["prior"]
    assert stats["kl"] == pytest.approx(report["results"]["kl"]["prior"], abs=1e-9)

    # A new page over the same cache reads the counts from disk instead of measuring again.
    fresh = diversity.StackedCounts(demo_handlers.models, demo_handlers.counts.cache)
    monkeypatch.setattr(fresh, "_measure", lambda *a: pytest.fail("measured again instead of reading the cache"))
    assert np.array_equal(fresh.counts(preset, DEMO_MODES_SAMPLES, 0), counts)


def test_mixtures_reproduce_the_cards(demo_handlers):
    picture, status = demo_handlers.mixtures(0)
    assert picture.shape == (800, 1600, 3)
    for preset, numbers in (("ring_gan", "8/8 modes, 7.2 % high quality (card: 8, 7.2 %)"),
                            ("grid_gdpp_gan", "25/25 modes, 77.0 % high quality (card: 25, 77.0 %)"),
                            ("ring_wgan_gp", "8/8 modes, 74.4 % high quality (card: 8, 74.4 %)")):
        assert f"{preset}: {numbers}" in status, status


def test_cards(demo_handlers):
    names = demo_handlers.card_names()
    assert names[:2] == list(DEMO_PRESETS) and {"ring_gan", "grid_gdpp_gan", "stacked_mnist_gdpp_gan"} <= set(names)
    text = demo_handlers.card("stacked_mnist_gdpp_gan")[0]
    modes = zoo.presets.card("stacked_mnist_gdpp_gan")["metrics"]["modes"]
    assert f"| modes | {modes:,.0f} | 1,000 |" in text and "Served" not in text
    text = demo_handlers.card(DEMO_PRESETS[0])[0]
    assert "| digits-FID/ratio | 1.116 | 1.078 |" in text and "| most images per request | 1,024 |" in text


def test_cli_refuses_bad_arguments_before_anything_runs(capsys, tmp_path):
    from zoo.cli import main

    pytest.importorskip("gradio")
    assert main(["demo", "--port", "0", "--cache-dir", str(tmp_path)]) == 2
    assert "--port must be from 1 to 65535, got 0" in capsys.readouterr().err
    assert main(["demo", "--serving-url", "localhost:8501"]) == 2
    assert "--serving-url must start with http://, https://, grpc://" in capsys.readouterr().err
    assert main(["demo", "ring_gan", "--cache-dir", str(tmp_path)]) == 2
    assert "ring_gan makes 2-D points" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cli_prepare_fills_the_cache(demo_handlers, capsys, monkeypatch):
    from demo import diversity
    from zoo.cli import main

    pytest.importorskip("gradio")
    first = next(iter(diversity.STACKED))
    monkeypatch.setattr(diversity, "STACKED", {first: diversity.STACKED[first]})  # the pair the session counted
    root = demo_handlers.counts.cache.root
    args = ["demo", *DEMO_PRESETS, "--cache-dir", str(root), "--modes-samples", str(DEMO_MODES_SAMPLES), "--prepare"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{DEMO_PRESETS[0]}: in this process (tf.saved_model.load), images 28x28x1" in out
    assert f"Stacked-MNIST (real MNIST digits): {DEMO_MODES_SAMPLES} samples per model, seed 0." in out
    assert sorted(p.name.split("-")[0] for p in (root / "diversity").glob("*.npz")) == list(diversity.STACKED[first])


def test_serving_is_loopback_private_and_quiet(monkeypatch):
    from demo import cli

    assert cli.host_warning("127.0.0.1") is None and cli.host_warning("localhost") is None
    assert "reachable from other machines and has no authentication" in cli.host_warning("0.0.0.0")

    class Page:
        def queue(self, **kwargs):
            self.queued = kwargs

        def launch(self, **kwargs):
            self.launched = kwargs
            return None, "http://127.0.0.1:7860/", None

    page = Page()
    assert cli.serve(page, "127.0.0.1", 7860, block=False) == "http://127.0.0.1:7860/"
    assert page.launched["share"] is False and page.launched["server_name"] == "127.0.0.1"
    assert page.launched["mcp_server"] is False and page.launched["ssr_mode"] is False
    assert page.launched["prevent_thread_lock"] is True
