"""Every figure of the README and docs/, regenerated from the shipped presets, the prior solver and
the prior comparison's committed results (``benchmarks/results/``).

    python benchmarks/figures.py                 # writes docs/images/*.png (about a minute on a CPU)
    python benchmarks/figures.py --out /tmp/fig  # elsewhere

Deterministic: every sample comes from a fixed stateless seed, the priors' densities are exact, and
the PNGs carry no timestamp or version metadata, so a rerun on the same libraries rewrites the same
files, up to one grey level in a few pixels (the CPU convolutions' float rounding varies with thread
scheduling). Needs matplotlib (``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the Agg backend)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
#: The image presets whose sample grids the docs show.
GRID_PRESETS = (
    "digits_dcgan_nonparametric",
    "digits_dcgan_normal",
    "digits_dcgan_uniform",
    "digits_gdpp_dcgan_nonparametric",
    "digits_vae",
    "digits_gdpp_vae",
    "stacked_digits_gan",
    "stacked_digits_gdpp_gan",
    "mnist_dcgan_nonparametric",
    "mnist_dcgan_normal",
    "mnist_dcgan_uniform",
    "mnist_wgan_gp",
    "mnist_gdpp_wgan_gp",
    "mnist_vae",
    "mnist_gdpp_vae",
    "stacked_mnist_gan",
    "stacked_mnist_gdpp_gan",
    "stacked_mnist_wgan_gp",
    "stacked_mnist_gdpp_wgan_gp",
)
#: The three digits DCGANs that differ only in their prior (same recipe, same seed).
PRIOR_PRESETS = {"non-parametric": "digits_dcgan_nonparametric", "normal": "digits_dcgan_normal",
                 "uniform": "digits_dcgan_uniform"}
SEED = (0, 2019)
BORDER = 0.85  # grey of the lines between tiles, images shown in [0, 1]
#: The real-MNIST DCGANs that differ only in their prior, and the prior comparison over training seeds
#: (``python benchmarks/prior_midpoints.py ... --json``) whose means the README's first figure shows.
MNIST_PRIOR_PRESETS = {"uniform": "mnist_dcgan_uniform", "normal": "mnist_dcgan_normal",
                       "non-parametric": "mnist_dcgan_nonparametric"}
PRIOR_COMPARISON = ROOT / "benchmarks" / "results" / "prior_midpoints_mnist_5k.json"


def _save(fig, path, colours=None):
    """``colours``: quantise to that many palette colours (scatter plots of many translucent points
    otherwise blend into more shades than a PNG compresses well)."""
    fig.savefig(path, dpi=100, metadata={"Software": None}, pil_kwargs={"optimize": True})
    plt.close(fig)
    if colours:
        from PIL import Image

        with Image.open(path) as image:
            quantised = image.convert("RGB").quantize(colours)
        quantised.save(path, optimize=True)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _to_unit(images):
    """``[N, H, W, C]`` in [-1, 1] -> ``[N, H, W, 3]`` in [0, 1] (grey images repeated)."""
    images = np.clip((np.asarray(images, np.float32) + 1.0) / 2.0, 0.0, 1.0)
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def tile(images, rows, cols, border=1):
    """One ``[rows*(H+b)+b, cols*(W+b)+b, 3]`` picture of ``rows*cols`` images with ``border`` px lines."""
    images = _to_unit(images)
    _, h, w, c = images.shape
    canvas = np.full((rows * (h + border) + border, cols * (w + border) + border, c), BORDER, np.float32)
    for k, image in enumerate(images[: rows * cols]):
        r, q = divmod(k, cols)
        top, left = border + r * (h + border), border + q * (w + border)
        canvas[top: top + h, left: left + w] = image
    return canvas


def sample_grids(out):
    import zoo

    for name in GRID_PRESETS:
        model = zoo.load(name)
        grid = tile(model.generate(64, SEED), 8, 8)
        fig, ax = plt.subplots(figsize=(4, 4.3))
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.axis("off")
        fig.tight_layout()
        _save(fig, out / f"samples_{name}.png")


def _strip(ax, images, label, fontsize):
    """One row of an interpolation: ``images`` side by side, the middle one framed in red."""
    h, steps = images.shape[1], len(images)
    ax.imshow(tile(images, 1, steps), interpolation="nearest")
    mid = steps // 2
    ax.add_patch(plt.Rectangle((mid * (h + 1), 0), h + 1, h + 1, fill=False, edgecolor="tab:red", lw=2))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=fontsize)


def interpolation_strips(out, pairs=2, steps=9):
    """Rows: straight lines between two prior samples for each prior's digits DCGAN; the mid-point
    (where Normal and Uniform latents fall off their prior) is framed."""
    import zoo
    from zoo import latent

    rows = []
    for label, name in PRIOR_PRESETS.items():
        model = zoo.load(name)
        z = model.prior.sample(2 * pairs, SEED).numpy()
        for p in range(pairs):
            path = latent.interpolate(z[2 * p], z[2 * p + 1], steps=steps)
            rows.append((label, np.asarray(model(path, training=False))))
    fig, axes = plt.subplots(len(rows), 1, figsize=(steps * 0.75, len(rows) * 0.85))
    for ax, (label, images) in zip(axes, rows):
        _strip(ax, images, label, fontsize=9)
    axes[0].set_title("z0 → z1 on a straight line; red: the mid-point (z0 + z1) / 2", fontsize=9)
    fig.tight_layout()
    fig.subplots_adjust(left=0.17)  # room for the row labels, which tight_layout does not count
    _save(fig, out / "interpolation_priors.png")


def prior_comparison(out, steps=9, results=PRIOR_COMPARISON):
    """The README's first figure. Left: for each real-MNIST prior preset, the straight line between
    the first pair of its prior draws with seed ``SEED`` (no choosing by eye), and for the uniform
    and normal ones the matched path between the same two latents; the mid-point is framed. Right:
    FID at prior samples, linear mid-points and matched mid-points, mean ± std over the training
    seeds of the prior comparison, in both feature spaces, and recall."""
    import json

    import zoo
    from zoo import latent

    rows = []
    for label, name in MNIST_PRIOR_PRESETS.items():
        model = zoo.load(name)
        z = model.prior.sample(2, SEED).numpy()
        methods = ["linear"] if label == "non-parametric" else ["linear", "matched"]
        for method in methods:
            path = latent.interpolate(z[0], z[1], steps=steps, method=method,
                                      prior=model.prior if method == "matched" else None)
            rows.append((f"{label}\n{method}", np.asarray(model.latents_to_images(path))))
    summary = json.loads(pathlib.Path(results).read_text())["summary"]
    fig = plt.figure(figsize=(14, 4.2))
    grid = fig.add_gridspec(len(rows), 4, width_ratios=[2.3, 1, 1, 1], wspace=0.4, hspace=0.08)
    for i, (label, images) in enumerate(rows):
        ax = fig.add_subplot(grid[i, 0])
        _strip(ax, images, label, fontsize=8)
        if i == 0:
            ax.set_title("the first pair of seed (0, 2019), z0 → z1; red: the mid-point", fontsize=9)
    priors = [("uniform", "uniform"), ("normal", "normal"), ("non-\nparametric", "nonparametric")]
    bars = [("prior samples", "linear", "prior", "tab:blue"), ("linear mid-points", "linear", "midpoint", "tab:red"),
            ("matched mid-points", "matched", "midpoint", "tab:green")]
    seeds = len(summary["uniform linear"]["seeds"])
    for col, (metric, title) in enumerate((("mnist-FID", "mnist-FID (lower is better)"),
                                           ("mnist2-FID", "mnist2-FID (lower is better)"),
                                           ("recall", "recall, mnist features")), start=1):
        ax = fig.add_subplot(grid[:, col])
        width = 0.26
        for k, (bar_label, method, part, colour) in enumerate(bars):
            xs, means, stds = [], [], []
            for x, (_, key) in enumerate(priors):
                cell = summary.get(f"{key} {method}", {}).get(f"{metric}/{part}")
                if cell is not None:
                    xs.append(x + (k - 1) * width)
                    means.append(cell[0])
                    stds.append(cell[1])
            ax.bar(xs, means, width, yerr=stds, color=colour, label=bar_label, capsize=2)
        ax.set_xticks(range(len(priors)), [label for label, _ in priors], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        if col == 1:
            ax.legend(fontsize=7, loc="lower left")
    fig.subplots_adjust(bottom=0.2)
    fig.text(0.73, 0.03, f"bars: mean ± std over {seeds} training seeds, 10,000 samples per set", fontsize=9,
             ha="center")
    _save(fig, out / "prior_comparison_mnist.png")


#: The mixture presets side by side, per dataset: suffixes of ``{ring,grid}_*`` (those shipped are drawn).
MIXTURE_METHODS = ("gan", "gdpp_gan", "wgan_gp", "gdpp_wgan_gp")


def mixture_scatter(out, samples=2500):
    """GAN, GDPP-GAN, WGAN-GP and GDPP-WGAN-GP samples over the ring's and the grid's true modes (the
    presets' own metrics); a method without a shipped preset is left out."""
    import zoo
    from zoo import data

    methods = [m for m in MIXTURE_METHODS if all(f"{d}_{m}" in zoo.presets() for d in ("ring", "grid"))]
    fig, axes = plt.subplots(2, len(methods), figsize=(3.5 * len(methods), 7), squeeze=False)
    for row, dataset in enumerate(("ring", "grid")):
        spec = data.spec(dataset)
        for col, name in enumerate(f"{dataset}_{method}" for method in methods):
            points = zoo.load(name).generate(samples, SEED)
            metrics = zoo.presets.card(name)["metrics"]
            ax = axes[row, col]
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", rasterized=True)
            ax.scatter(spec.centres[:, 0], spec.centres[:, 1], s=40, marker="x", color="tab:red")
            margin = 0.5 if dataset == "ring" else 1.5
            low, high = spec.centres.min() - margin, spec.centres.max() + margin
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            ax.set_aspect("equal")
            ax.set_title(f"{name}: {metrics['modes']:.0f}/{len(spec.centres)} modes, "
                         f"{metrics['high_quality_pct']:.0f} % HQ", fontsize=9)
    fig.suptitle("2,500 samples (blue) over the true modes (red x)", fontsize=10)
    fig.tight_layout()
    _save(fig, out / "mixtures_gan_vs_gdpp.png", colours=64)


def _midpoint_density(grid, density):
    """Density of ``(a + b) / 2`` for i.i.d. ``a, b`` with ``density`` on the uniform ``grid``."""
    step = grid[1] - grid[0]
    summed = np.convolve(density, density) * step  # density of a + b on 2*grid[0] + k*step
    sums = 2 * grid[0] + step * np.arange(summed.size)
    return np.interp(grid, sums / 2, 2 * summed)


def prior_densities(out):
    """The solved non-parametric marginal against N(0, 1) and U(-1, 1), each with its mid-point law."""
    from zoo import latent, priors

    grid = np.linspace(-2.5, 2.5, 4001)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.1), sharex=True)
    for ax, name in zip(axes, ("nonparametric", "normal", "uniform")):
        prior = priors.get(name, latent_dim=1)
        density = np.exp(np.asarray(prior.marginal.log_prob(grid), np.float64))
        density = np.where(np.isfinite(density), density, 0.0)
        ax.plot(grid, density, color="tab:blue", lw=1.5, label="prior p(z)")
        ax.plot(grid, _midpoint_density(grid, density), color="tab:red", lw=1.5, ls="--",
                label="mid-point (z_a + z_b) / 2")
        ax.set_title(f"{name}: KL(prior || mid-point) = {latent.midpoint_kl(prior):.3f}", fontsize=9)
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 300)
        ax.set_xlabel("one latent coordinate")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    _save(fig, out / "prior_densities.png")


def stacked_modes(out):
    """Stacked digits and Stacked-MNIST (mnist_5k): modes found vs missed (of 1,000) for each stacked
    preset (GAN, GDPP-GAN and, on MNIST, the WGAN-GPs), next to the paper's Stacked-MNIST numbers."""
    import zoo

    methods = (("GAN", "gan", "tab:blue"), ("GDPP-GAN", "gdpp_gan", "tab:green"),
               ("WGAN-GP", "wgan_gp", "tab:orange"), ("GDPP-WGAN-GP", "gdpp_wgan_gp", "tab:purple"))
    bars, colours, paper = [], [], {}
    for data, title in (("stacked_digits", "8x8 digits"), ("stacked_mnist", "MNIST 5k")):
        for label, suffix, colour in methods:
            name = f"{data}_{suffix}"
            if name not in zoo.presets():
                continue
            card = zoo.presets.card(name)
            bars.append((f"{label}\n({title})", card["metrics"]["modes"], card["metrics"]["kl"]))
            colours.append(colour)
            if card["paper"]:
                paper[label] = (card["paper"]["modes"]["value"], card["paper"]["kl"]["value"], colour)
    for label, (modes, kl, colour) in paper.items():
        bars.append((f"{label}\n(paper)", modes, kl))
        colours.append(matplotlib.colors.to_rgba(colour, 0.45))
    labels = [b[0] for b in bars]
    found = np.array([b[1] for b in bars])
    fig, ax = plt.subplots(figsize=(1.0 * len(bars) + 2, 3.3))
    ax.bar(labels, found, color=colours, label="modes found")
    ax.bar(labels, 1000 - found, bottom=found, color="0.9", edgecolor="0.7", label="modes missed")
    for x, (_, modes, kl) in enumerate(bars):
        ax.text(x, modes / 2, f"{modes:.0f}\nKL {kl:.2f}", ha="center", va="center", fontsize=8)
    ax.set_ylim(0, 1000)
    ax.set_ylabel("modes of 1,000")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title("Stacked digits: modes found (26,000 samples)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    _save(fig, out / "stacked_modes.png")


def matched_interpolation(out):
    """docs/interpolation.md's figure, made by its own script (also runnable alone)."""
    import importlib.util

    path = pathlib.Path(__file__).with_name("figure_matched_interpolation.py")
    spec = importlib.util.spec_from_file_location("figure_matched_interpolation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make(out)


FIGURES = {
    "samples": sample_grids,
    "interpolation": interpolation_strips,
    "comparison": prior_comparison,
    "mixtures": mixture_scatter,
    "priors": prior_densities,
    "stacked": stacked_modes,
    "matched": matched_interpolation,
}


def make(out_dir=OUT, only=None):
    """Write the figures named in ``only`` (default all of ``FIGURES``) into ``out_dir``."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in only or FIGURES:
        FIGURES[name](out_dir)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT), help="directory for the PNGs (default docs/images)")
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), help="just these figures")
    args = parser.parse_args(argv)
    make(args.out, args.only)


if __name__ == "__main__":
    main()
