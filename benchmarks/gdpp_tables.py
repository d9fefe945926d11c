"""GDPP paper, Table 7 (NDB/K at K = 100, 200, 300) and Table 3's IvO column, on real MNIST (``mnist_5k``).

    python benchmarks/gdpp_tables.py --runs runs/gdpp_tables --seeds 0 1                    # measure
    python benchmarks/gdpp_tables.py --runs runs/gdpp_tables --seeds 0 1 --train             # train what is missing
    python benchmarks/gdpp_tables.py --runs /tmp/smoke --seeds 0 --train --iterations 100 --samples 2000 --ivo-images 50

Rows: TRAIN (the 1,000 held-out test digits against the bins of the 4,000 training digits), then
each method of ``--methods`` per training seed, with the mean and standard deviation over seeds:

- DCGAN: recipe ``mnist_dcgan_normal`` (16-d normal prior, 32-wide nets, 3,000 steps, batch 64);
- GDPP-DCGAN: recipe ``mnist_gdpp_dcgan_normal``, the same generator, prior and steps with GDPP;
- WGAN-GP: recipe ``mnist_wgan_gp``; GDPP-WGAN-GP: ``mnist_gdpp_wgan_gp``, the same with GDPP (not in
  the paper's tables); a method whose recipe does not exist is reported as missing.

A method's run for seed S is ``RUNS/RECIPE_seedS`` (``python -m zoo train RECIPE --out
RUNS/RECIPE_seedS --set seed=S --set eval.enabled=false``; ``--train`` runs that for the missing
ones, resumably). A run without ``model.keras`` is reported as missing, never estimated.

Measures: NDB/K (``zoo.metrics.NDBBins``: K-means of the training pixels, seed 0, one set of bins per
K shared by every row; ``--samples`` generated images, the paper's 20,000, prior seed 0; level
0.05) and IvO (``zoo.metrics.ivo``: the first ``--ivo-images`` distinct test digits, 3 prior starts,
25 L-BFGS iterations, seed 0; MSE on [0, 1] pixels). Results are cached per run directory and
settings in ``RUNS/gdpp_tables.json``, so a rerun only measures new runs.

The power table: with n_1 = 4,000 training digits, K bins hold about 4,000 / K each; the smallest
change of a bin's share the z-test detects with 80 % power (``zoo.metrics.detectable_difference``)
against ``--samples`` generated images.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

# Paper Table 7 (NDB/K at K = 100, 200, 300; rows TRAIN, DCGAN, WGAN from Richardson & Weiss) and
# Table 3's IvO column (CIFAR-10, not MNIST: the paper has no MNIST IvO).
PAPER_NDB = {"TRAIN": (0.06, 0.04, 0.05), "DCGAN": (0.41, 0.38, 0.46), "WGAN-GP": (0.16, 0.20, 0.21),
             "GDPP-DCGAN": (0.11, 0.15, 0.12)}
PAPER_NDB_NOTE = {"WGAN-GP": "paper row 'WGAN'"}
PAPER_IVO = {"DCGAN": 0.0911, "WGAN-GP": 0.0891, "GDPP-DCGAN": 0.0883}
# GDPP-WGAN-GP is not a row of the paper's tables (its WGAN-GP + GDPP runs are on CelebA).
RECIPES = {"DCGAN": "mnist_dcgan_normal", "GDPP-DCGAN": "mnist_gdpp_dcgan_normal", "WGAN-GP": "mnist_wgan_gp",
           "GDPP-WGAN-GP": "mnist_gdpp_wgan_gp"}
DATASET = "mnist_5k"
BINS_SEED = 0
SAMPLE_SEED = 0


def run_dir(runs: pathlib.Path, method: str, seed: int) -> pathlib.Path:
    return runs / f"{RECIPES[method]}_seed{seed}"


def train_missing(method: str, seed: int, args) -> None:
    from training import config as config_lib
    from training import run as run_lib
    from training import rundir as rundir_lib

    overrides = [f"seed={seed}", "eval.enabled=false"]
    if args.iterations:
        overrides += ["train.epochs=1", f"train.steps_per_epoch={args.iterations}"]
    config = config_lib.resolve(RECIPES[method], overrides)
    path = run_dir(args.runs, method, seed)
    run_lib.train(config, path, resume=(path / rundir_lib.RUN_FILE).exists(), verbose=0)


def measure(samples_or_model, bins: dict, held_out, args, key: str, cache: dict) -> dict:
    """NDB/K at every K (and IvO for a model) of one row, from the cache when measured before."""
    from zoo.metrics import ivo

    if key in cache:
        return cache[key]
    started = time.perf_counter()
    if isinstance(samples_or_model, np.ndarray):
        samples, model = samples_or_model, None
    else:
        model = samples_or_model
        samples = model.generate(args.samples, seed=SAMPLE_SEED)
    row = {f"ndb_k{k}": binning.test(samples)["ndb_k"] for k, binning in bins.items()}
    if model is not None:
        row["ivo"] = ivo(model, held_out[: args.ivo_images], seed=SAMPLE_SEED)
    row["seconds"] = time.perf_counter() - started
    cache[key] = row
    return row


def power_table(bins: dict, n_train: int, n_samples: int) -> list[str]:
    from zoo.metrics import detectable_difference

    lines = [f"power: two-proportion z-test at 0.05, {n_train} training digits vs {n_samples} samples, 80 % power",
             f"{'K':>5s} {'train/bin':>10s} {'min':>5s} {'share':>8s} {'detectable -':>13s} {'+':>9s} "
             f"{'(relative)':>14s}"]
    for k, binning in bins.items():
        share = 1.0 / k
        lower, upper = detectable_difference(share, n_train, n_samples)
        lines.append(f"{k:5d} {n_train / k:10.1f} {int(binning.train_counts.min()):5d} {share:8.5f} "
                     f"{lower:13.5f} {upper:9.5f}   -{lower / share:4.0%} / +{upper / share:4.0%}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=pathlib.Path, required=True, help="directory of the RECIPE_seedS runs")
    parser.add_argument("--methods", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--bins", nargs="+", type=int, default=[100, 200, 300])
    parser.add_argument("--samples", type=int, default=20_000, help="generated images per model (paper 20,000)")
    parser.add_argument("--ivo-images", type=int, default=1000, help="held-out digits IvO fits (at most 1,000)")
    parser.add_argument("--train", action="store_true", help="train the missing runs (one at a time)")
    parser.add_argument("--iterations", type=int, help="with --train: steps per run (smoke runs)")
    args = parser.parse_args(argv)

    from zoo import data
    from zoo.metrics import NDBBins
    from zoo.models import load_file
    from training import config as config_lib

    train_images, _ = data.arrays(DATASET, split="train")
    held_out, _ = data.arrays(DATASET, split="test")
    args.runs.mkdir(parents=True, exist_ok=True)
    cache_file = args.runs / "gdpp_tables.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    settings = f"bins={args.bins} samples={args.samples} ivo_images={args.ivo_images}"
    bins = {k: NDBBins(train_images, k, seed=BINS_SEED) for k in args.bins}

    rows, missing = [], []
    rows.append(("TRAIN", "-", measure(held_out, bins, None, args, f"TRAIN {settings}", cache)))
    recipes = set(config_lib.recipe_names())
    for method in args.methods:
        if RECIPES[method] not in recipes:
            missing.append(f"{method}: recipe {RECIPES[method]} does not exist yet")
            continue
        for seed in args.seeds:
            path = run_dir(args.runs, method, seed)
            if not (path / "model.keras").is_file() and args.train:
                train_missing(method, seed, args)
            if not (path / "model.keras").is_file():
                missing.append(f"{method} seed {seed}: no {path / 'model.keras'} (python -m zoo train "
                               f"{RECIPES[method]} --out {path} --set seed={seed} --set eval.enabled=false)")
                continue
            key = f"{path.resolve()} {settings} mtime={(path / 'model.keras').stat().st_mtime_ns}"
            rows.append((method, seed, measure(load_file(path / "model.keras"), bins, held_out, args, key, cache)))
            cache_file.write_text(json.dumps(cache, indent=1))
    cache_file.write_text(json.dumps(cache, indent=1))

    names = [f"ndb_k{k}" for k in args.bins]
    print(f"GDPP Table 7 (NDB/K) and IvO on {DATASET}: {len(train_images)} training digits, {args.samples} samples "
          f"(TRAIN: the {len(held_out)} test digits), IvO on {min(args.ivo_images, len(held_out))} test digits")
    header = f"{'method':12s} {'seed':>5s} " + " ".join(f"{'K=' + str(k):>7s}" for k in args.bins) + f" {'IvO':>8s}"
    print(header)
    print("-" * len(header))

    def line(method, seed, values):
        cells = [f"{v:7.3f}" if isinstance(v, float) else f"{v:>7s}" for v in values[:-1]]
        last = values[-1]
        return f"{method:12s} {seed:>5s} " + " ".join(cells) + (f" {last:8.4f}" if isinstance(last, float) else f" {last:>8s}")

    for method in ["TRAIN", *args.methods]:
        mine = [(seed, row) for m, seed, row in rows if m == method]
        if not mine:
            print(f"{method:12s} missing (below)")
        for seed, row in mine:
            print(line(method, str(seed), [row[n] for n in names] + [row.get("ivo", "-")]))
        if len(mine) > 1:
            keys = names + (["ivo"] if method != "TRAIN" else [])
            stats = [{n: f(np.array([r[n] for _, r in mine])) for n in keys}
                     for f in (np.mean, lambda v: float(np.std(v, ddof=1)))]
            for label, values in zip(("mean", "std"), stats):
                print(line(method, label, [float(values[n]) for n in names] + [float(values.get("ivo", 0.0)) if method != "TRAIN" else "-"]))
        ndb = PAPER_NDB.get(method) if args.bins == [100, 200, 300] else None
        note = f" ({PAPER_NDB_NOTE[method]}; IvO on CIFAR-10)" if method in PAPER_NDB_NOTE else (
            " (IvO on CIFAR-10)" if method in PAPER_IVO else "")
        print(line("  paper", "", [*(ndb or ["-"] * len(names)), PAPER_IVO.get(method, "-")]) + note)
    for line in missing:
        print(f"missing: {line}")
    print()
    print("\n".join(power_table(bins, len(train_images), args.samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
