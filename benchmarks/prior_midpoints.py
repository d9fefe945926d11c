"""NP-prior paper's protocol on digits: a DCGAN per prior, digits-FID/IS at prior samples and at
mid-points of linear interpolations, next to the paper's CelebA table (papers.md 1.7).

    python benchmarks/prior_midpoints.py                                   # 5 priors, 5,000 iterations, 10k samples
    python benchmarks/prior_midpoints.py --priors uniform normal nonparametric --seeds 0 1 2
    python benchmarks/prior_midpoints.py --iterations 100 --samples 500    # smoke run

Each prior trains its recipe ``digits_dcgan_PRIOR`` (the presets' settings: carpedm20 DCGAN, latent
16, Adam 2e-4 / 0.5, batch 64, 2 generator steps per discriminator step, width 32; ``--set`` changes
any recipe key, e.g. ``--set model.latent_dim=100`` for the paper's latent size) for
``--iterations`` steps, then
``zoo.metrics.evaluate(..., ["digits-fid", "digits-is"], midpoint=True)`` measures digits-FID (the
zoo classifier's 128-d features; not comparable in scale with the paper's Inception FID on CelebA,
only the ratios and rankings are) at prior samples and at mid-points. Target: the non-parametric
prior has the smallest mid/prior FID ratio among uniform, normal and nonparametric, and the best or
near-best (within 5 %) mid-point FID.
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


def train_and_score(prior, seed, args):
    from training import run as run_lib
    from zoo.metrics import evaluate

    model, _, seconds = run_lib.fit_steps(f"digits_dcgan_{prior}", [f"seed={seed}", *args.set], args.iterations)
    report = evaluate(model, ["digits-fid", "digits-is"], samples=args.samples, seed=seed, midpoint=True)
    results = report["results"]
    return {
        "prior": prior, "seed": seed, "seconds": seconds,
        "is_prior": results["digits-IS"]["prior"], "is_mid": results["digits-IS"]["midpoint"],
        "fid_prior": results["digits-FID"]["prior"], "fid_mid": results["digits-FID"]["midpoint"],
    }


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
    args = parser.parse_args(argv)

    runs = []
    for prior in args.priors:
        for seed in args.seeds:
            runs.append(train_and_score(prior, seed, args))
            r = runs[-1]
            print(f"  {prior:13s} seed {seed}: digits-FID {r['fid_prior']:.2f} -> {r['fid_mid']:.2f} at mid-points "
                  f"({r['seconds']:.0f} s)", flush=True)

    print(f"\nDigits DCGAN (recipes digits_dcgan_PRIOR{''.join(' --set ' + pair for pair in args.set)}), "
          f"{args.iterations:,} iterations, {args.samples:,} samples per set, seeds {args.seeds}; "
          "paper: CelebA, Inception IS/FID")
    header = (f"{'prior':13s} {'IS prior':>9s} {'IS mid':>7s} {'FID prior':>10s} {'FID mid':>8s} {'mid/prior':>9s} | "
              f"{'paper IS':>8s} {'IS mid':>7s} {'FID':>7s} {'FID mid':>8s} {'mid/prior':>9s}")
    print(header)
    means = {}
    for prior in args.priors:
        mine = [r for r in runs if r["prior"] == prior]
        mean = means[prior] = {k: sum(r[k] for r in mine) / len(mine)
                               for k in ("is_prior", "is_mid", "fid_prior", "fid_mid")}
        p_is, p_is_mid, p_fid, p_fid_mid = PAPER_CELEBA[prior]
        print(f"{prior:13s} {mean['is_prior']:9.3f} {mean['is_mid']:7.3f} {mean['fid_prior']:10.2f} "
              f"{mean['fid_mid']:8.2f} {mean['fid_mid'] / mean['fid_prior']:9.3f} | "
              f"{p_is:8.3f} {p_is_mid:7.3f} {p_fid:7.2f} {p_fid_mid:8.2f} {p_fid_mid / p_fid:9.3f}")
    line = verdict(means)
    if line:
        print(line)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"settings": vars(args), "runs": runs}, handle, indent=2)


if __name__ == "__main__":
    main()
