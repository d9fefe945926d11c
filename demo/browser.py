"""Driving the page in headless Chromium with Selenium, as a person would (tests, screenshots).

Needs ``pip install selenium`` and the Debian packages ``chromium`` and ``chromium-driver``;
:func:`missing` says which is absent. :class:`Browser` types into fields, clicks, waits until a
form's status changes and its picture has loaded (timed in the page, from the click), and fetches
pictures from the page's own URLs.
"""

from __future__ import annotations

import base64
import io
import shutil

import numpy as np

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: What shows that a tab's content is there.
TAB_READY = {"Sample": "#sample-run", "Interpolate": "#interpolate-run", "Diversity": "#mixtures-run",
             "Card": "#card-model"}
TIMEOUT = 600  # seconds for one answer: a first call may export a model, a histogram count many samples

_CLICK = "window.__zooClick = performance.now(); arguments[0].click();"
# Null while the form has not answered; else [milliseconds since the click, status]. Milliseconds are
# taken in the page when it sees the answer, so the polling interval does not count.
_ANSWERED = """
const [statusId, imageId, oldStatus, oldSrc, wantImage] = arguments;
const status = document.querySelector('#' + statusId + ' textarea').value;
const img = imageId ? document.querySelector('#' + imageId + ' img') : null;
const pictured = img && img.src !== oldSrc && img.complete && img.naturalWidth > 0;
if (!status || status === oldStatus || (wantImage && !pictured)) return null;
return [performance.now() - window.__zooClick, status];
"""
POLL = 0.02  # seconds between two looks at the page

_FETCH = """
const [src, done] = arguments;
fetch(src).then(r => r.arrayBuffer()).then(buffer => {
  let binary = ''; const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  done(btoa(binary));
}, error => done('error: ' + error));
"""


def browser_path() -> str | None:
    """The first Chromium-family browser on PATH."""
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def missing() -> str | None:
    """Why the page cannot be driven here (a missing package or program), or None."""
    for module, install in (("gradio", 'pip install -e ".[demo]"'), ("selenium", "pip install selenium")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed ({install})"
    if browser_path() is None:
        return "no Chromium browser (apt-get install chromium)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver (apt-get install chromium-driver)"
    return None


class Browser:
    """A headless Chromium window of ``width`` x ``height`` CSS pixels; ``close()`` ends it."""

    def __init__(self, width: int = 1400, height: int = 1100):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        options = Options()
        options.binary_location = browser_path()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={width},{height}", "--hide-scrollbars"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        self.driver.set_script_timeout(TIMEOUT)

    def close(self) -> None:
        self.driver.quit()

    def _find(self, css, seconds: float = 30):
        """The element ``css`` selects, waiting for it: Gradio renders a form's parts one after another."""
        return self.wait(lambda b: next(iter(b._all(css)), None), seconds)

    def _all(self, css):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition, seconds: float = 60):
        """Wait until ``condition(self)`` is truthy and return its value."""
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, seconds).until(lambda _: condition(self))

    def open(self, url: str, tab: str | None = None) -> None:
        """Load the page (a fresh one: every field at its default) and, if given, switch to ``tab``."""
        self.driver.get(url)
        self.wait(lambda b: b._all("#sample-run"))
        if tab:
            self.tab(tab)

    def tab(self, label: str) -> None:
        [button] = [b for b in self._all("[role=tab]") if b.text.strip() == label]
        button.click()
        self.wait(lambda b: b._all(TAB_READY[label]))

    def type(self, elem_id: str, value) -> None:
        """Replace the text of field ``elem_id`` by ``value`` and leave the field (Gradio reads it then)."""
        from selenium.webdriver.common.keys import Keys

        field = self._find(f"#{elem_id} input")
        field.click()
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        field.send_keys(str(value))
        field.send_keys(Keys.TAB)

    def choose(self, elem_id: str, option: str) -> None:
        """Pick ``option`` from dropdown ``elem_id``'s list."""
        self._find(f"#{elem_id} input").click()
        self.wait(lambda b: [o for o in b._all("[role=option]") if o.text.strip() == option], 10)[0].click()

    def label(self, elem_id: str, text: str):
        """The ``<label>`` reading ``text`` inside ``elem_id`` (a checkbox or radio choice: click it)."""
        [label] = [x for x in self._all(f"#{elem_id} label") if x.text.strip() == text]
        return label

    def checked(self, elem_id: str, text: str) -> bool:
        from selenium.webdriver.common.by import By

        return self.label(elem_id, text).find_element(By.TAG_NAME, "input").is_selected()

    def status(self, elem_id: str) -> str:
        return self._find(f"#{elem_id} textarea").get_attribute("value")

    def text(self, elem_id: str) -> str:
        return self._find(f"#{elem_id}").text

    def src(self, elem_id: str) -> str | None:
        images = self._all(f"#{elem_id} img")
        return images[0].get_attribute("src") if images else None

    def submit(self, button_id: str, status_id: str, image_id: str | None = None,
               want_image: bool = True) -> tuple[float, str]:
        """Click ``button_id``; wait until the status changes and, if wanted, a new picture has loaded.

        Returns ``(seconds from the click to that moment, status)``. A status that repeats the
        previous one word for word is not seen as an answer: change an input between two submits.
        """
        import time

        old_status, old_src = self.status(status_id), self.src(image_id) if image_id else None
        want_image = want_image and bool(image_id)
        self.driver.execute_script(_CLICK, self._find(f"#{button_id}"))
        deadline = time.monotonic() + TIMEOUT
        while (answer := self.driver.execute_script(
                _ANSWERED, status_id, image_id, old_status, old_src, want_image)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"#{status_id} did not answer within {TIMEOUT} s of clicking #{button_id}")
            time.sleep(POLL)
        return answer[0] / 1000, answer[1]

    def picture(self, elem_id: str) -> np.ndarray:
        """The PNG shown in ``elem_id``, fetched from its URL and decoded: uint8 ``[h, w, 3]``."""
        from PIL import Image

        data = self.driver.execute_async_script(_FETCH, self.src(elem_id))
        if data.startswith("error"):
            raise RuntimeError(f"the page's picture could not be fetched: {data}")
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            if image.format != "PNG":
                raise RuntimeError(f"the page's picture is a {image.format}, not a PNG")
            return np.asarray(image.convert("RGB"))

    def screenshot(self, path) -> None:
        """The whole page as a PNG, beyond the window's height, with no field focused."""
        self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))
