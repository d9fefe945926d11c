"""GDPP paper, Table 1 (ring and grid): GAN, GDPP-GAN and WGAN-GP, modes and % high quality.

    python benchmarks/gdpp_synthetic.py                          # paper settings: 25,000 iterations, 5 seeds
    python benchmarks/gdpp_synthetic.py --iterations 300 --seeds 0   # smoke run (minutes on a laptop CPU)
    python benchmarks/gdpp_synthetic.py --datasets grid --methods GDPP-GAN --iterations 50000 --probe-every 5000
    python benchmarks/gdpp_synthetic.py --methods WGAN-GP GDPP-WGAN-GP --seeds 0 1 --runs runs/gdpp_synth

``--runs DIR`` trains each run as a ``zoo train`` run directory ``DIR/RECIPE_seedS`` (checkpointed
every 1,000 iterations, so a rerun of the same command resumes an interrupted run and only scores a
finished one); without it a run trains in memory. WGAN-GP (recipes ``ring_wgan_gp``, ``grid_wgan_gp``:
the GDPP synthetic networks, critic without sigmoid, gradient penalty 0.1 (Gulrajani et al.'s toy-data
weight), 5 critic updates of 512 points per generator iteration, Adam 1e-4 (0.5, 0.9)) is the paper's
third Table 1 row; GDPP-WGAN-GP (``*_gdpp_wgan_gp``, GDPP weight 1 on the critic's features) is not
in the paper's Table 1 and has no reference. An iteration is one generator update (with its 5 critic
updates for the WGAN-GPs).

Paper settings (papers.md 2.4/2.6), trained through the recipes ``ring_gan``, ``ring_gdpp``,
``grid_gan``, ``grid_gdpp`` (the GDPP synthetic GAN: MLP 128 tanh, z 256 N(0, I), Adam D 1e-4 / G
1e-3, beta_1 0.5, GDPP weight 1), batch 512, 25,000 iterations, evaluated on 2,500 samples: nearest
centre, high quality within 3 std, modes = centres with at least one high-quality sample
(``zoo.metrics.synthetic_modes``), averaged over 5 seeds. The ring has 8 distinct centres unless
``--official-centres`` (the official code's 7). Target: all modes on both sets, % high quality above
the paper's.
"""

from __future__ import annotations

import argparse
import json
import pathlib

# Paper Table 1: (modes, % high quality).
PAPER = {
    ("ring", "GAN"): (1.0, 99.3),
    ("ring", "GDPP-GAN"): (8.0, 71.7),
    ("grid", "GAN"): (3.3, 0.5),
    ("grid", "GDPP-GAN"): (24.8, 68.5),
    ("ring", "WGAN-GP"): (6.8, 59.6),
    ("grid", "WGAN-GP"): (24.2, 28.7),
}
METHODS = ("GAN", "GDPP-GAN", "WGAN-GP", "GDPP-WGAN-GP")
# Method -> recipe name suffix (training/recipes/{ring,grid}_*.json; GDPP weight 1, the paper's).
RECIPE_SUFFIX = {"GAN": "gan", "GDPP-GAN": "gdpp", "WGAN-GP": "wgan_gp", "GDPP-WGAN-GP": "gdpp_wgan_gp"}
# Iterations per checkpointed epoch of a --runs run directory.
EPOCH = 1_000
# (dataset, official 7-centre ring) -> the number of distinct centres.
MAX_MODES = {("ring", False): 8, ("ring", True): 7, ("grid", False): 25, ("grid", True): 25}


def train_and_score(dataset, method, seed, args):
    import keras

    from training import run as run_lib
    from zoo.metrics import evaluate

    # The recipes (ring_gan, ring_gdpp, grid_gan, grid_gdpp) seed the weights, the data and the prior
    # and turn on deterministic ops, so a seed's row reproduces; seed 0 at the recipe's length is the
    # shipped preset.
    options = {"official_centres": True} if args.official_centres and dataset == "ring" else {}
    recipe = f"{dataset}_{RECIPE_SUFFIX[method]}"
    overrides = [f"seed={seed}", *batch_override(recipe, args.batch_size),
                 *(f"data.options.{key}={json.dumps(value)}" for key, value in options.items()), *args.set]
    def score(model):
        results = evaluate(model, ["modes"], dataset=dataset, data_options=options, samples=args.samples,
                           seed=seed)["results"]
        return int(results["modes"]["prior"]), results["high_quality_pct"]["prior"]

    trajectory = []  # [iteration, modes, % HQ] every --probe-every iterations

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if args.probe_every and (batch + 1) % args.probe_every == 0 and batch + 1 < args.iterations:
                trajectory.append([batch + 1, *score(self.model)])

    if args.runs:
        model, seconds = train_in_run_directory(recipe, overrides, seed, args)
    else:
        model, _, seconds = run_lib.fit_steps(recipe, overrides, args.iterations, callbacks=[Probe()])
    modes, quality = score(model)
    trajectory.append([args.iterations, modes, quality])
    return {
        "dataset": dataset, "method": method, "seed": seed, "seconds": seconds,
        "modes": modes, "high_quality_pct": quality, "trajectory": trajectory,
    }


def batch_override(recipe: str, batch_size: int | None) -> list[str]:
    """``--batch-size`` as a recipe override: the points of one update, so a WGAN-GP's fit batch (one
    real minibatch per critic update) is ``critic_steps`` times it; none when not given."""
    if batch_size is None:
        return []
    from training import config as config_lib

    model = config_lib.resolve(recipe, [])["model"]
    critic_steps = model["options"].get("critic_steps", 5) if "wgan_gp" in model["kind"] else 1
    return [f"data.batch_size={critic_steps * batch_size}"]


def train_in_run_directory(recipe: str, overrides: list[str], seed: int, args):
    """Train (or resume, or only load when finished) ``RUNS/RECIPE_seedS``; returns ``(model, seconds)``
    with the training time over every invocation."""
    import keras

    from training import config as config_lib
    from training import rundir as rundir_lib
    from training import run as run_lib

    epochs, rest = divmod(args.iterations, EPOCH)
    length = ([f"train.epochs={epochs}", f"train.steps_per_epoch={EPOCH}"] if not rest
              else ["train.epochs=1", f"train.steps_per_epoch={args.iterations}"])
    config = config_lib.resolve(recipe, ["train.deterministic=true", *overrides, "eval.enabled=false", *length])
    path = args.runs / f"{recipe}_seed{seed}"
    record = path / rundir_lib.RUN_FILE
    if record.exists() and json.loads(record.read_text()).get("status") == "completed":
        history = json.loads((path / "history.json").read_text())
        seconds = sum(row["seconds"] for row in history)
    else:
        seconds = run_lib.train(config, path, resume=record.exists(), verbose=0).training_seconds
    return keras.saving.load_model(path / rundir_lib.MODEL_FILE, compile=False), seconds


def target_met(runs: list[dict], dataset: str, official_centres: bool = False) -> bool:
    """The issue's target on one dataset's GDPP-GAN runs: every seed finds all modes and the mean
    % high quality is above the paper's."""
    all_modes = min(r["modes"] for r in runs) == MAX_MODES[(dataset, official_centres)]
    quality = sum(r["high_quality_pct"] for r in runs) / len(runs)
    return all_modes and quality > PAPER[(dataset, "GDPP-GAN")][1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--iterations", type=int, default=25_000)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="points per update (default: the recipes', 512; a WGAN-GP's critic update each)")
    parser.add_argument("--samples", type=int, default=2_500)
    parser.add_argument("--official-centres", action="store_true", help="the official code's 7-centre ring")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe override for every run, as `zoo train --set` takes it")
    parser.add_argument("--probe-every", type=int, default=0, metavar="N",
                        help="also score modes / %%HQ every N iterations (the training trajectory; 0: off)")
    parser.add_argument("--json", help="write every run's numbers here")
    parser.add_argument("--runs", type=pathlib.Path, metavar="DIR",
                        help="train each run as a resumable run directory DIR/RECIPE_seedS (see above)")
    args = parser.parse_args(argv)
    if args.probe_every < 0 or args.iterations < 1:
        parser.error("--probe-every must be >= 0 and --iterations >= 1")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    if args.runs and args.probe_every:
        parser.error("--probe-every scores inside one training call: it does not combine with --runs")

    runs = []
    for dataset in args.datasets:
        for method in args.methods:
            for seed in args.seeds:
                runs.append(train_and_score(dataset, method, seed, args))
                r = runs[-1]
                print(f"  {dataset} {method:8s} seed {seed}: {r['modes']} modes, {r['high_quality_pct']:.1f}% HQ "
                      f"({r['seconds']:.0f} s)", flush=True)
                if args.probe_every:
                    print("    every {:,} iterations, modes / %HQ: ".format(args.probe_every)
                          + ", ".join(f"{m} / {q:.1f}" for _, m, q in r["trajectory"]), flush=True)

    print(f"\nGDPP Table 1, {args.iterations:,} iterations, batch {args.batch_size or 'of the recipes (512)'}, "
          f"{args.samples:,} samples, "
          f"seeds {args.seeds}")
    print(f"{'dataset':8s} {'method':12s} {'modes (ours)':>10s} {'paper':>6s} {'%HQ (ours)':>11s} {'paper':>6s}  "
          "per-seed modes / %HQ")
    verdicts = []  # (dataset, GDPP-GAN target met)
    for dataset in args.datasets:
        for method in args.methods:
            mine = [r for r in runs if r["dataset"] == dataset and r["method"] == method]
            modes = sum(r["modes"] for r in mine) / len(mine)
            quality = sum(r["high_quality_pct"] for r in mine) / len(mine)
            paper_modes, paper_quality = (f"{value:6.1f}" for value in PAPER[(dataset, method)]) \
                if (dataset, method) in PAPER else ("     -", "     -")
            print(f"{dataset:8s} {method:12s} {modes:10.1f} {paper_modes} {quality:11.1f} {paper_quality}  "
                  f"{[r['modes'] for r in mine]} / {[round(r['high_quality_pct'], 1) for r in mine]}")
            if method == "GDPP-GAN":
                verdicts.append((dataset, target_met(mine, dataset, args.official_centres)))
    for dataset, met in verdicts:
        print(f"target ({dataset}: every seed finds all modes, mean %HQ above the paper's): "
              f"{'met' if met else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"settings": vars(args), "runs": runs}, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
