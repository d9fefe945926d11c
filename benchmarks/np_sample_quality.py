"""Why is the non-parametric prior's generator worse at prior samples? Three measurements.

    python benchmarks/np_sample_quality.py coordinates                      # the priors alone, no model
    python benchmarks/np_sample_quality.py strata --runs-dir runs/prior_sweep --seeds 0 1 2 3 4
    python benchmarks/np_sample_quality.py recall --runs-dir runs/prior_sweep --seeds 0 1 2 3 4
    python benchmarks/np_sample_quality.py scale --iterations 300           # two short deterministic runs

``coordinates``: how many latent coordinates a prior sample really uses. The participation ratio
``PR(z) = (sum z_i^2)^2 / sum z_i^4`` counts the coordinates carrying the vector's energy (``d`` when
all are equal, 1 when one dominates); its mean per prior and latent size, and the share of samples
with ``PR < 2`` (one or two coordinates make the vector).

``strata``: trained ``mnist_dcgan_PRIOR_seedS`` run directories (``benchmarks/prior_midpoints.py``'s
layout). For each run, ``--draws`` prior latents are split by ``PR(z)`` into strata (edges ``1.5,
2.5, 4``), and the first ``--samples`` latents of every draw and of each stratum are decoded and
scored against the 4,000 training digits: mnist-FID, mnist2-FID, precision and recall (equal
counts, so they compare) and class-KL (the predicted digits' shares against the data's). A
stratum is a subset of the samples, so its FID also grows when it holds other digits than the data
(class-KL): precision (fidelity) and recall (diversity) are the numbers that compare with the whole.

``recall``: precision and recall of trained runs' prior samples in both feature spaces (``mnist`` and
``mnist2``), ``--samples`` draws per run against the 4,000 training digits (k = 3, as ``evaluate``):
``evaluate`` measures them in the first space only, and a conclusion needs both.

``scale``: the prior's scale, measured rather than argued. The DCGAN's first layer is a bias-free
dense layer followed by BatchNorm, which is invariant to rescaling its input, and Adam's steps do
not depend on the gradient's scale, so training on ``s z`` should follow training on ``z`` up to
BatchNorm's epsilon. Two runs of ``mnist_dcgan_nonparametric`` with deterministic ops and the same
seed, one with the shipped prior and one with its domain stretched to unit standard deviation
(``model.prior_params={"low": -18.47, "high": 18.47}``, beyond the paper: the mid-point property
is unchanged by rescaling), are compared on the same latent seeds after ``--iterations`` steps
(the scaled run is fed the same draws times ``s``).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np

EDGES = (1.5, 2.5, 4.0)


def participation_ratio(z) -> np.ndarray:
    """``(sum z^2)^2 / sum z^4`` per row of ``[N, d]`` latents: the number of coordinates in use."""
    z2 = np.square(np.asarray(z, np.float64))
    return np.square(z2.sum(1)) / np.maximum(np.square(z2).sum(1), 1e-300)


def coordinates(args) -> None:
    from zoo import priors

    print(f"{'prior':14s} {'latent':>6s} {'mean PR':>8s} {'PR < 2':>7s}")
    for name in ("uniform", "normal", "nonparametric", "gamma", "cauchy"):
        for dim in args.latents:
            pr = participation_ratio(priors.get(name, latent_dim=dim).sample(args.draws, seed=(0, 1)).numpy())
            print(f"{name:14s} {dim:6d} {pr.mean():8.2f} {np.mean(pr < 2):7.1%}")


def _references():
    from zoo import data
    from zoo.metrics import get_extractor

    real, labels = data.arrays("mnist_5k", split="train")
    spaces = {name: get_extractor(name) for name in ("mnist", "mnist2")}
    reference = {name: extractor(real)[0] for name, extractor in spaces.items()}
    reference["classes"] = np.bincount(labels, minlength=10) / len(labels)
    return spaces, reference


def _score(images, spaces, reference) -> dict:
    """FID in both spaces, precision/recall (mnist space) and ``class-KL``: KL(the mnist classifier's
    predicted class shares || the training labels' shares), which tells a subset that holds other
    digits than the data (high FID, fine precision) from one that holds worse ones."""
    from zoo.metrics import fid, precision_recall

    features, logits = {}, None
    for name, extractor in spaces.items():
        features[name], class_logits = extractor(images)
        logits = class_logits if name == "mnist" else logits
    scores = {f"{name}-FID": fid(reference[name], features[name]) for name in spaces}
    scores.update(precision_recall(reference["mnist"], features["mnist"], k=3))
    shares = np.bincount(np.argmax(logits, axis=1), minlength=10) / len(logits)
    inside = shares > 0
    scores["class-KL"] = float(np.sum(shares[inside] * np.log(shares[inside] / reference["classes"][inside])))
    return scores


def _trained_runs(args):
    """``(prior, seed, model)`` of each finished ``RUNS_DIR/mnist_dcgan_PRIOR_seedS`` run."""
    import zoo

    for prior in args.priors:
        for seed in args.seeds:
            path = args.runs_dir / f"mnist_dcgan_{prior}_seed{seed}" / "model.keras"
            if path.is_file():
                yield prior, seed, zoo.load(path)
            else:
                print(f"  {prior} seed {seed}: no model.keras, skipped")


def strata(args) -> dict:
    spaces, reference = _references()
    bins = list(zip((0.0, *EDGES), (*EDGES, np.inf)))
    results = []
    for prior, seed, model in _trained_runs(args):
        z = model.prior.sample(args.draws, seed=(seed, 35)).numpy()
        pr = participation_ratio(z)
        for low, high in [(0.0, np.inf), *bins]:  # first every draw: the reference for the strata
            chosen = z[(pr >= low) & (pr < high)][: args.samples]
            share = float(np.mean((pr >= low) & (pr < high)))
            if len(chosen) < args.samples:
                continue
            images = np.asarray(model.latents_to_images(chosen))
            row = {"prior": prior, "seed": seed, "stratum": [low, high], "share": share,
                   **_score(images, spaces, reference)}
            results.append(row)
            print(f"  {prior:13s} seed {seed} PR in [{low}, {high}) ({share:5.1%} of draws): "
                  + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("prior", "seed", "stratum", "share")),
                  flush=True)
    print(f"\nmean over seeds, {args.samples:,} samples per stratum:")
    for prior in args.priors:
        for low, high in [(0.0, np.inf), *bins]:
            mine = [r for r in results if r["prior"] == prior and r["stratum"] == [low, high]]
            if mine:
                cells = {k: (np.mean([r[k] for r in mine]), np.std([r[k] for r in mine], ddof=1) if len(mine) > 1 else 0)
                         for k in ("share", "mnist-FID", "mnist2-FID", "precision", "recall", "class-KL")}
                print(f"{prior:13s} PR [{low}, {high}): " + ", ".join(f"{k} {m:.3f} ± {s:.3f}" for k, (m, s) in cells.items())
                      + f" ({len(mine)} seeds)")
    return {"strata": results}


def recall(args) -> dict:
    from zoo.metrics import precision_recall

    spaces, reference = _references()
    results = []
    for prior, seed, model in _trained_runs(args):
        images = model.generate(args.samples, seed=(seed, 37))
        row = {"prior": prior, "seed": seed}
        for name, extractor in spaces.items():
            row.update({f"{name}-{key}": value
                        for key, value in precision_recall(reference[name], extractor(images)[0], k=3).items()})
        results.append(row)
        print(f"  {prior:13s} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()
                                                      if k not in ("prior", "seed")), flush=True)
    keys = [k for k in results[0] if k not in ("prior", "seed")] if results else []
    print(f"\nmean ± std over seeds, {args.samples:,} samples per run:")
    for prior in args.priors:
        mine = [r for r in results if r["prior"] == prior]
        if len(mine) > 1:
            print(f"{prior:13s} " + ", ".join(f"{k} {np.mean([r[k] for r in mine]):.3f} ± "
                                              f"{np.std([r[k] for r in mine], ddof=1):.3f}" for k in keys)
                  + f" ({len(mine)} seeds)")
    return {"recall": results}


def scale(args) -> dict:
    from zoo import priors
    from training import run as run_lib

    std = float(priors.get("nonparametric", latent_dim=16).marginal.stddev())
    factor = 1.0 / std
    low, high = -2.0 * factor, 2.0 * factor
    spaces, reference = _references()
    models = {}
    for label, extra in (("shipped (std %.3f)" % std, []),
                         ("unit std", [f'model.prior_params={{"low": {low:.6f}, "high": {high:.6f}}}'])):
        model, config, seconds = run_lib.fit_steps("mnist_dcgan_nonparametric", [f"seed={args.seed}", *extra],
                                                   args.iterations)
        models[label] = model
        print(f"  trained {label}: {args.iterations} steps in {seconds:.0f} s", flush=True)
    (base_label, base), (scaled_label, scaled) = models.items()
    z = base.prior.sample(args.samples, seed=(args.seed, 36)).numpy()
    base_images = np.asarray(base.latents_to_images(z))
    scaled_images = np.asarray(scaled.latents_to_images(z * factor))
    difference = np.abs(base_images - scaled_images)
    result = {"factor": factor, "iterations": args.iterations, "max_abs_pixel_difference": float(difference.max()),
              "mean_abs_pixel_difference": float(difference.mean()),
              base_label: _score(base_images, spaces, reference),
              scaled_label: _score(scaled_images, spaces, reference)}
    print(f"scale x{factor:.2f}: same latents (times the scale), pixel difference in [-1, 1] images: "
          f"max {result['max_abs_pixel_difference']:.4f}, mean {result['mean_abs_pixel_difference']:.5f}")
    for label in (base_label, scaled_label):
        print(f"  {label:20s}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[label].items()))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    coords = commands.add_parser("coordinates", help="participation ratio of each prior's samples")
    coords.add_argument("--latents", nargs="+", type=int, default=[16, 32, 100])
    coords.add_argument("--draws", type=int, default=100_000)
    strat = commands.add_parser("strata", help="sample quality of trained runs by the latent's participation ratio")
    strat.add_argument("--runs-dir", type=pathlib.Path, default=pathlib.Path("runs") / "prior_midpoints")
    strat.add_argument("--priors", nargs="+", default=["nonparametric", "uniform", "normal"])
    strat.add_argument("--seeds", nargs="+", type=int, default=[0])
    strat.add_argument("--draws", type=int, default=60_000)
    strat.add_argument("--samples", type=int, default=2_000)
    rec = commands.add_parser("recall", help="precision and recall of trained runs in both feature spaces")
    rec.add_argument("--runs-dir", type=pathlib.Path, default=pathlib.Path("runs") / "prior_midpoints")
    rec.add_argument("--priors", nargs="+", default=["nonparametric", "uniform", "normal"])
    rec.add_argument("--seeds", nargs="+", type=int, default=[0])
    rec.add_argument("--samples", type=int, default=10_000)
    sc = commands.add_parser("scale", help="train the shipped and the unit-std NP prior alike and compare")
    sc.add_argument("--iterations", type=int, default=300)
    sc.add_argument("--seed", type=int, default=0)
    sc.add_argument("--samples", type=int, default=5_000)
    for sub in (coords, strat, rec, sc):
        sub.add_argument("--json", help="write the numbers here")
    args = parser.parse_args(argv)
    result = {"coordinates": coordinates, "strata": strata, "recall": recall, "scale": scale}[args.command](args)
    if args.json and result is not None:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
