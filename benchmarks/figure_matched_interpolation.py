"""Figure for docs/interpolation.md: linear vs matched paths on the shipped digits generators.

    python benchmarks/figure_matched_interpolation.py            # writes docs/images/matched_interpolation.png

For each of ``PAIRS`` pairs of latent draws, three strips of ``STEPS`` images: the normal-prior
preset ``digits_dcgan_normal`` along the straight line, the same generator and end points along the
matched path (``zoo.latent.interpolate(..., method="matched")``), and the non-parametric-prior preset
``digits_dcgan_nonparametric`` along the straight line between its own draws. The mid-point column
(``t = 1/2``) is framed. Deterministic: fixed stateless seeds, the Agg backend, no timestamp in the
PNG.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

PAIRS = 3
STEPS = 9  # odd, so that t = 1/2 is a column
SEED = (27, 0)
FILE_NAME = "matched_interpolation.png"
DEFAULT_OUT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "images"
BORDER = 1  # pixels of background between tiles


def strips() -> list[tuple[str, np.ndarray]]:
    """``[(label, images [STEPS, H, W] in [0, 1])]``, three rows per pair."""
    from zoo import latent, presets
    from zoo._tf import tf

    normal = presets.load("digits_dcgan_normal")
    nonparametric = presets.load("digits_dcgan_nonparametric")
    seeds = tf.random.experimental.stateless_split(tf.constant(SEED, tf.int32), 2)

    def ends(model, seed):
        z = model.prior.sample(2 * PAIRS, seed).numpy()
        return z[:PAIRS], z[PAIRS:]

    def decode(model, path):
        flat = path.reshape(-1, path.shape[-1])
        images = np.asarray(model.latents_to_images(flat))[..., 0]
        return ((images + 1.0) / 2.0).clip(0.0, 1.0).reshape(*path.shape[:2], *images.shape[1:])

    z0, z1 = ends(normal, seeds[0])
    linear = decode(normal, latent.interpolate(z0, z1, STEPS))
    matched = decode(normal, latent.interpolate(z0, z1, STEPS, method="matched", prior=normal.prior))
    n0, n1 = ends(nonparametric, seeds[1])
    np_linear = decode(nonparametric, latent.interpolate(n0, n1, STEPS))
    rows = []
    for pair in range(PAIRS):
        rows += [
            ("normal prior, linear", linear[pair]),
            ("normal prior, matched", matched[pair]),
            ("NP prior, linear", np_linear[pair]),
        ]
    return rows


def mosaic(rows) -> np.ndarray:
    """The tiles on a grey background, ``BORDER`` pixels apart, an extra gap between pairs."""
    height, width = rows[0][1].shape[1:]
    gap = 4 * BORDER
    total_h = len(rows) * (height + BORDER) + BORDER + (len(rows) // 3 - 1) * gap
    canvas = np.full((total_h, STEPS * (width + BORDER) + BORDER), 0.6)
    top = BORDER
    for index, (_, images) in enumerate(rows):
        if index and index % 3 == 0:
            top += gap
        for step, image in enumerate(images):
            left = BORDER + step * (width + BORDER)
            canvas[top : top + height, left : left + width] = image
        top += height + BORDER
    return canvas


def make(out_dir=DEFAULT_OUT) -> list[pathlib.Path]:
    """Render the figure into ``out_dir`` and return the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Rectangle

    rows = strips()
    canvas = mosaic(rows)
    height, width = rows[0][1].shape[1:]
    scale = 0.018  # inches per pixel
    figure = plt.figure(figsize=(canvas.shape[1] * scale + 1.9, canvas.shape[0] * scale + 0.5), dpi=100)
    axes = figure.add_axes([1.8 / (canvas.shape[1] * scale + 1.9), 0.02, canvas.shape[1] * scale /
                            (canvas.shape[1] * scale + 1.9), canvas.shape[0] * scale / (canvas.shape[0] * scale + 0.5)])
    axes.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes.set_axis_off()
    middle = BORDER + (STEPS // 2) * (width + BORDER)
    top = BORDER
    for index, (label, _) in enumerate(rows):
        if index and index % 3 == 0:
            top += 4 * BORDER
        axes.text(-4, top + height / 2, label, ha="right", va="center", fontsize=8)
        top += height + BORDER
    axes.add_patch(Rectangle((middle - 1.5, -0.5), width + 2, canvas.shape[0], fill=False, edgecolor="#d62728",
                             linewidth=1.5))
    axes.text(middle + width / 2, -2, "t = 1/2", ha="center", va="bottom", fontsize=8, color="#d62728")
    axes.text(0, -2, "t = 0", ha="left", va="bottom", fontsize=8)
    axes.text(canvas.shape[1], -2, "t = 1", ha="right", va="bottom", fontsize=8)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
    return [path]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: docs/images)")
    for path in make(parser.parse_args(argv).out):
        print(path, f"{path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
