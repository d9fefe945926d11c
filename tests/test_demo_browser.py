"""``zoo demo`` in a real browser: headless Chromium, driven by Selenium, on the page served on loopback.

Every tab and form is used as a person would: type, click, wait for the picture. Pictures are fetched
from the page's own URLs and decoded; they must have the size :mod:`demo.pictures` promises, not be
blank, and repeat exactly for a repeated seed. Bad input must show its message in the status box.
Skipped, with the reason, when Gradio, Selenium, Chromium or chromedriver is missing (``.ci/run``
installs them). Prints how long a 64-image grid takes from the click to the decoded picture.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket

import numpy as np
import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# Gradio's queue calls pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword is deprecated).*")


def _missing() -> str | None:
    for module, install in (("gradio", 'pip install -e ".[demo]"'), ("selenium", "pip install selenium")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed ({install})"
    if _browser() is None:
        return "no Chromium browser (apt-get install chromium)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver (apt-get install chromium-driver)"
    return None


def _browser() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


if (_reason := _missing()) is not None:
    print(f"tests/test_demo_browser.py skipped: {_reason}")
    pytest.skip(_reason, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from conftest import DEMO_PRESETS  # noqa: E402

TIMEOUT = 300  # seconds for one answer: the first call exports and loads a model on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def driver():
    options = Options()
    options.binary_location = _browser()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                     "--disable-gpu"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    browser.set_script_timeout(TIMEOUT)
    yield browser
    browser.quit()


def _serve(handlers, where):
    from demo import app, cli

    page = app.build(handlers, where=where)
    assert page.analytics_enabled is False
    return page, cli.serve(page, "127.0.0.1", _free_port(), block=False)


@pytest.fixture(scope="module")
def page_url(demo_handlers):
    page, url = _serve(demo_handlers, "in this test")
    assert url.startswith("http://127.0.0.1:")
    yield url
    page.close()


@pytest.fixture(scope="module")
def down_url():
    """A page whose models are on a TF Serving that is not running."""
    from demo import app, backends
    from demo.cache import Cache

    port = _free_port()  # nothing listens there
    models = backends.served_models(["digits_dcgan_nonparametric"], f"http://127.0.0.1:{port}")
    page, url = _serve(app.Handlers(models, Cache("/nonexistent-never-written")), "a server that is down")
    yield url, port
    page.close()


# --- page helpers --------------------------------------------------------------------------------

def _open(driver, url, tab=None):
    driver.get(url)
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "sample-run"))
    if tab:
        _tab(driver, tab)


def _tab(driver, label):
    [button] = [b for b in driver.find_elements(By.CSS_SELECTOR, "[role=tab]") if b.text.strip() == label]
    button.click()


def _type(driver, elem_id, value):
    field = driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    field.send_keys(str(value))
    field.send_keys(Keys.TAB)


def _choose(driver, elem_id, option):
    """Pick ``option`` from a dropdown's list."""
    driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input").click()
    WebDriverWait(driver, 10).until(
        lambda d: [o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text.strip() == option]
    )[0].click()


def _label(driver, elem_id, text):
    [label] = [x for x in driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} label") if x.text.strip() == text]
    return label


def _checked(driver, elem_id, text) -> bool:
    return _label(driver, elem_id, text).find_element(By.TAG_NAME, "input").is_selected()


def _status(driver, elem_id) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#{elem_id} textarea").get_attribute("value")


def _src(driver, elem_id):
    images = driver.find_elements(By.CSS_SELECTOR, f"#{elem_id} img")
    return images[0].get_attribute("src") if images else None


_SUBMIT = """
const [button, statusId, imageId, oldStatus, oldSrc, wantImage, done] = arguments;
const start = performance.now();
button.click();
function poll() {
  const status = document.querySelector('#' + statusId + ' textarea').value;
  const img = imageId ? document.querySelector('#' + imageId + ' img') : null;
  const pictured = img && img.src !== oldSrc && img.complete && img.naturalWidth > 0;
  if (status && status !== oldStatus && (!wantImage || pictured)) {
    const finish = () => done([performance.now() - start, status]);
    if (pictured) { img.decode().then(finish, finish); } else { finish(); }
  } else { setTimeout(poll, 5); }
}
poll();
"""


def _submit(driver, button_id, status_id, image_id=None, want_image=True):
    """Click, wait (in the page) until the status changes and, if wanted, a new picture is decoded.

    Returns ``(seconds from click to that moment, status)``. The tests order their requests so that
    consecutive statuses of one form always differ.
    """
    old_status, old_src = _status(driver, status_id), _src(driver, image_id) if image_id else None
    button = driver.find_element(By.ID, button_id)
    milliseconds, status = driver.execute_async_script(
        _SUBMIT, button, status_id, image_id, old_status, old_src, want_image)
    return milliseconds / 1000, status


_FETCH = """
const [src, done] = arguments;
fetch(src).then(r => r.arrayBuffer()).then(buffer => {
  let binary = ''; const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  done(btoa(binary));
}, error => done('error: ' + error));
"""


def _picture(driver, elem_id) -> np.ndarray:
    """The picture shown in ``elem_id``, fetched from its URL and decoded, as uint8 ``[h, w, 3]``."""
    from PIL import Image

    data = driver.execute_async_script(_FETCH, _src(driver, elem_id))
    assert not data.startswith("error"), data
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


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

def test_sample_tab(driver, page_url):
    from demo.pictures import grid_size

    _open(driver, page_url)
    assert driver.title == "latent-zoo demo"
    model = DEMO_PRESETS[0]
    _type(driver, "sample-seed", 5)
    _type(driver, "sample-count", 4)
    _, status = _submit(driver, "sample-run", "sample-status", "sample-image")  # first call exports, loads
    assert status.startswith(f"4 images of {model}, seeds (5, 0)"), status

    _type(driver, "sample-seed", 7)
    _type(driver, "sample-count", 64)
    seconds, status = _submit(driver, "sample-run", "sample-status", "sample-image")
    first = _picture(driver, "sample-image")
    assert first.shape[:2] == grid_size(64, (28, 28, 1)) == (466, 466)
    _not_blank(first, "64-image grid")
    _tiles_differ(first, 8, 8, "64-image grid")

    _type(driver, "sample-seed", 8)
    again, status = _submit(driver, "sample-run", "sample-status", "sample-image")
    assert "seeds (8, 0)" in status
    print(f"\n64-image grid of {model}, click to decoded picture in headless Chromium: first {seconds:.2f} s, "
          f"next {again:.2f} s (of which {status.split(': ')[1].split(' in ')[0]} in the sample signature)")
    other = _picture(driver, "sample-image")
    assert other.shape == first.shape and not np.array_equal(other, first), "another seed, another grid"

    _type(driver, "sample-seed", 7)
    _submit(driver, "sample-run", "sample-status", "sample-image")
    assert np.array_equal(_picture(driver, "sample-image"), first), "the same seed must give the same grid"

    _type(driver, "sample-model", DEMO_PRESETS[1])
    _type(driver, "sample-count", 3)
    _, status = _submit(driver, "sample-run", "sample-status", "sample-image")
    assert status.startswith(f"3 images of {DEMO_PRESETS[1]}"), status
    assert _picture(driver, "sample-image").shape[:2] == grid_size(3, (28, 28, 1))


@pytest.mark.parametrize("field, value, message", [
    ("sample-seed", -1, "seed -1 is out of range; enter a whole number from 0 to 2,147,483,647"),
    ("sample-seed", 2.5, "seed must be a whole number, got 2.5"),
    ("sample-count", 1025, "count 1,025 is more than digits_dcgan_nonparametric serves in one request "
                           "(1,024, this export's --max-batch-size)"),
    ("sample-count", 0, "count 0 is out of range"),
    ("sample-model", "no_such_model", "unknown model 'no_such_model'; choose one of " + ", ".join(DEMO_PRESETS)),
])
def test_sample_tab_bad_input(driver, page_url, field, value, message):
    _open(driver, page_url)  # a fresh page: the other fields hold their defaults
    _type(driver, field, value)
    _, status = _submit(driver, "sample-run", "sample-status", want_image=False)
    assert status.startswith("Error: ") and message in status, status
    assert "Traceback" not in driver.page_source
    assert _src(driver, "sample-image") is None


def test_interpolate_tab(driver, page_url):
    from demo.pictures import FRAME, GAP, LABEL_WIDTH

    _open(driver, page_url, "Interpolate")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "interpolate-run"))
    assert all(_checked(driver, "interpolate-models", name) for name in DEMO_PRESETS), "the prior family is preset"
    tile = 56
    for path, steps in (("linear", 9), ("slerp", 6), ("matched", 7)):
        _label(driver, "interpolate-path", path).click()
        _type(driver, "interpolate-steps", steps)
        _, status = _submit(driver, "interpolate-run", "interpolate-status", "interpolate-image")
        assert status.startswith(f"{path} path in {steps} steps from seed (1, 0) to seed (2, 0)"), status
        picture = _picture(driver, "interpolate-image")
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

    _label(driver, "interpolate-models", DEMO_PRESETS[1]).click()  # one model left
    _type(driver, "interpolate-steps", 5)
    _, status = _submit(driver, "interpolate-run", "interpolate-status", "interpolate-image")
    assert _picture(driver, "interpolate-image").shape[0] == tile + 2 * GAP and DEMO_PRESETS[1] not in status

    _type(driver, "interpolate-steps", 1)
    _, status = _submit(driver, "interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: steps 1 is out of range; enter a whole number from 2 to 64"), status
    _type(driver, "interpolate-steps", 5)
    _type(driver, "interpolate-seed-b", -4)
    _, status = _submit(driver, "interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: seed b -4 is out of range"), status
    _label(driver, "interpolate-models", DEMO_PRESETS[0]).click()  # none left
    _, status = _submit(driver, "interpolate-run", "interpolate-status", want_image=False)
    assert status == "Error: choose at least one model to interpolate", status


def test_diversity_tab(driver, page_url):
    from conftest import DEMO_MODES_SAMPLES

    _open(driver, page_url, "Diversity")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "mixtures-run"))
    _, status = _submit(driver, "mixtures-run", "mixtures-status", "mixtures-image")
    assert "ring_gdpp_gan: 8/8 modes, 75.4 % high quality (card: 8, 75.4 %)" in status, status
    assert "grid_gdpp_gan: 25/25 modes, 77.0 % high quality (card: 25, 77.0 %)" in status, status
    picture = _picture(driver, "mixtures-image")
    assert picture.shape[:2] == (800, 800)
    _not_blank(picture, "ring and grid")
    _type(driver, "mixtures-seed", 3)
    _, status = _submit(driver, "mixtures-run", "mixtures-status", "mixtures-image")
    assert status.startswith("2,500 samples each, seed 3.") and "card:" not in status, status
    _type(driver, "mixtures-seed", -1)
    _, status = _submit(driver, "mixtures-run", "mixtures-status", want_image=False)
    assert status.startswith("Error: seed -1 is out of range"), status

    _, status = _submit(driver, "stacked-run", "stacked-status", "stacked-image")
    assert status.startswith(f"Stacked-MNIST (real MNIST digits): {DEMO_MODES_SAMPLES} samples per model, seed 0."), status
    assert "stacked_mnist_gan: " in status and "stacked_mnist_gdpp_gan: " in status and " of 1,000 classes, KL " in status
    picture = _picture(driver, "stacked-image")
    assert picture.shape[:2] == (540, 1000)
    _not_blank(picture, "stacked histograms")


def test_card_tab(driver, page_url):
    _open(driver, page_url, "Card")
    WebDriverWait(driver, 60).until(lambda d: "Measured" in d.find_element(By.ID, "card-text").text)
    text = driver.find_element(By.ID, "card-text").text
    assert DEMO_PRESETS[0] in text and "digits-FID/ratio" in text and "1.078" in text  # the zoo's and the paper's
    assert "Served in this process (tf.saved_model.load)" in text and "most images per request" in text
    _choose(driver, "card-model", "ring_gdpp_gan")
    WebDriverWait(driver, 30).until(lambda d: "GDPP-GAN on 8 Gaussians" in d.find_element(By.ID, "card-text").text)
    text = driver.find_element(By.ID, "card-text").text
    assert "71.7" in text and "Served" not in text  # the paper's % high quality; a 2-D GAN is not exported


def test_server_down_is_a_message(driver, down_url):
    url, port = down_url
    _open(driver, url)
    _, status = _submit(driver, "sample-run", "sample-status", want_image=False)
    assert status.startswith(f"Error: no model server answered at http://127.0.0.1:{port}"), status
    assert "is tensorflow_model_server running" in status
    _tab(driver, "Interpolate")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "interpolate-run"))
    _, status = _submit(driver, "interpolate-run", "interpolate-status", want_image=False)
    assert status.startswith("Error: no model server answered"), status
