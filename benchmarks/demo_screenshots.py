"""Screenshots of every tab of ``zoo demo``, for docs/demo.md and the README.

    python benchmarks/demo_screenshots.py                       # writes docs/images/demo_*.png
    python benchmarks/demo_screenshots.py --out /tmp/shots --modes-samples 2000

Serves the page on a free loopback port over the real-MNIST DCGANs (one recipe, three priors) and
VAE, exported into the demo's cache (``--cache-dir``, default the demo's), drives headless Chromium
through each tab as a person would (type, click, wait for the picture) and saves the whole page of
each tab. The first run exports the models and counts the Stacked-MNIST classes of each card's
26,000 samples (minutes on 2 CPU cores); later runs read both from the cache. Needs the demo extra,
Selenium, and the Debian packages chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
MODELS = ("mnist_dcgan_nonparametric", "mnist_dcgan_normal", "mnist_dcgan_uniform", "mnist_vae")
WIDTH = 1200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _save(page, path: pathlib.Path) -> None:
    from PIL import Image

    page.screenshot(path)
    with Image.open(path) as image:  # no metadata, smallest lossless encoding
        image.convert("RGB").save(path, optimize=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


def _shoot(page, url: str, out: pathlib.Path) -> None:
    page.open(url)
    page.type("sample-seed", 2018)  # the first call loads the model: not what the screenshot should show
    page.submit("sample-run", "sample-status", "sample-image")
    page.type("sample-seed", 2019)
    seconds, status = page.submit("sample-run", "sample-status", "sample-image")
    print(f"sample tab: {seconds:.2f} s from click to picture; {status}", flush=True)
    _save(page, out / "demo_sample.png")

    page.open(url, "Interpolate")
    page.type("interpolate-seed-a", 3)
    _, status = page.submit("interpolate-run", "interpolate-status", "interpolate-image")
    print(f"interpolate tab: {status}", flush=True)
    _save(page, out / "demo_interpolate.png")

    page.open(url, "Diversity")
    _, status = page.submit("mixtures-run", "mixtures-status", "mixtures-image")
    print(f"diversity tab: {status}", flush=True)
    _, status = page.submit("stacked-run", "stacked-status", "stacked-image")
    print(f"diversity tab: {status}", flush=True)
    _save(page, out / "demo_diversity.png")

    page.open(url, "Card")
    page.wait(lambda b: "Measured" in b.text("card-text"))
    _save(page, out / "demo_card.png")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT, help="directory for the PNGs (default: docs/images)")
    parser.add_argument("--cache-dir", help="the demo's cache (default: the demo's default cache)")
    parser.add_argument("--modes-samples", type=int,
                        help="samples per stacked GAN (default: each card's, so the page shows the cards' numbers)")
    args = parser.parse_args(argv)

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from demo import app, backends, browser, cli, diversity
    from demo.cache import Cache

    reason = browser.missing()
    if reason:
        print(f"demo_screenshots: cannot drive a browser here: {reason}", file=sys.stderr)
        return 2
    cache = Cache(args.cache_dir)
    handlers = app.Handlers(backends.local_models(list(MODELS), cache), cache, modes_samples=args.modes_samples)
    blocks = app.build(handlers, where="loaded in this process with tf.saved_model.load from exports cached on "
                                        "this machine")
    # Counted before the browser starts (minutes the first time), so the page answers from the cache.
    print(f"counting: {handlers.stacked(next(iter(diversity.STACKED)))[1]}", flush=True)
    url = cli.serve(blocks, "127.0.0.1", _free_port(), block=False)
    page = browser.Browser(width=WIDTH, height=900)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        _shoot(page, url, args.out)
    finally:
        page.close()
        blocks.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # `python benchmarks/demo_screenshots.py` from anywhere imports this checkout
    raise SystemExit(main())
