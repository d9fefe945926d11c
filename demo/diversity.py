"""The GDPP paper's claim, to look at: a GAN next to its GDPP-GAN (and the WGAN-GP baseline with and
without GDPP), on mixtures and stacked digits.

Both measurements draw exactly what ``zoo.metrics.evaluate`` draws (the latents of
``zoo.metrics.midpoint.prior_and_midpoint_latents(prior, samples, seed)``), so at a preset's card
settings (its ``evaluation``: samples and seed) the page shows the card's own numbers:

- Ring and grid (:func:`mixture_figure`): the 2-D point GANs run in this process with Keras (no
  export serves 2-D points); modes and high-quality share by :func:`zoo.metrics.synthetic_modes`.
- Stacked digits (:func:`stacked_counts`, :func:`stacked_figure`): images from the model's
  ``serving_default`` signature (in process or on TF Serving), each channel read by the zoo's
  digit classifier, the triplet ``100 c0 + 10 c1 + c2`` counted over the 1,000 classes; modes and
  KL by :func:`zoo.metrics.stacked_modes`. Counts are computed once per preset content, sample
  count and seed, and kept in the cache (in memory only for a model on a server, which may change).
"""

from __future__ import annotations

import functools
import io
import os
import threading

import numpy as np

from demo.backends import LocalModel, Models
from demo.cache import Cache, preset_digest

#: Mixture -> its presets, one column each: GAN, GDPP-GAN, WGAN-GP, GDPP on WGAN-GP.
MIXTURES = {mixture: tuple(f"{mixture}_{method}" for method in ("gan", "gdpp_gan", "wgan_gp", "gdpp_wgan_gp"))
            for mixture in ("ring", "grid")}
#: Shown name -> (preset, its GDPP counterpart) on stacked digits (1,000 classes).
STACKED = {
    "Stacked-MNIST (real MNIST digits)": ("stacked_mnist_gan", "stacked_mnist_gdpp_gan"),
    "Stacked-MNIST, WGAN-GP without and with GDPP": ("stacked_mnist_wgan_gp", "stacked_mnist_gdpp_wgan_gp"),
    "Stacked digits (scikit-learn 8x8 digits)": ("stacked_digits_gan", "stacked_digits_gdpp_gan"),
}
BATCH = 500  # rows per serving_default request while counting classes


def evaluation(preset: str) -> dict:
    """The card's ``evaluation`` (``dataset``, ``samples``, ``seed``, ...) of shipped preset ``preset``."""
    import zoo.presets

    return zoo.presets.card(preset).get("evaluation", {})


def _latents(prior, samples: int, seed: int) -> np.ndarray:
    from zoo.metrics.midpoint import prior_and_midpoint_latents

    return prior_and_midpoint_latents(prior, int(samples), int(seed))[0]


@functools.lru_cache(maxsize=4)
def _point_model(preset: str):
    import zoo

    return zoo.load(preset)


def mixture_points(preset: str, samples: int, seed: int) -> np.ndarray:
    """``[samples, 2]`` points of the 2-D GAN preset, drawn as ``zoo.metrics.evaluate`` draws them."""
    model = _point_model(preset)
    z = _latents(model.prior, samples, seed)
    return np.asarray(model.generator(z, training=False), np.float32)


def mixture_stats(preset: str, points: np.ndarray) -> dict:
    """``{"modes", "max_modes", "high_quality_pct"}`` of ``points`` on the preset's mixture."""
    from zoo import data
    from zoo.metrics import synthetic_modes

    spec = data.spec(evaluation(preset)["dataset"])
    result = synthetic_modes(points, spec.centres, spec.std)
    return {"modes": result["modes"], "max_modes": result["max_modes"],
            "high_quality_pct": 100.0 * result["high_quality"]}


def _png(fig) -> np.ndarray:
    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mixture_figure(seed: int, samples: int | None = None) -> tuple[np.ndarray, list[dict]]:
    """A figure (rows ring, grid; a column per preset of :data:`MIXTURES`) of samples over the true
    modes, and its rows.

    ``samples``: points per model (default: each card's evaluation count). Rows: ``{"preset",
    "modes", "max_modes", "high_quality_pct", "card": {...} or None}``, ``card`` being the card's
    numbers when ``seed`` and ``samples`` are the card's.
    """
    import zoo.presets
    from zoo import data

    plt = _pyplot()
    columns = max(len(presets) for presets in MIXTURES.values())
    fig, axes = plt.subplots(len(MIXTURES), columns, figsize=(4 * columns, 4 * len(MIXTURES)), squeeze=False)
    rows = []
    for r, (mixture, presets) in enumerate(MIXTURES.items()):
        spec = data.spec(mixture)
        for c, preset in enumerate(presets):
            settings = evaluation(preset)
            count = int(samples or settings.get("samples", 2500))
            points = mixture_points(preset, count, seed)
            stats = mixture_stats(preset, points)
            same = count == settings.get("samples") and seed == settings.get("seed")
            card = zoo.presets.card(preset).get("metrics", {})
            rows.append({"preset": preset, "samples": count, **stats,
                         "card": {"modes": card.get("modes"), "high_quality_pct": card.get("high_quality_pct")}
                         if same else None})
            ax = axes[r, c]
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", rasterized=True)
            ax.scatter(spec.centres[:, 0], spec.centres[:, 1], s=40, marker="x", color="tab:red")
            margin = 0.5 if mixture == "ring" else 1.5
            low, high = spec.centres.min() - margin, spec.centres.max() + margin
            ax.set(xlim=(low, high), ylim=(low, high), aspect="equal")
            ax.set_title(f"{preset}: {stats['modes']}/{stats['max_modes']} modes, "
                         f"{stats['high_quality_pct']:.1f} % high quality", fontsize=9)
    fig.suptitle(f"{count:,} samples per model (blue) over the true modes (red x), seed {seed}", fontsize=10)
    fig.tight_layout()
    return _png(fig), rows


def _classifier(dataset: str):
    from zoo.metrics import get_extractor
    from zoo.metrics.classifier import for_dataset

    return get_extractor(for_dataset(dataset))


class StackedCounts:
    """Class counts of stacked-digit GANs, computed once per (preset content, samples, seed)."""

    def __init__(self, models: Models, cache: Cache):
        self.models = models
        self.cache = cache
        self._memory: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def counts(self, preset: str, samples: int, seed: int, progress=None) -> np.ndarray:
        """int64 ``[1000]``: how many of ``samples`` images (latents of ``seed``) fall in each class."""
        model = self.models.preset(preset)
        local = isinstance(model, LocalModel)
        key = (preset, preset_digest(preset) if local else getattr(model, "url", ""), int(samples), int(seed))
        with self._lock:  # one computation at a time: a second request for the same counts waits and reuses
            if key in self._memory:
                return self._memory[key]
            path = self.cache.file("diversity", f"{preset}-{key[1]}-{samples}-{seed}.npz") if local else None
            if path is not None and path.is_file():
                counts = np.load(path)["counts"]
            else:
                counts = self._measure(model, preset, int(samples), int(seed), progress)
                if path is not None:
                    partial = path.with_name(f".{path.name}.{os.getpid()}.npz")
                    np.savez_compressed(partial, counts=counts)
                    os.replace(partial, path)
            self._memory[key] = counts
            return counts

    def _measure(self, model, preset: str, samples: int, seed: int, progress) -> np.ndarray:
        from zoo.metrics import triplet_labels

        batch = min(BATCH, model.facts()["max_batch_size"] or BATCH)  # first: a server that is down says so now
        classifier = _classifier(evaluation(preset)["dataset"])
        z = _latents(model.prior(), samples, seed)
        counts = np.zeros(1000, np.int64)
        for start in range(0, samples, batch):
            if progress is not None:
                progress(start / samples, desc=f"{preset}: classifying {samples:,} samples")
            images = model.run("serving_default", {"z": z[start:start + batch]})["images"]
            channels = np.moveaxis(images, -1, 1).reshape(-1, *images.shape[1:3], 1)
            _, logits = classifier(channels)
            labels = triplet_labels(np.argmax(logits, axis=1).reshape(-1, 3))
            counts += np.bincount(labels, minlength=1000)
        return counts


def stacked_stats(preset: str, counts: np.ndarray) -> dict:
    """``{"modes", "max_modes", "kl"}`` of class ``counts`` against the preset's training classes."""
    from zoo import data
    from zoo.metrics import stacked_modes

    spec = data.spec(evaluation(preset)["dataset"])
    labels = np.repeat(np.arange(len(counts)), counts)
    return stacked_modes(labels, spec.class_probs)


def stacked_figure(title: str, rows: list[tuple[str, np.ndarray, dict]]) -> np.ndarray:
    """One panel per ``(preset, counts, stats)``: samples per class (bars) against the training law (line)."""
    from zoo import data

    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(10, 2.4 * len(rows) + 0.6), sharex=True, sharey=True)
    for ax, (preset, counts, stats) in zip(np.atleast_1d(axes), rows):
        expected = data.spec(evaluation(preset)["dataset"]).class_probs * counts.sum()
        classes = np.arange(len(counts))
        ax.bar(classes, counts, width=1.0, color="tab:blue", label="generated")
        ax.plot(classes, expected, color="tab:red", lw=0.8, label="training law")
        ax.set_ylabel("samples")
        ax.set_title(f"{preset}: {stats['modes']} of {stats['max_modes']} classes, KL {stats['kl']:.2f}",
                     fontsize=9)
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="upper right")
    np.atleast_1d(axes)[-1].set_xlabel("class 100 c0 + 10 c1 + c2 (the digits of the three channels)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _png(fig)
