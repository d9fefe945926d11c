"""benchmarks/figures.py: the sample grids keep a border between tiles; every figure the docs show exists."""

import importlib.util
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("figures", ROOT / "benchmarks" / "figures.py")
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)


def test_tile_separates_images_with_a_border():
    images = np.full((6, 4, 5, 1), -1.0, np.float32)  # black grey-scale tiles
    grid = figures.tile(images, rows=2, cols=3, border=1)
    assert grid.shape == (2 * 5 + 1, 3 * 6 + 1, 3)
    assert np.all(grid[[0, 5, 10]] == figures.BORDER)  # horizontal lines
    assert np.all(grid[:, [0, 6, 12, 18]] == figures.BORDER)  # vertical lines
    assert np.all(grid[1:5, 1:6] == 0.0)  # a tile, mapped from [-1, 1] to [0, 1]


def test_every_figure_is_committed_and_small():
    names = {"interpolation_priors", "mixtures_gan_vs_gdpp", "prior_densities", "stacked_modes", "prior_comparison_mnist"}
    names |= {f"samples_{name}" for name in figures.GRID_PRESETS}
    for name in names:
        path = ROOT / "docs" / "images" / f"{name}.png"
        assert path.is_file(), f"{path} is missing: run python benchmarks/figures.py"
        assert path.stat().st_size < 200_000, path


def test_every_image_preset_has_a_sample_grid():
    import zoo

    images = {name for name in zoo.presets() if zoo.presets.card(name)["evaluation"]["dataset"] not in ("ring", "grid")}
    assert images == set(figures.GRID_PRESETS)
