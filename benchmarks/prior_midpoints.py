"""NP-prior paper's protocol on digits: a DCGAN per prior, digits-FID/IS at prior samples and at
mid-points of linear interpolations, next to the paper's CelebA table (papers.md 1.7).

    python benchmarks/prior_midpoints.py                                   # 5 priors, 5,000 iterations, 10k samples
    python benchmarks/prior_midpoints.py --priors uniform normal nonparametric --seeds 0 1 2
    python benchmarks/prior_midpoints.py --iterations 100 --samples 500    # smoke run
    python benchmarks/prior_midpoints.py --priors uniform normal nonparametric --matched --presets
    python benchmarks/prior_midpoints.py --dataset mnist_5k --matched      # another one-channel set

Each prior trains its recipe ``digits_dcgan_PRIOR`` (the presets' settings: carpedm20 DCGAN, latent
16, Adam 2e-4 / 0.5, batch 64, 2 generator steps per discriminator step, width 32; ``--set`` changes
any recipe key, e.g. ``--set model.latent_dim=100`` for the paper's latent size) for
``--iterations`` steps, then
``zoo.metrics.evaluate(..., ["digits-fid", "digits-is"], midpoint=True)`` measures digits-FID (the
zoo classifier's 128-d features; not comparable in scale with the paper's Inception FID on CelebA,
only the ratios and rankings are) at prior samples and at mid-points. Target: the non-parametric
prior has the smallest mid/prior FID ratio among uniform, normal and nonparametric, and the best or
near-best (within 5 %) mid-point FID.

``--matched`` adds a row per i.i.d. prior with *matched* mid-points (``zoo.latent.midpoint(...,
method="matched")``, Agustsson et al. 2019: the same pairs, moved back onto the prior) on the same
trained generator, so the table answers: retrain with the non-parametric prior, or match the path?
``--presets`` scores the shipped presets ``digits_dcgan_PRIOR`` (1,000 steps each) or, with
``--dataset mnist_5k``, ``mnist_dcgan_PRIOR`` (3,000 steps) instead of training. ``--dataset
mnist_5k`` trains the real-MNIST recipes ``mnist_dcgan_PRIOR`` and scores mnist-FID/IS (the zoo's
MNIST classifier); another one-channel ``zoo.data`` set trains the digits recipes with
``--set data.name=DATASET`` and scores against it.
"""

from __future__ import annotations

import argparse
import json

# The paper's CelebA numbers: (IS prior, IS mid, FID prior, FID mid).
PAPER_CELEBA = {
    "uniform": (1.843, 1.369, 24.055, 40.371),
    "normal": (1.805, 1.371, 26.173, 42.136),
    "gamma": (1.776, 1.618, 29.912, 28.608),
    "cauchy": (1.625, 1.628, 59.601, 60.128),
    "nonparametric": (1.933, 1.681, 17.735, 19.115),
}


MATCHED_PRIORS = ("uniform", "normal", "cauchy", "nonparametric")  # the i.i.d. ones
# Dataset -> the recipe (and preset) prefix trained on it; other one-channel sets train the digits
# recipes with data.name replaced.
RECIPE_PREFIX = {"digits": "digits_dcgan", "mnist_5k": "mnist_dcgan"}


def recipe_prefix(dataset: str) -> str:
    return RECIPE_PREFIX.get(dataset, "digits_dcgan")


def family(dataset: str) -> str:
    """The digit classifier whose features score ``dataset``: ``digits`` or ``mnist``."""
    from zoo.metrics.classifier import for_dataset

    return for_dataset(dataset)


def trained_model(prior, seed, args):
    """``(model, seconds)``: the recipe trained for ``--iterations``, or the shipped preset."""
    if args.presets:
        import zoo.presets

        return zoo.presets.load(f"{recipe_prefix(args.dataset)}_{prior}"), 0.0
    from training import run as run_lib

    data = [] if args.dataset in RECIPE_PREFIX else [f"data.name={args.dataset}"]
    model, _, seconds = run_lib.fit_steps(f"{recipe_prefix(args.dataset)}_{prior}", [f"seed={seed}", *data, *args.set],
                                          args.iterations)
    return model, seconds


def train_and_score(prior, seed, args) -> list[dict]:
    """One row per mid-point method (linear; matched with ``--matched``), all on one generator."""
    from zoo.metrics import evaluate

    model, seconds = trained_model(prior, seed, args)
    methods = ["linear", "matched"] if args.matched and prior in MATCHED_PRIORS else ["linear"]
    rows = []
    name = family(args.dataset)
    for method in methods:
        report = evaluate(model, [f"{name}-fid", f"{name}-is"], samples=args.samples, seed=seed, midpoint=True,
                          midpoint_method=method, dataset=args.dataset)
        results = report["results"]
        rows.append({
            "prior": prior, "method": method, "seed": seed, "seconds": seconds,
            "is_prior": results[f"{name}-IS"]["prior"], "is_mid": results[f"{name}-IS"]["midpoint"],
            "fid_prior": results[f"{name}-FID"]["prior"], "fid_mid": results[f"{name}-FID"]["midpoint"],
        })
    return rows


def verdict(means: dict) -> str | None:
    """The target, on per-prior mean FIDs; None when uniform, normal or nonparametric is missing."""
    compared = ("uniform", "normal", "nonparametric")
    if not all(prior in means for prior in compared):
        return None
    ratio = {prior: means[prior]["fid_mid"] / means[prior]["fid_prior"] for prior in compared}
    smallest = min(ratio, key=ratio.get) == "nonparametric"
    best_mid = min(means[prior]["fid_mid"] for prior in compared)
    near_best = means["nonparametric"]["fid_mid"] <= 1.05 * best_mid
    return (f"target (nonparametric: smallest mid/prior ratio, best or near-best mid-point FID): "
            f"ratio {'smallest' if smallest else 'NOT smallest'} "
            f"({', '.join(f'{p} {r:.3f}' for p, r in ratio.items())}); mid-point FID "
            f"{'best or near-best' if near_best else 'NOT near-best'}: {'met' if smallest and near_best else 'NOT met'}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--priors", nargs="+", default=list(PAPER_CELEBA), choices=list(PAPER_CELEBA))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--iterations", type=int, default=5_000)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe override, as zoo train --set (repeatable)")
    parser.add_argument("--json", help="write every run's numbers here")
    parser.add_argument("--matched", action="store_true",
                        help="also score matched mid-points (uniform, normal, cauchy, nonparametric) on the same generators")
    parser.add_argument("--presets", action="store_true",
                        help="score the shipped presets (digits_dcgan_PRIOR, mnist_dcgan_PRIOR) instead of training (--iterations, --set, "
                             "--dataset and --seeds other than the sample seed do not apply)")
    parser.add_argument("--dataset", default="digits",
                        help="one-channel zoo.data set to train on and score against (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.presets:
        missing = [p for p in args.priors if p not in ("uniform", "normal", "nonparametric")]
        if missing or args.dataset not in RECIPE_PREFIX or args.set:
            parser.error("--presets exists for the uniform, normal and nonparametric priors on digits and mnist_5k, "
                         f"without --set (got priors {args.priors}, dataset {args.dataset}, --set {args.set})")

    runs = []
    for prior in args.priors:
        for seed in args.seeds:
            for r in train_and_score(prior, seed, args):
                runs.append(r)
                print(f"  {prior:13s} seed {seed}: {family(args.dataset)}-FID {r['fid_prior']:.2f} -> {r['fid_mid']:.2f} at "
                      f"{r['method']} mid-points ({r['seconds']:.0f} s)", flush=True)

    prefix = recipe_prefix(args.dataset)
    source = (f"shipped presets {prefix}_PRIOR" if args.presets else
              f"recipes {prefix}_PRIOR{''.join(' --set ' + pair for pair in args.set)}, "
              f"{args.iterations:,} iterations")
    print(f"\nDCGAN on {args.dataset} ({source}), {args.samples:,} samples per set, seeds {args.seeds}; "
          "paper: CelebA, Inception IS/FID, linear mid-points")
    header = (f"{'prior':13s} {'mid-point':9s} {'IS prior':>9s} {'IS mid':>7s} {'FID prior':>10s} {'FID mid':>8s} "
              f"{'mid/prior':>9s} | {'paper IS':>8s} {'IS mid':>7s} {'FID':>7s} {'FID mid':>8s} {'mid/prior':>9s}")
    print(header)
    means = {}
    for prior in args.priors:
        for method in ("linear", "matched"):
            mine = [r for r in runs if r["prior"] == prior and r["method"] == method]
            if not mine:
                continue
            mean = {k: sum(r[k] for r in mine) / len(mine) for k in ("is_prior", "is_mid", "fid_prior", "fid_mid")}
            paper = ""
            if method == "linear":
                means[prior] = mean
                p_is, p_is_mid, p_fid, p_fid_mid = PAPER_CELEBA[prior]
                paper = f"{p_is:8.3f} {p_is_mid:7.3f} {p_fid:7.2f} {p_fid_mid:8.2f} {p_fid_mid / p_fid:9.3f}"
            print(f"{prior:13s} {method:9s} {mean['is_prior']:9.3f} {mean['is_mid']:7.3f} {mean['fid_prior']:10.2f} "
                  f"{mean['fid_mid']:8.2f} {mean['fid_mid'] / mean['fid_prior']:9.3f} | {paper}")
    line = verdict(means)
    if line:
        print(line)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"settings": vars(args), "runs": runs}, handle, indent=2)


if __name__ == "__main__":
    main()
