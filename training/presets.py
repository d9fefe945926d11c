"""Build the zoo's shipped presets: train each with its recipe, measure it, write weights + card.

``PRESETS`` is the table of what ships: a recipe from ``training/recipes``, the ``--set`` overrides
that fit its training into a CPU budget (recorded on the card, so the card says what was really
trained), the evaluation settings (``zoo.metrics.evaluate`` arguments: fixed seed and sample count,
so a test can re-measure the card from the shipped weights) and the paper's corresponding numbers.

    python -m training.presets build [--only NAME ...] [--out DIR] [--runs DIR]
    python -m training.presets measure [--only NAME ...] [--out DIR]   # re-measure cards, no training
    python -m training.presets list
    python -m training.presets targets [--out DIR]     # the issue's targets, checked on the cards
    python -m training.presets score-authors-protocol [--only NAME ...]   # no training, see below
    python -m training.presets recalibrate --only NAME ...   # prior batch-norm statistics, no training

``build`` trains the presets one after another, smallest first, and writes each as soon as it is
measured, so an interrupted build keeps every preset it finished.

Stacked presets (``authors_protocol``) are measured twice, on the same latents: with the zoo's
evaluation (``evaluation``: moving batch-norm statistics, as ``generate`` samples) and with the GDPP
authors' (``evaluation_authors_protocol``: batch statistics in calls of 64 latents), written as
``metrics`` and ``metrics_authors_protocol``. ``score-authors-protocol`` (re-)measures the second
from a written preset's weights, without training. A card also records how the generator's batch-norm
statistics were re-estimated on prior samples after training (``batch_norm_statistics``; recipes
that train on per-slot latents).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import sys
import time

from zoo.errors import ConfigError
from zoo.files import atomic_write

#: Where the shipped presets live (package data of ``zoo.presets``).
SHIPPED_DIR = pathlib.Path(__file__).resolve().parent.parent / "zoo" / "presets" / "data"
DEFAULT_RUNS = pathlib.Path("runs") / "presets"

_GDPP = "GDPP (Elfeki et al. 2019)"
_NP = "Non-parametric prior (Singh et al. 2019)"


@dataclasses.dataclass(frozen=True)
class PresetSpec:
    """One shipped preset: how it is trained, how it is measured, what the paper reports.

    ``evaluation`` holds keyword arguments of ``zoo.metrics.evaluate`` (``dataset``, ``samples``,
    ``seed``, ``metrics``, ``midpoint``); ``paper`` maps a card metric (``results`` key, with
    ``/prior`` or ``/midpoint`` where it has both) to ``{"value", "source"}``; ``spread``: the key
    card metrics whose spread over the sample seeds :data:`SPREAD_SEEDS` the card records.
    """

    name: str
    recipe: str
    description: str
    evaluation: dict
    overrides: tuple[str, ...] = ()
    why_overrides: str = ""
    paper: dict = dataclasses.field(default_factory=dict)
    spread: tuple[str, ...] = ()
    #: Also measure under the GDPP authors' evaluation protocol (stacked presets; module docstring).
    authors_protocol: bool = False

    def authors_evaluation(self) -> dict:
        """``evaluation`` under the GDPP authors' protocol: batch statistics in calls of 64 latents."""
        return {**self.evaluation, "batch_norm": "batch", "batch_norm_batch_size": 64}


#: The sample seeds a card's spread is measured over (seed 0 is the card's own evaluation).
SPREAD_SEEDS = (0, 1, 2, 3, 4)


# Stacked digits: the paper's 15,000 iterations, with 32-wide nets (the digits recipes' CPU width)
# for both the GAN and the GDPP-GAN so the comparison stays fair.
_STACKED = ("model.options.width=32",)
_STACKED_WHY = "32-wide networks instead of 64 (CPU build budget; the digits recipes' width)"


# Grid: 50,000 iterations for the GAN and the GDPP-GAN alike. At the paper's 25,000 our GDPP-GAN has
# every mode but is still sharpening them (25 modes, 35.0% high quality; 40k: 69.4%, 50k: 77.0%).
_GRID = ("train.epochs=50",)
_GRID_WHY = ("50,000 iterations instead of the paper's 25,000: at 25k the grid GDPP-GAN has all 25 modes "
             "but only 35.0% high quality (still sharpening); the GAN gets the same budget")


# The mnist WGAN-GP presets are the seed-0 runs of the Table 7 comparison (benchmarks/gdpp_tables.py),
# trained like the DCGAN runs they are compared with: without deterministic ops.
_TABLE7 = ("train.deterministic=false",)
_TABLE7_WHY = ("trained without deterministic ops: the seed-0 run of the GDPP Table 7 comparison "
               "(benchmarks/gdpp_tables.py), measured as a preset without retraining")


# Stacked-MNIST (mnist_5k): the zoo's N(0, 0.02) initialiser. The recipes use the GDPP authors'
# (tflib's He/Glorot uniform, issue 36's faithful second attempt), which found fewer modes on seed 0
# (GAN 711, GDPP-GAN 713 against 745 and 761; docs/results.md), so the presets keep the better one.
_STACKED_MNIST = (*_STACKED, "model.options.initializer=dcgan_normal")
_STACKED_MNIST_WHY = (f"{_STACKED_WHY}; the zoo's N(0, 0.02) initialiser instead of the recipe's GDPP-authors' "
                      "tflib initialisers, which found fewer modes on seed 0 (GAN 711 / GDPP-GAN 713 against "
                      "745 / 761, issue 36)")


_MODES_SPREAD = ("modes", "high_quality_pct")
_STACKED_SPREAD = ("modes", "kl")


def _fid_spread(family: str) -> tuple[str, ...]:
    return tuple(f"{family}-FID/{part}" for part in ("prior", "midpoint", "ratio"))


def _vae_spread(family: str) -> tuple[str, ...]:
    return (f"{family}-FID/prior", "reconstruction-mse")


def _synthetic_eval(dataset: str) -> dict:
    # The GDPP protocol: 2,500 samples, modes with a high-quality sample, % within 3 std.
    return {"dataset": dataset, "metrics": ["modes"], "samples": 2500, "seed": 0, "midpoint": False}


def _ring_grid_paper(dataset: str, method: str) -> dict:
    """Table 1's row of ``method`` ("GAN", "GDPP-GAN", "WGAN-GP") on ``dataset``; the paper has no
    GDPP on WGAN-GP row there (its WGAN-GP + GDPP runs are CelebA), so that preset has no reference."""
    table = {("ring", "GAN"): (1, 99.3), ("ring", "GDPP-GAN"): (8.0, 71.7), ("ring", "WGAN-GP"): (6.8, 59.6),
             ("grid", "GAN"): (3.3, 0.5), ("grid", "GDPP-GAN"): (24.8, 68.5), ("grid", "WGAN-GP"): (24.2, 28.7)}
    if (dataset, method) not in table:
        return {}
    modes, hq = table[(dataset, method)]
    source = f"{_GDPP} Table 1, {method} row (mean of 5 runs, 25k iterations)"
    return {"modes": {"value": modes, "source": source}, "high_quality_pct": {"value": hq, "source": source}}


def _wgan_gp_pair(name: str, recipe: str, data: str, baseline: str, absent: str, evaluation: dict,
                  paper, spread: tuple[str, ...], **options) -> tuple[PresetSpec, PresetSpec]:
    """The WGAN-GP and GDPP-on-WGAN-GP presets ``NAME_wgan_gp`` and ``NAME_gdpp_wgan_gp`` of the recipes
    ``RECIPE_wgan_gp`` and ``RECIPE_gdpp_wgan_gp`` (their own settings, no overrides). ``baseline`` and
    ``absent`` end the descriptions (where the paper has the WGAN-GP row, that it has no GDPP one);
    ``paper(method)``: the paper's numbers for "WGAN-GP" and "GDPP-WGAN-GP"."""
    return (
        PresetSpec(f"{name}_wgan_gp", f"{recipe}_wgan_gp", f"WGAN-GP on {data} ({baseline})", evaluation,
                   paper=paper("WGAN-GP"), spread=spread, **options),
        PresetSpec(f"{name}_gdpp_wgan_gp", f"{recipe}_gdpp_wgan_gp", f"GDPP on WGAN-GP on {data} ({absent})",
                   evaluation, paper=paper("GDPP-WGAN-GP"), spread=spread, **options),
    )


def _mixture_wgan_gp(dataset: str, data: str) -> tuple[PresetSpec, PresetSpec]:
    return _wgan_gp_pair(dataset, dataset, data, "GDPP Table 1 baseline; the paper's 25,000 iterations",
                         "GDPP Table 1: not a row there; the paper's 25,000 iterations", _synthetic_eval(dataset),
                         lambda method: _ring_grid_paper(dataset, method), _MODES_SPREAD)


# 10,000 samples per set (prior and mid-point): at 2,000 the FID's sampling noise was of the size of the
# differences between priors.
_DIGITS_EVAL = {"dataset": "digits", "metrics": ["digits-fid", "precision-recall", "density-coverage"],
                "samples": 10_000, "seed": 0, "midpoint": True}
_VAE_EVAL = {"dataset": "digits",
             "metrics": ["digits-fid", "precision-recall", "density-coverage", "reconstruction", "posterior-kl"],
             "samples": 10_000, "seed": 0, "midpoint": True}
# 26,000 samples: the GDPP Stacked-MNIST protocol.
_STACKED_EVAL = {"dataset": "stacked_digits", "metrics": ["modes"], "samples": 26000, "seed": 0, "midpoint": False}


_MNIST_EVAL = {"dataset": "mnist_5k", "metrics": ["mnist-fid", "precision-recall", "density-coverage"], "samples": 10_000, "seed": 0,
               "midpoint": True}
_MNIST_VAE_EVAL = {**_MNIST_EVAL, "metrics": ["mnist-fid", "precision-recall", "density-coverage", "reconstruction", "posterior-kl"]}
_STACKED_MNIST_EVAL = {**_STACKED_EVAL, "dataset": "stacked_mnist_5k"}
_STACKED_MNIST_DATA = "stacked mnist_5k digits"


def _celeba_paper(prior: str, family: str = "digits") -> dict:
    fid = {"uniform": (24.055, 40.371), "normal": (26.173, 42.136), "nonparametric": (17.735, 19.115)}[prior]
    source = f"{_NP} slides, CelebA FID ({prior} prior); the zoo measures {family}-FID, so compare ratios"
    return {
        f"{family}-FID/prior": {"value": fid[0], "source": source},
        f"{family}-FID/midpoint": {"value": fid[1], "source": source},
        f"{family}-FID/ratio": {"value": round(fid[1] / fid[0], 3), "source": source},
    }


def _stacked_paper(method: str, data: str = "stacked 8x8 sklearn digits") -> dict:
    """Table 3's Stacked-MNIST row of ``method`` ("DCGAN", "GDPP-GAN", "WGAN-GP"); GDPP on WGAN-GP is
    not a row there (the paper adds it only on CelebA), so that preset has no reference."""
    table = {"DCGAN": (427, 3.163), "GDPP-GAN": (1000, 0.135), "WGAN-GP": (995, 0.148)}
    if method not in table:
        return {}
    modes, kl = table[method]
    source = f"{_GDPP} Table 3, Stacked-MNIST {method} (the zoo: {data})"
    return {"modes": {"value": modes, "source": source}, "kl": {"value": kl, "source": source}}


def _vae_paper(gdpp: bool, data: str = "digits") -> dict:
    modes, kl = (623, 1.328) if gdpp else (341, 2.409)
    source = (f"{_GDPP} Table 3, Stacked-MNIST {'GDPP-VAE' if gdpp else 'VAE'} modes/KL: no {data} "
              "reconstruction/KL in the paper, shown for reference only")
    return {"paper-stacked-modes": {"value": modes, "source": source},
            "paper-stacked-kl": {"value": kl, "source": source}}


PRESETS: tuple[PresetSpec, ...] = (
    PresetSpec("ring_gan", "ring_gan", "GAN on 8 Gaussians on a ring (GDPP Table 1 baseline)",
               _synthetic_eval("ring"), paper=_ring_grid_paper("ring", "GAN"), spread=_MODES_SPREAD),
    PresetSpec("ring_gdpp_gan", "ring_gdpp", "GDPP-GAN on 8 Gaussians on a ring (GDPP Table 1)",
               _synthetic_eval("ring"), paper=_ring_grid_paper("ring", "GDPP-GAN"), spread=_MODES_SPREAD),
    *_mixture_wgan_gp("ring", "8 Gaussians on a ring"),
    PresetSpec("grid_gan", "grid_gan", "GAN on 25 Gaussians on a grid (GDPP Table 1 baseline)",
               _synthetic_eval("grid"), _GRID, _GRID_WHY, _ring_grid_paper("grid", "GAN"), _MODES_SPREAD),
    PresetSpec("grid_gdpp_gan", "grid_gdpp", "GDPP-GAN on 25 Gaussians on a grid (GDPP Table 1)",
               _synthetic_eval("grid"), _GRID, _GRID_WHY, _ring_grid_paper("grid", "GDPP-GAN"), _MODES_SPREAD),
    *_mixture_wgan_gp("grid", "25 Gaussians on a grid"),
    PresetSpec("digits_dcgan_uniform", "digits_dcgan_uniform", "DCGAN on 28x28 digits, uniform prior",
               _DIGITS_EVAL, paper=_celeba_paper("uniform"), spread=_fid_spread("digits")),
    PresetSpec("digits_dcgan_normal", "digits_dcgan_normal", "DCGAN on 28x28 digits, normal prior",
               _DIGITS_EVAL, paper=_celeba_paper("normal"), spread=_fid_spread("digits")),
    PresetSpec("digits_dcgan_nonparametric", "digits_dcgan_nonparametric",
               "DCGAN on 28x28 digits, non-parametric prior",
               _DIGITS_EVAL, paper=_celeba_paper("nonparametric"), spread=_fid_spread("digits")),
    PresetSpec("digits_gdpp_dcgan_nonparametric", "digits_gdpp_dcgan_nonparametric",
               "GDPP-DCGAN on 28x28 digits, non-parametric prior", _DIGITS_EVAL,
               paper=_celeba_paper("nonparametric"), spread=_fid_spread("digits")),
    PresetSpec("digits_vae", "digits_vae", "VAE on 28x28 digits, normal prior", _VAE_EVAL,
               paper=_vae_paper(False), spread=_vae_spread("digits")),
    PresetSpec("digits_gdpp_vae", "digits_gdpp_vae", "GDPP-VAE on 28x28 digits (DPP weight 100)", _VAE_EVAL,
               paper=_vae_paper(True), spread=_vae_spread("digits")),
    PresetSpec("stacked_digits_gan", "stacked_digits_gan", "DCGAN on stacked RGB digits, 1000 modes",
               _STACKED_EVAL, _STACKED, _STACKED_WHY, _stacked_paper("DCGAN"), _STACKED_SPREAD, authors_protocol=True),
    PresetSpec("stacked_digits_gdpp_gan", "stacked_digits_gdpp", "GDPP-GAN on stacked RGB digits, 1000 modes",
               _STACKED_EVAL, _STACKED, _STACKED_WHY, _stacked_paper("GDPP-GAN"), _STACKED_SPREAD, authors_protocol=True),
    *(PresetSpec(f"mnist_dcgan_{prior}", f"mnist_dcgan_{prior}", f"DCGAN on real MNIST digits, {prior} prior",
                 _MNIST_EVAL, paper=_celeba_paper(prior, "mnist"), spread=_fid_spread("mnist"))
      for prior in ("uniform", "normal", "nonparametric")),
    PresetSpec("mnist_wgan_gp", "mnist_wgan_gp", "WGAN-GP on real MNIST digits, normal prior (GDPP Tables 3 and 7 baseline)",
               _MNIST_EVAL, _TABLE7, _TABLE7_WHY, spread=_fid_spread("mnist")),
    PresetSpec("mnist_gdpp_wgan_gp", "mnist_gdpp_wgan_gp", "GDPP on WGAN-GP on real MNIST digits, normal prior",
               _MNIST_EVAL, _TABLE7, _TABLE7_WHY, spread=_fid_spread("mnist")),
    PresetSpec("mnist_vae", "mnist_vae", "VAE on real MNIST digits, normal prior", _MNIST_VAE_EVAL,
               paper=_vae_paper(False, "MNIST"), spread=_vae_spread("mnist")),
    PresetSpec("mnist_gdpp_vae", "mnist_gdpp_vae", "GDPP-VAE on real MNIST digits (DPP weight 100)", _MNIST_VAE_EVAL,
               paper=_vae_paper(True, "MNIST"), spread=_vae_spread("mnist")),
    PresetSpec("stacked_mnist_gan", "stacked_mnist_5k_gan", "DCGAN on Stacked-MNIST (real MNIST digits), 1000 modes",
               _STACKED_MNIST_EVAL, _STACKED_MNIST, _STACKED_MNIST_WHY, _stacked_paper("DCGAN", _STACKED_MNIST_DATA),
               _STACKED_SPREAD, authors_protocol=True),
    PresetSpec("stacked_mnist_gdpp_gan", "stacked_mnist_5k_gdpp",
               "GDPP-GAN on Stacked-MNIST (real MNIST digits), 1000 modes",
               _STACKED_MNIST_EVAL, _STACKED_MNIST, _STACKED_MNIST_WHY, _stacked_paper("GDPP-GAN", _STACKED_MNIST_DATA),
               _STACKED_SPREAD, authors_protocol=True),
    # The recipes' own settings (32 wide, the zoo's N(0, 0.02) initialiser): no overrides.
    *_wgan_gp_pair("stacked_mnist", "stacked_mnist_5k", "Stacked-MNIST (real MNIST digits), 1000 modes",
                   "GDPP Table 3 baseline", "not a row of GDPP Table 3", _STACKED_MNIST_EVAL,
                   lambda method: _stacked_paper(method, _STACKED_MNIST_DATA), _STACKED_SPREAD, authors_protocol=True),
)


def spec(name: str) -> PresetSpec:
    for entry in PRESETS:
        if entry.name == name:
            return entry
    import difflib

    names = [entry.name for entry in PRESETS]
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"no preset spec {name!r}.{hint} Known: {', '.join(names)}.")


def resolved_config(entry: PresetSpec, extra: tuple[str, ...] = ()) -> dict:
    """The recipe with the spec's overrides, then ``extra`` ones; the run's own evaluation is off
    (the builder measures)."""
    from training import config as config_lib

    # Presets are built with deterministic ops, so a rebuild reproduces its card.
    return config_lib.resolve(entry.recipe, ["train.deterministic=true", *entry.overrides, *extra, "eval.enabled=false"])


def versions() -> dict:
    from importlib import metadata

    import numpy

    import zoo

    found = {"python": platform.python_version(), "latent-zoo": zoo.__version__, "numpy": numpy.__version__}
    for package in ("tensorflow", "keras", "tensorflow-probability"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.machine()} {platform.system()}, {cpus} CPU cores, no GPU" if not _gpus() else \
        f"{platform.machine()} {platform.system()}, {cpus} CPU cores, GPU: {', '.join(_gpus())}"


def _gpus() -> list[str]:
    from zoo._tf import tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def measure(model, evaluation: dict) -> dict:
    """``zoo.metrics.evaluate(model, **evaluation)``: the card's metrics, re-measurable from the weights."""
    from zoo import metrics as zoo_metrics

    return zoo_metrics.evaluate(model, **evaluation)


def _spread_metrics(entry: PresetSpec) -> list[str]:
    """The evaluation metrics that give ``entry.spread``'s values (``mnist-FID/prior`` -> ``mnist-fid``,
    ``reconstruction-mse`` -> ``reconstruction``, ``kl`` -> ``modes``), so the extra seeds measure only those."""
    wanted = {name.split("/")[0].split("-")[0] for name in entry.spread}
    return [metric for metric in entry.evaluation["metrics"]
            if metric.split("-")[0] in wanted or (metric == "modes" and wanted & {"modes", "kl", "high_quality_pct"})]


def measure_spread(model, entry: PresetSpec, report: dict | None = None) -> dict:
    """The spread of ``entry.spread`` over the sample seeds :data:`SPREAD_SEEDS`: ``{"sample_seeds",
    "metrics": {name: {"values", "mean", "std"}}}`` (std with ddof 1). ``report``: the card's own
    evaluation (its seed's values are taken from it instead of measured again); the other seeds
    measure only the metrics the spread needs."""
    import numpy as np

    values = {name: [] for name in entry.spread}
    for seed in SPREAD_SEEDS:
        if report is not None and seed == entry.evaluation["seed"]:
            measured = report
        else:
            measured = measure(model, {**entry.evaluation, "seed": seed, "metrics": _spread_metrics(entry)})
        flat = flat_results(measured["results"])
        for name in entry.spread:
            values[name].append(float(flat[name]))
    return {
        "sample_seeds": list(SPREAD_SEEDS),
        "metrics": {name: {"values": v, "mean": float(np.mean(v)), "std": float(np.std(v, ddof=1))}
                    for name, v in values.items()},
    }


def card_measurements(model, entry: PresetSpec) -> dict:
    """The card's measured fields: ``evaluation``, ``evaluation_seconds``, ``results``, ``metrics``
    and ``spread``."""
    started = time.perf_counter()
    report = measure(model, entry.evaluation)
    seconds = time.perf_counter() - started
    return {
        "evaluation": dict(entry.evaluation),
        "evaluation_seconds": round(seconds, 1),
        "results": report["results"],
        "metrics": flat_results(report["results"]),
        "spread": measure_spread(model, entry, report),
    }


def remeasure(entry: PresetSpec, out: pathlib.Path) -> pathlib.Path:
    """Measure the preset in ``out/<name>`` again from its weights with the spec's evaluation and
    rewrite only its card's measured fields (the weights are not touched); returns the card path."""
    from zoo import presets as zoo_presets

    directory = out / entry.name
    card = zoo_presets.card(directory)
    card.update(card_measurements(zoo_presets.load(directory), entry),
                measured=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = directory / zoo_presets.CARD_FILE
    atomic_write(path, json.dumps(card, indent=2, sort_keys=True) + "\n")
    return path


def flat_results(results: dict) -> dict[str, float]:
    """``{"digits-FID": {"prior": a, "midpoint": b, "ratio": c}}`` -> ``{"digits-FID/prior": a, ...}``;
    single values (``{"value": v}``, or a prior-only metric) keep the bare name."""
    flat = {}
    for name, entry in results.items():
        if set(entry) == {"value"}:
            flat[name] = entry["value"]
        elif entry.get("midpoint") is None:
            flat[name] = entry["prior"]
        else:
            flat.update({f"{name}/{part}": entry[part] for part in ("prior", "midpoint", "ratio") if part in entry})
    return flat


def build(entry: PresetSpec, out: pathlib.Path, runs: pathlib.Path, *, extra: tuple[str, ...] = (),
          verbose=0, resume: bool = False) -> pathlib.Path:
    """Train, measure and write one preset to ``out/<name>``; returns the preset directory.

    ``extra``: ``--set`` overrides applied after the spec's (recorded on the card). ``resume``: carry
    on the preset's run directory from its last checkpoint (a finished run is only measured) instead
    of training from scratch, so a build cut off by a session's end loses at most one epoch."""
    from zoo import presets as zoo_presets
    from zoo._tf import tf  # noqa: F401

    import keras

    from training import run as run_lib

    config = resolved_config(entry, tuple(extra))
    run_dir = runs / entry.name
    resume = resume and (run_dir / run_lib.rundir_lib.RUN_FILE).exists()
    result = run_lib.train(config, run_dir, resume=resume, overwrite=not resume, verbose=verbose,
                           command=[sys.executable, "-m", "training.presets", "build", "--only", entry.name,
                                    *(f"--set={pair}" for pair in extra)])
    model = keras.saving.load_model(result.path / run_lib.rundir_lib.MODEL_FILE, compile=False)
    card = {
        "name": entry.name,
        "description": entry.description,
        "model": type(model).__name__,
        "prior": model.prior.kind,
        "recipe": entry.recipe,
        "overrides": [*entry.overrides, *extra],
        "overrides_reason": entry.why_overrides or None,
        "seed": config["seed"],
        "config": config,
        "steps": int(result.history[-1]["step"]) if result.history else 0,
        "wall_time_s": round(result.training_seconds, 1),
        "machine": machine(),
        "built": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        **card_measurements(model, entry),
        "paper": entry.paper,
        "command": " ".join(["python -m training.presets build --only", entry.name,
                             *(f"--set {pair}" for pair in extra)]),
        "batch_norm_statistics": _batch_norm_note(result.batch_norm),
        **authors_protocol_fields(model, entry),
    }
    return zoo_presets.save_to_preset(model, out / entry.name, card, overwrite=True)


def _batch_norm_note(recalibration: dict | None) -> str:
    if recalibration is None:
        return "as training left them (moving averages over the training batches)"
    return (f"re-estimated after training on {recalibration['batches']} batches of {recalibration['batch_size']} "
            f"prior samples (seed {recalibration['seed']}): the generator trained on per-slot latents, so "
            "generate and the moving-statistics evaluation use prior statistics")


def authors_protocol_fields(model, entry: PresetSpec) -> dict:
    """The card fields of the GDPP authors' evaluation protocol (``{}`` unless ``entry.authors_protocol``)."""
    if not entry.authors_protocol:
        return {}
    report = measure(model, entry.authors_evaluation())
    return {"evaluation_authors_protocol": entry.authors_evaluation(),
            "results_authors_protocol": report["results"],
            "metrics_authors_protocol": flat_results(report["results"])}


def score_authors_protocol(name: str, out: pathlib.Path) -> dict:
    """Measure the authors' protocol on the written preset ``out/name`` from its weights (no training)
    and add it to its card; returns the card."""
    from zoo import presets as zoo_presets

    entry = spec(name)
    if not entry.authors_protocol:
        raise ConfigError(f"{name} is not a stacked preset: its spec does not measure the authors' protocol.")
    directory = out / name
    if not (directory / zoo_presets.CARD_FILE).is_file():
        raise ConfigError(f"{directory} has no card.json: build the preset first.")
    card = zoo_presets.card(directory)
    card.update(authors_protocol_fields(zoo_presets.load(directory), entry))
    atomic_write(directory / zoo_presets.CARD_FILE, json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def recalibrate(name: str, out: pathlib.Path) -> dict:
    """Re-estimate the generator's batch-norm statistics of the written preset ``out/name`` on prior
    samples, as :func:`build` does after training since issue 36 (``recalibrate_if_off_prior``, same
    batches and the card's seed), then re-measure and rewrite its card and weights; no training.

    For presets trained on per-slot latents and written before the builder re-estimated their
    statistics (their card has no ``batch_norm_statistics``). Returns the card.
    """
    from zoo import presets as zoo_presets

    from training import run as run_lib

    entry = spec(name)
    directory = out / name
    if not (directory / zoo_presets.CARD_FILE).is_file():
        raise ConfigError(f"{directory} has no card.json: build the preset first.")
    card = zoo_presets.card(directory)
    if card.get("batch_norm_statistics"):
        raise ConfigError(f"{name}'s card already records its batch-norm statistics "
                          f"({card['batch_norm_statistics'][:60]}...): rebuild it instead.")
    model = zoo_presets.load(directory)
    recalibration = run_lib.recalibrate_if_off_prior(model, card["config"])
    if recalibration is None:
        raise ConfigError(f"{name} trained on its prior (no training_noise): its moving statistics already "
                          "are prior statistics, nothing to re-estimate.")
    card.update(card_measurements(model, entry), **authors_protocol_fields(model, entry),
                batch_norm_statistics=_batch_norm_note(recalibration) + " (re-estimated on the shipped weights "
                f"by `python -m training.presets recalibrate --only {name}`, "
                f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d})")
    zoo_presets.save_to_preset(model, directory, card, overwrite=True)
    return card


# ---- the targets, checked on the written cards ------------------------------------------

def targets(cards: dict[str, dict]) -> list[tuple[str, bool | None, str]]:
    """``(target, met, measured)`` per target of the pretrained-zoo issue; ``met`` is None when a
    card it needs is missing."""

    def metric(name, key):
        return cards[name]["metrics"].get(key) if name in cards else None

    checks = []
    for name, dataset, modes, hq in (("ring_gdpp_gan", "ring", 8, 71.7), ("grid_gdpp_gan", "grid", 25, 68.5)):
        m, h = metric(name, "modes"), metric(name, "high_quality_pct")
        met = None if m is None else (m >= modes and h >= hq)
        checks.append((f"{dataset} GDPP-GAN: all {modes} modes, %HQ >= {hq}", met,
                       "missing" if m is None else f"{m} modes, {h:.1f}% HQ"))
    for data, label in (("stacked_digits", "stacked digits"), ("stacked_mnist", "Stacked-MNIST (mnist_5k)")):
        gan, gdpp = f"{data}_gan", f"{data}_gdpp_gan"
        for metrics, protocol in (("metrics", ""), ("metrics_authors_protocol", ", the GDPP authors' evaluation")):
            def stacked(name, key):
                return cards[name].get(metrics, {}).get(key) if name in cards else None

            g_modes, g_kl = stacked(gan, "modes"), stacked(gan, "kl")
            d_modes, d_kl = stacked(gdpp, "modes"), stacked(gdpp, "kl")
            missing = None in (g_modes, d_modes)
            checks.append((f"{label} GDPP-GAN: more modes and lower KL than the GAN{protocol}",
                           None if missing else (d_modes > g_modes and d_kl < g_kl),
                           "missing" if missing else
                           f"GDPP {d_modes} modes KL {d_kl:.3f} vs GAN {g_modes} modes KL {g_kl:.3f}"))
    for data, bound in (("digits", 1.15), ("mnist", 1.10)):
        ratios = {p: metric(f"{data}_dcgan_{p}", f"{data}-FID/ratio") for p in ("nonparametric", "normal", "uniform")}
        missing = None in ratios.values()
        met = None if missing else (ratios["nonparametric"] <= bound and ratios["normal"] > ratios["nonparametric"]
                                    and ratios["uniform"] > ratios["nonparametric"])
        checks.append((f"{data} non-parametric prior: mid-point/prior FID <= {bound}, normal and uniform degrade more",
                       met, "missing" if missing else ", ".join(f"{p} {r:.3f}" for p, r in ratios.items())))
    return checks


#: The README's zoo table compares the presets of a group with each other (same data and model family).
README_GROUPS = (
    ("ring_gan", "ring_gdpp_gan", "ring_wgan_gp", "ring_gdpp_wgan_gp"),
    ("grid_gan", "grid_gdpp_gan", "grid_wgan_gp", "grid_gdpp_wgan_gp"),
    ("digits_dcgan_uniform", "digits_dcgan_normal", "digits_dcgan_nonparametric", "digits_gdpp_dcgan_nonparametric"),
    ("digits_vae", "digits_gdpp_vae"), ("stacked_digits_gan", "stacked_digits_gdpp_gan"),
    ("mnist_dcgan_uniform", "mnist_dcgan_normal", "mnist_dcgan_nonparametric"), ("mnist_wgan_gp", "mnist_gdpp_wgan_gp"),
    ("mnist_vae", "mnist_gdpp_vae"),
    ("stacked_mnist_gan", "stacked_mnist_gdpp_gan", "stacked_mnist_wgan_gp", "stacked_mnist_gdpp_wgan_gp"),
)
_DATA_LABELS = {"ring": "8 Gaussians on a ring", "grid": "25 Gaussians on a grid", "digits": "digits, 28 px",
                "stacked_digits": "stacked digits, 1,000 modes", "mnist_5k": "real MNIST, 28 px",
                "stacked_mnist_5k": "Stacked-MNIST (real digits), 1,000 modes"}
# +1: higher is better, -1: lower is better; a ratio has no better side, so it is never bold.
_BETTER = {"modes": 1, "high_quality_pct": 1, "kl": -1, "reconstruction-mse": -1, "prior": -1, "midpoint": -1}


def _better(key: str) -> int | None:
    return _BETTER.get(key.split("/")[-1])


def _metric_label(keys) -> str:
    if keys[0].endswith("/prior") and len(keys) == 3:
        return f"{keys[0].split('/')[0]} prior / mid-point (ratio)"
    return " / ".join(key.replace("/prior", "").replace("high_quality_pct", "% high quality").replace("kl", "KL")
                      .replace("reconstruction-mse", "reconstruction MSE") for key in keys)


def _bold_keys(name: str, cards: dict[str, dict]) -> set[str]:
    """The headline keys where ``name``'s card beats every other card of its group by more than two
    standard deviations (the larger of the two spreads over sample seeds)."""
    group = next((g for g in README_GROUPS if name in g), (name,))
    others = [cards[other] for other in group if other != name and other in cards]
    spread = cards[name].get("spread", {}).get("metrics", {})
    bold = set()
    for key, mine in spread.items():
        sign = _better(key)
        if sign is None or not others:
            continue
        if all(key in other.get("spread", {}).get("metrics", {}) and
               sign * (mine["mean"] - other["spread"]["metrics"][key]["mean"])
               > 2 * max(mine["std"], other["spread"]["metrics"][key]["std"]) for other in others):
            bold.add(key)
    return bold


def _table_number(value) -> str:
    """A table value with four significant digits (three below 1): 741, 168.5, 25.3, 1.144, 0.0191."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}" if abs(value) >= 1 else f"{value:.3g}"


def _cell(value, std=None, bold=False) -> str:
    text = _table_number(value) + ("" if std is None else f" ± {std:.2g}")
    return f"**{text}**" if bold else text


def markdown_table(cards: dict[str, dict]) -> str:
    """The README's zoo table from the cards: per preset its key metrics (the card's own seed) ± their
    standard deviation over the sample seeds of the card's ``spread``, the paper's number beside. A
    value is bold only where it beats every other preset of its group (:data:`README_GROUPS`) by more
    than two standard deviations; ratios are never bold."""
    lines = ["| preset | data | key metric | zoo | paper |", "|---|---|---|---|---|"]
    for name, card in cards.items():
        if "spread" not in card:
            raise ConfigError(f"the card of {name} has no spread: measure it first "
                              f"(python -m training.presets measure --only {name}).")
        keys, spread, bold = list(spec(name).spread), card["spread"]["metrics"], _bold_keys(name, cards)
        zoo = [_cell(card["metrics"][key], None if key.endswith("/ratio") else spread[key]["std"], key in bold)
               for key in keys]
        paper = card.get("paper", {})
        reference = [_table_number(paper[key]["value"]) if key in paper else "-" for key in keys]
        has_paper = any(key in paper for key in keys)
        if keys[0].endswith("/prior") and len(keys) == 3:
            zoo = [f"{zoo[0]} / {zoo[1]} ({zoo[2]})"]
            reference = [f"{reference[0]} / {reference[1]} ({reference[2]})"]
        sources = " ".join(entry.get("source", "") for key, entry in paper.items() if key in keys)
        where = ", CelebA" if "CelebA" in sources else ", MNIST" if card["evaluation"]["dataset"] == "stacked_digits" else ""
        paper_cell = " / ".join(reference) + where if has_paper else "-"
        data = _DATA_LABELS.get(card["evaluation"]["dataset"], card["evaluation"]["dataset"])
        lines.append(f"| `{name}` | {data} | {_metric_label(keys)} | {' / '.join(zoo)} | {paper_cell} |")
    return "\n".join(lines)


def read_cards(directory: pathlib.Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(directory.glob("*/card.json"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.presets", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="train, measure and write presets (smallest first)")
    build_parser.add_argument("--only", nargs="+", metavar="NAME", help="build only these presets")
    build_parser.add_argument("--out", type=pathlib.Path, default=SHIPPED_DIR,
                              help="where the preset directories go (default: the shipped package data)")
    build_parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                              help="a further recipe override for every preset built (recorded on the card)")
    build_parser.add_argument("--resume", action="store_true",
                              help="continue each preset's run directory from its last checkpoint instead of "
                                   "retraining (a finished run is only measured and written)")
    build_parser.add_argument("--runs", type=pathlib.Path, default=DEFAULT_RUNS,
                              help="run directories of the training runs (default: %(default)s)")
    measure_parser = commands.add_parser(
        "measure", help="measure the written presets again (evaluation and spread over sample seeds), no training")
    measure_parser.add_argument("--only", nargs="+", metavar="NAME", help="measure only these presets")
    measure_parser.add_argument("--out", type=pathlib.Path, default=SHIPPED_DIR,
                                help="where the preset directories are (default: the shipped package data)")
    commands.add_parser("list", help="the preset table: name, recipe, overrides")
    for command, help_text in (("targets", "check the issue's targets on the written cards"),
                               ("table", "print the README's markdown table of the written cards")):
        commands.add_parser(command, help=help_text).add_argument("--out", type=pathlib.Path, default=SHIPPED_DIR)
    authors = commands.add_parser("score-authors-protocol",
                                  help="measure the GDPP authors' evaluation protocol on written stacked presets "
                                       "from their weights and add it to their cards (no training)")
    authors.add_argument("--only", nargs="+", metavar="NAME", help="these presets (default: every stacked one)")
    authors.add_argument("--out", type=pathlib.Path, default=SHIPPED_DIR)
    recalibrate_parser = commands.add_parser(
        "recalibrate", help="re-estimate written presets' generator batch-norm statistics on prior samples and "
                            "re-measure their cards (presets trained on per-slot latents; no training)")
    recalibrate_parser.add_argument("--only", nargs="+", metavar="NAME", required=True, help="these presets")
    recalibrate_parser.add_argument("--out", type=pathlib.Path, default=SHIPPED_DIR)
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for entry in PRESETS:
                print(f"{entry.name:<34} {entry.recipe:<34} {' '.join(entry.overrides) or '-'}")
        elif args.command == "targets":
            results = targets(read_cards(args.out))
            for target, met, measured in results:
                print(f"[{ {True: 'met', False: 'NOT MET', None: 'missing'}[met] }] {target}: {measured}")
        elif args.command == "score-authors-protocol":
            names = args.only or [entry.name for entry in PRESETS if entry.authors_protocol]
            for name in names:
                card = score_authors_protocol(name, args.out)
                print(f"{name}: moving statistics {card['metrics']}, authors' protocol "
                      f"{card['metrics_authors_protocol']}", flush=True)
        elif args.command == "recalibrate":
            for name in args.only:
                card = recalibrate(name, args.out)
                print(f"{name}: moving statistics {card['metrics']}, authors' protocol "
                      f"{card.get('metrics_authors_protocol')}", flush=True)
        elif args.command == "measure":
            for entry in [spec(name) for name in args.only] if args.only else list(PRESETS):
                started = time.perf_counter()
                path = remeasure(entry, args.out)
                spread = json.loads(path.read_text())["spread"]["metrics"]
                print(f"{entry.name}: " + ", ".join(f"{k} {v['mean']:.4g} ± {v['std']:.2g}" for k, v in spread.items())
                      + f" ({time.perf_counter() - started:.0f} s)", flush=True)
        elif args.command == "table":
            cards = read_cards(args.out)
            order = [entry.name for entry in PRESETS if entry.name in cards]
            print(markdown_table({name: cards[name] for name in order}))
        else:
            chosen = [spec(name) for name in args.only] if args.only else list(PRESETS)
            for entry in chosen:
                started = time.perf_counter()
                path = build(entry, args.out, args.runs, extra=tuple(args.extra), resume=args.resume)
                card = json.loads((path / "card.json").read_text())
                print(f"{entry.name}: {card['metrics']} ({time.perf_counter() - started:.0f} s) -> {path}", flush=True)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
