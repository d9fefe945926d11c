"""The page: tabs Sample, Interpolate, Diversity and Card over the models' serving signatures.

Every form goes through a handler of :class:`Handlers` that checks its inputs and returns
``(picture or None, status text)``; a bad input, an unknown model, a refused request or a server
that does not answer becomes a readable status line, never a stack trace (unexpected errors are
logged to the terminal with their traceback and summarised on the page). Handlers take model
names and numbers, never paths. :func:`build` lays the page out with Gradio; the handlers do not
need Gradio, so they are tested without a browser too.

Seeds: the Sample tab draws image ``i`` with the stateless seed pair ``(seed, i)`` through the
``sample`` signature (``exports.client.write_grid`` uses the same seeds), so a seed gives the same
picture on every call and on every server. The Interpolate tab's end points are image 0 of the
seeds ``a`` and ``b`` (their latents come back from ``sample``); the path between them is computed
with :func:`zoo.latent.interpolate` and decoded by ``serving_default``.
"""

from __future__ import annotations

import functools
import logging
import math
import time

import numpy as np

from zoo.errors import ConfigError, ZooError

from demo import cards, diversity, pictures
from demo.backends import Models

log = logging.getLogger("demo")

MAX_SEED = 2**31 - 1  # seeds travel as int32
MAX_IMAGES = 4096  # when the server, not the export, sets the batch limit
MAX_STEPS = 64
PATHS = ("linear", "slerp", "matched")
PRIOR_TRIPLES = tuple(
    tuple(f"{family}_dcgan_{prior}" for prior in ("nonparametric", "normal", "uniform"))
    for family in ("digits", "mnist")
)


def whole_number(value, what: str, low: int, high: int, too_high: str | None = None) -> int:
    """``value`` as an int in ``[low, high]``, or a ConfigError saying what to enter.

    ``too_high``: the message for a number above ``high`` (``{}`` is replaced by the number).
    """
    wanted = f"enter a whole number from {low:,} to {high:,}"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"{what} is empty; {wanted}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {str(value)[:40]!r}; {wanted}") from None
    if not math.isfinite(number) or number != math.floor(number):
        raise ConfigError(f"{what} must be a whole number, got {value}; {wanted}")
    if number > high and too_high:
        raise ConfigError(too_high.replace("{}", f"{number:,.0f}"))
    if not low <= number <= high:
        raise ConfigError(f"{what} {number:,.0f} is out of range; {wanted}")
    return int(number)


def readable(error: BaseException) -> str:
    """A one-paragraph message for the page (the first lines of a server's long answer)."""
    text = " ".join(line.strip() for line in str(error).strip().splitlines()[:3]) or type(error).__name__
    return text if len(text) <= 600 else text[:597] + "..."


def guarded(outputs: int):
    """Decorate a handler returning ``outputs`` values, the last a status, so that it never raises."""

    def decorate(handler):
        @functools.wraps(handler)
        def run(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except ZooError as error:
                message = f"Error: {readable(error)}"
            except Exception as error:  # noqa: BLE001  (the page shows a summary; the terminal the traceback)
                log.exception("%s failed", handler.__name__)
                message = (f"Unexpected error ({type(error).__name__}): {readable(error)}. The terminal running "
                           "zoo demo has the details.")
            return (*([None] * (outputs - 1)), message)

        return run

    return decorate


class Handlers:
    """What each form does, on ``models``; ``modes_samples``: samples per stacked GAN (default: the card's)."""

    def __init__(self, models: Models, cache, *, modes_samples: int | None = None):
        self.models = models
        self.modes_samples = modes_samples
        self.counts = diversity.StackedCounts(models, cache)

    def _limit(self, facts) -> tuple[int, str]:
        if facts["max_batch_size"]:
            return facts["max_batch_size"], "this export's --max-batch-size"
        return MAX_IMAGES, "the page's limit"

    @guarded(2)
    def sample(self, model_name, seed, count):
        """``(grid uint8 [h, w, 3], status)`` of ``count`` images with seeds ``(seed, 0..count-1)``."""
        model = self.models.get(model_name)
        seed = whole_number(seed, "seed", 0, MAX_SEED)
        facts = model.facts()
        limit, why = self._limit(facts)
        count = whole_number(count, "count", 1, limit, "count {} is more than " + f"{model.name} serves in one "
                             f"request ({limit:,}, {why}); ask for at most {limit:,} images")
        seeds = np.stack([np.full(count, seed), np.arange(count)], axis=1).astype(np.int32)
        start = time.perf_counter()
        images = model.run("sample", {"seed": seeds})["images_uint8"]
        seconds = time.perf_counter() - start
        picture = pictures.grid(images)
        return picture, (f"{count:,} images of {model.name}, seeds ({seed}, 0) ... ({seed}, {count - 1}): "
                         f"{1000 * seconds:.0f} ms in the sample signature, {facts['where']}.")

    @guarded(2)
    def interpolate(self, model_names, seed_a, seed_b, steps, path):
        """``(strips, status)``: for each model the ``path`` from seed ``a``'s latent to seed ``b``'s."""
        if isinstance(model_names, str):
            model_names = [model_names]
        if not model_names:
            raise ConfigError("choose at least one model to interpolate")
        chosen = [self.models.get(name) for name in model_names]
        seed_a = whole_number(seed_a, "seed a", 0, MAX_SEED)
        seed_b = whole_number(seed_b, "seed b", 0, MAX_SEED)
        steps = whole_number(steps, "steps", 2, MAX_STEPS)
        if path not in PATHS:
            raise ConfigError(f"unknown path {str(path)[:40]!r}; choose one of {', '.join(PATHS)}")
        from zoo import latent

        rows = []
        for model in chosen:
            limit, why = self._limit(model.facts())
            if steps > limit:
                raise ConfigError(f"{steps} steps are more than {model.name} serves in one request ({limit}, {why})")
            z = model.run("sample", {"seed": np.array([[seed_a, 0], [seed_b, 0]], np.int32)})["z"]
            prior = model.prior() if path == "matched" else None
            points = latent.interpolate(z[0], z[1], steps, method=path, prior=prior)
            rows.append((model.name, model.run("serving_default", {"z": points})["images_uint8"]))
        middle = steps // 2 if steps % 2 else None
        note = ("the mid-point t = 1/2 is framed in red" if middle is not None else
                "no image sits at t = 1/2 with an even number of steps; choose an odd number to frame the mid-point")
        return pictures.strips(rows, middle), (
            f"{path} path in {steps} steps from seed ({seed_a}, 0) to seed ({seed_b}, 0) for "
            f"{', '.join(model.name for model in chosen)}; {note}.")

    @guarded(2)
    def mixtures(self, seed):
        """``(figure, status)``: ring and grid GAN vs GDPP-GAN samples over the true modes."""
        seed = whole_number(seed, "seed", 0, MAX_SEED)
        picture, rows = diversity.mixture_figure(seed)
        parts = []
        for row in rows:
            card = row["card"]
            known = f" (card: {card['modes']:.0f}, {card['high_quality_pct']:.1f} %)" if card else ""
            parts.append(f"{row['preset']}: {row['modes']}/{row['max_modes']} modes, "
                         f"{row['high_quality_pct']:.1f} % high quality{known}")
        return picture, f"{rows[0]['samples']:,} samples each, seed {seed}. " + "; ".join(parts) + "."

    @guarded(2)
    def stacked(self, pair, progress=None):
        """``(histograms, status)``: the 1,000-class histograms of a stacked GAN and its GDPP-GAN."""
        import zoo.presets

        if pair not in diversity.STACKED:
            raise ConfigError(f"unknown data set {str(pair)[:60]!r}; choose one of {', '.join(diversity.STACKED)}")
        rows, parts = [], []
        for preset in diversity.STACKED[pair]:
            settings = diversity.evaluation(preset)
            samples = int(self.modes_samples or settings["samples"])
            seed = int(settings.get("seed", 0))
            counts = self.counts.counts(preset, samples, seed, progress)
            stats = diversity.stacked_stats(preset, counts)
            rows.append((preset, counts, stats))
            card = zoo.presets.card(preset).get("metrics", {})
            known = (f" (card: {card['modes']:.0f}, KL {card['kl']:.2f})"
                     if samples == settings["samples"] and "modes" in card else "")
            parts.append(f"{preset}: {stats['modes']} of 1,000 classes, KL {stats['kl']:.2f}{known}")
        title = f"{pair}: {samples:,} samples per model, seed {seed}"
        return diversity.stacked_figure(title, rows), f"{title}. " + "; ".join(parts) + "."

    def card_names(self) -> list[str]:
        """The Card tab's choices: the listed models, then the Diversity tab's presets."""
        import zoo.presets

        shipped = set(zoo.presets.presets())
        extra = [p for pair in (*diversity.MIXTURES.values(), *diversity.STACKED.values()) for p in pair]
        return self.models.names + [p for p in extra if p in shipped and p not in self.models.names]

    @guarded(1)
    def card(self, name):
        """The card of ``name`` as Markdown (with the export's facts for a listed model)."""
        import zoo.presets

        if name not in self.card_names():
            raise ConfigError(f"unknown model {str(name)[:80]!r}; choose one of {', '.join(self.card_names())}")
        if name in self.models.names:
            model = self.models.get(name)
            card = zoo.presets.card(model.preset) if model.preset is not None else {}
            return (cards.card_markdown(name, card, model.facts()),)
        return (cards.card_markdown(name, zoo.presets.card(name)),)


def _default_triple(names: list[str]) -> list[str]:
    """The first family of same-recipe, different-prior DCGANs among ``names`` (as many as are listed)."""
    for triple in PRIOR_TRIPLES:
        present = [name for name in triple if name in names]
        if present:
            return present
    return names[:1]


INTRO = """\
# latent-zoo

Generative models whose latent space behaves: the **non-parametric prior** (Singh et al., ICML 2019),
whose interpolation mid-points look like samples, and the **GDPP** loss (Elfeki et al., ICML 2019)
against mode collapse (the Diversity tab shows where it helps and where it does not). Every image
comes from the models' serving signatures, {where}.
"""


def build(handlers: Handlers, *, where: str):
    """The Gradio page (a ``gr.Blocks``) over ``handlers``; ``where``: what serves the models, for the intro."""
    import gradio as gr

    names = handlers.models.names
    status = functools.partial(gr.Textbox, label="Status", interactive=False, lines=2, max_lines=6)
    picture = functools.partial(gr.Image, type="numpy", format="png", interactive=False,
                                buttons=["download", "fullscreen"])
    with gr.Blocks(title="latent-zoo demo", analytics_enabled=False) as page:
        gr.Markdown(INTRO.format(where=where))
        with gr.Tabs():
            with gr.Tab("Sample", id="sample"):
                with gr.Row():
                    model = gr.Dropdown(names, value=names[0], label="Model", allow_custom_value=True,
                                        elem_id="sample-model")
                    seed = gr.Number(0, label="Seed", info="image i uses the seed pair (seed, i)",
                                     elem_id="sample-seed")
                    count = gr.Number(64, label="Count", info="images in the grid", elem_id="sample-count")
                run = gr.Button("Sample", variant="primary", elem_id="sample-run")
                out_status = status(elem_id="sample-status")
                out_image = picture(label="Samples", elem_id="sample-image")
                run.click(handlers.sample, [model, seed, count], [out_image, out_status])

            with gr.Tab("Interpolate", id="interpolate"):
                gr.Markdown("The same two seeds for every model; with the non-parametric prior the framed "
                            "mid-point of a straight line should look like any other sample.")
                with gr.Row():
                    chosen = gr.CheckboxGroup(names, value=_default_triple(names), label="Models",
                                              elem_id="interpolate-models")
                with gr.Row():
                    seed_a = gr.Number(1, label="Seed a", elem_id="interpolate-seed-a")
                    seed_b = gr.Number(2, label="Seed b", elem_id="interpolate-seed-b")
                    steps = gr.Number(9, label="Steps", info="odd: the mid-point is framed",
                                      elem_id="interpolate-steps")
                    path = gr.Radio(list(PATHS), value="linear", label="Path", elem_id="interpolate-path")
                run = gr.Button("Interpolate", variant="primary", elem_id="interpolate-run")
                out_status = status(elem_id="interpolate-status")
                out_image = picture(label="Paths", elem_id="interpolate-image")
                run.click(handlers.interpolate, [chosen, seed_a, seed_b, steps, path], [out_image, out_status])

            with gr.Tab("Diversity", id="diversity"):
                gr.Markdown("GAN next to GDPP-GAN, and the WGAN-GP baseline without and with GDPP, drawn as the "
                            "presets' cards measured them. **Ring and grid**: the 2-D GANs run in this process "
                            "with Keras (no export serves points).")
                mix_seed = gr.Number(0, label="Seed", info="0 is the cards' seed", elem_id="mixtures-seed")
                run = gr.Button("Draw ring and grid", variant="primary", elem_id="mixtures-run")
                out_status = status(elem_id="mixtures-status")
                out_image = picture(label="Ring and grid", elem_id="mixtures-image")
                run.click(handlers.mixtures, [mix_seed], [out_image, out_status])
                gr.Markdown("**Stacked digits**: three digits, one per colour channel, make 1,000 classes; "
                            "each image's class is read by the zoo's digit classifier. Counted once, then cached.")
                pair = gr.Dropdown(list(diversity.STACKED), value=next(iter(diversity.STACKED)), label="Data",
                                   elem_id="stacked-pair")
                run = gr.Button("Count the classes", variant="primary", elem_id="stacked-run")
                out_status = status(elem_id="stacked-status")
                out_image = picture(label="Classes", elem_id="stacked-image")

                def stacked(pair, progress=gr.Progress()):
                    return handlers.stacked(pair, progress)

                run.click(stacked, [pair], [out_image, out_status])

            with gr.Tab("Card", id="card"):
                card_names = handlers.card_names()
                card_model = gr.Dropdown(card_names, value=card_names[0], label="Model", elem_id="card-model")
                card_text = gr.Markdown(elem_id="card-text")
                card_model.change(lambda name: handlers.card(name)[0], [card_model], [card_text])
                page.load(lambda name: handlers.card(name)[0], [card_model], [card_text])
    return page
