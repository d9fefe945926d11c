"""``zoo demo`` in a real browser: headless Chromium, driven by Selenium, on the page served on loopback.

Every tab and form is used as a person would: type, click, wait for the picture. Pictures are fetched
from the page's own URLs and decoded; they must have the size :mod:`demo.pictures` promises, not be
blank, and repeat exactly for a repeated seed. Bad input must show its message in the status box.
Skipped, with the reason, when Gradio, Selenium, Chromium or chromedriver is missing (``.ci/run``
installs them). Prints how long a 64-image grid takes from the click to the decoded picture.
"""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# Gradio's queue calls pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword is deprecated).*")

from conftest import DEMO_MODES_SAMPLES, DEMO_PRESETS  # noqa: E402
from demo import browser  # noqa: E402

if (_reason := browser.missing()) is not None:
    print(f"tests/test_demo_browser.py skipped: {_reason}")
    pytest.skip(_reason, allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def page():
    chromium = browser.Browser()
    yield chromium
    chromium.close()


def _serve(handlers, where):
    from demo import app, cli

    blocks = app.build(handlers, where=where)
    assert blocks.analytics_enabled is False
    return blocks, cli.serve(blocks, "127.0.0.1", _free_port(), block=False)


@pytest.fixture(scope="module")
def page_url(demo_handlers):
    blocks, url = _serve(demo_handlers, "in this test")
    assert url.startswith("http://127.0.0.1:")
    yield url
    blocks.close()


@pytest.fixture(scope="module")
def down_url():
    """A page whose models are on a TF Serving that is not running."""
    from demo import app, backends
    from demo.cache import Cache

    port = _free_port()  # nothing listens there
    models = backends.served_models(["digits_dcgan_nonparametric"], f"http://127.0.0.1:{port}")
    blocks, url = _serve(app.Handlers(models, Cache("/nonexistent-never-written")), "a server that is down")
    yield url, port
    blocks.close()


def _not_blank(picture, where):
    assert picture.std() > 20, f"{where}: the picture is (nearly) one colour"


def _tiles_differ(picture, rows, columns, where):
    """Every tile of a grid holds an image with some contrast (no empty or constant tile)."""
    from demo.pictures import GAP

    h = (picture.shape[0] - GAP) // rows - GAP
    w = (picture.shape[1] - GAP) // columns - GAP
    for r in range(rows):
        for c in range(columns):
            tile = picture[GAP + r * (h + GAP):GAP + r * (h + GAP) + h, GAP + c * (w + GAP):GAP + c * (w + GAP) + w]
            assert tile.std() > 10, f"{where}: tile ({r}, {c}) is blank"


# --- the tabs --------------------------------------------------------------------------------------

def test_sample_tab(page, page_url):
    from demo.pictures import grid_size

    page.open(page_url)
    assert page.driver.title == "latent-zoo demo"
    model = DEMO_PRESETS[0]
    page.type("sample-seed", 5)
    page.type("sample-count", 4)
    _, status = page.submit("sample-run", "sample-status", "sample-image")  # first call exports, loads
    assert status.startswith(f"4 images of {model}, seeds (5, 0)"), status

    page.type("sample-seed", 7)
    page.type("sample-count", 64)
    seconds, status = page.submit("sample-run", "sample-status", "sample-image")
    first = page.picture("sample-image")
    assert first.shape[:2] == grid_size(64, (28, 28, 1)) == (466, 466)
    _not_blank(first, "64-image grid")
    _tiles_differ(first, 8, 8, "64-image grid")

    timings, signature = [], []
    for seed in (11, 10, 9, 8):
        page.type("sample-seed", seed)
        took, status = page.submit("sample-run", "sample-status", "sample-image")
        assert f"seeds ({seed}, 0)" in status
        timings.append(took)
        signature.append(float(status.split(": ")[1].split(" ms")[0]) / 1000)
    print(f"\n64-image grid of {model}, click to decoded picture in headless Chromium: first {seconds:.2f} s, "
          f"then {', '.join(f'{t:.2f}' for t in timings)} s (median {np.median(timings):.2f} s, of which the "
          f"sample signature {np.median(signature):.2f} s)")
    other = page.picture("sample-image")
    assert other.shape == first.shape and not np.array_equal(other, first), "another seed, another grid"

    page.type("sample-seed", 7)
    page.submit("sample-run", "sample-status", "sample-image")
    assert np.array_equal(page.picture("sample-image"), first), "the same seed must give the same grid"

    page.type("sample-model", DEMO_PRESETS[1])
    page.type("sample-count", 3)
    _, status = page.submit("sample-run", "sample-status", "sample-image")
    assert status.startswith(f"3 images of {DEMO_PRESETS[1]}"), status
    assert page.picture("sample-image").shape[:2] == grid_size(3, (28, 28, 1))


@pytest.mark.parametrize("field, value, message", [
    ("sample-seed", -1, "seed -1 is out of range; enter a whole number from 0 to 2,147,483,647"),
    ("sample-seed", 2.5, "seed must be a whole number, got 2.5"),
    ("sample-count", 1025, "count 1,025 is more than digits_dcgan_nonparametric serves in one request "
                           "(1,024, this export's --max-batch-size)"),
    ("sample-count", 0, "count 0 is out of range"),
    ("sample-model", "no_such_model", "unknown model 'no_such_model'; choose one of " + ", ".join(DEMO_PRESETS)),
])
def test_sample_tab_bad_input(page, page_url, field, value, message):
    page.open(page_url)  # a fresh page: the other fields hold their defaults
    page.type(field, value)
    _, status = page.submit("sample-run", "sample-status", want_image=False)
    assert status.startswith("Error: ") and message in status, status
    assert "Traceback" not in page.driver.page_source
    assert page.src("sample-image") is None


def test_interpolate_tab(page, page_url):
    from demo.pictures import FRAME, GAP, LABEL_WIDTH

    page.open(page_url, "Interpolate")
    assert all(page.checked("interpolate-models", name) for name in DEMO_PRESETS), "the prior family is preset"
    tile = 56
    for path, steps in (("linear", 9), ("slerp", 6), ("matched", 7)):
        page.label("interpolate-path", path).click()
        page.type("interpolate-steps", steps)
        _, status = page.submit("interpolate-run", "interpolate-status", "interpolate-image")
        assert status.startswith(f"{path} path in {steps} steps from seed (1, 0) to seed (2, 0)"), status
        picture = page.picture("interpolate-image")
        assert picture.shape[:2] == (2 * (tile + GAP) + GAP, LABEL_WIDTH + steps * (tile + GAP) + GAP)
        for row in range(2):
            images = picture[GAP + row * (tile + GAP):GAP + row * (tile + GAP) + tile, LABEL_WIDTH:]
            _not_blank(images, f"{path} row {row}")
            left, right = images[:, GAP:GAP + tile], images[:, -GAP - tile:-GAP]
            assert not np.array_equal(left, right), "the two ends are different seeds"
        framed = np.all(picture == FRAME, axis=-1).sum()
        if steps % 2:
            assert framed >= 2 * 4 * tile, f"{path}: the mid-point of each row is framed in red"
            assert "the mid-point t = 1/2 is framed in red" in status
        else:
            assert framed == 0 and "choose an odd number" in status

    page.label("interpolate-models", DEMO_PRESETS[1]).click()  # one model left
    page.type("interpolate-steps", 5)
    _, status = page.submit("interpolate-run", "interpolate-status", "interpolate-image")
    assert page.picture("interpolate-image").shape[0] == tile + 2 * GAP and DEMO_PRESETS[1] not in status

    page.type("interpolate-steps", 1)
    _, status = page.submit("interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: steps 1 is out of range; enter a whole number from 2 to 64"), status
    page.type("interpolate-steps", 5)
    page.type("interpolate-seed-b", -4)
    _, status = page.submit("interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: seed b -4 is out of range"), status
    page.label("interpolate-models", DEMO_PRESETS[0]).click()  # none left
    _, status = page.submit("interpolate-run", "interpolate-status", want_image=False)
    assert status == "Error: choose at least one model to interpolate", status


def test_diversity_tab(page, page_url):
    page.open(page_url, "Diversity")
    _, status = page.submit("mixtures-run", "mixtures-status", "mixtures-image")
    assert "ring_gdpp_gan: 8/8 modes, 75.4 % high quality (card: 8, 75.4 %)" in status, status
    assert "grid_gdpp_gan: 25/25 modes, 77.0 % high quality (card: 25, 77.0 %)" in status, status
    picture = page.picture("mixtures-image")
    assert picture.shape[:2] == (800, 1600)
    _not_blank(picture, "ring and grid")
    page.type("mixtures-seed", 3)
    _, status = page.submit("mixtures-run", "mixtures-status", "mixtures-image")
    assert status.startswith("2,500 samples each, seed 3.") and "card:" not in status, status
    page.type("mixtures-seed", -1)
    _, status = page.submit("mixtures-run", "mixtures-status", want_image=False)
    assert status.startswith("Error: seed -1 is out of range"), status

    _, status = page.submit("stacked-run", "stacked-status", "stacked-image")
    assert status.startswith(f"Stacked-MNIST (real MNIST digits): {DEMO_MODES_SAMPLES} samples per model, seed 0."), status
    assert "stacked_mnist_gan: " in status and "stacked_mnist_gdpp_gan: " in status and " of 1,000 classes, KL " in status
    picture = page.picture("stacked-image")
    assert picture.shape[:2] == (540, 1000)
    _not_blank(picture, "stacked histograms")


def _card_text(page, needle):
    """The card's text, once it holds ``needle``."""
    return page.wait(lambda b: needle in b.text("card-text") and b.text("card-text"))


def test_card_tab(page, page_url):
    page.open(page_url, "Card")
    text = _card_text(page, "Measured")
    assert DEMO_PRESETS[0] in text and "digits-FID/ratio" in text and "1.078" in text  # the zoo's and the paper's
    assert "Served in this process (tf.saved_model.load)" in text and "most images per request" in text
    page.choose("card-model", "ring_gdpp_gan")
    text = _card_text(page, "GDPP-GAN on 8 Gaussians")
    assert "71.7" in text and "Served" not in text  # the paper's % high quality; a 2-D GAN is not exported


def test_server_down_is_a_message(page, down_url):
    url, port = down_url
    page.open(url)
    _, status = page.submit("sample-run", "sample-status", want_image=False)
    assert status.startswith(f"Error: no model server answered at http://127.0.0.1:{port}"), status
    assert "is tensorflow_model_server running" in status
    page.tab("Interpolate")
    _, status = page.submit("interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: no model server answered"), status
