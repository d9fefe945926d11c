"""benchmarks/figure_matched_interpolation.py: the docs figure renders, small and reproducible."""

import hashlib
import importlib.util
import pathlib

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "figure_matched_interpolation.py"


def _module():
    spec = importlib.util.spec_from_file_location("figure_matched_interpolation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mosaic_puts_tiles_between_thin_borders():
    figure = _module()
    rows = [(f"row {i}", np.full((figure.STEPS, 3, 2), i / 6)) for i in range(6)]
    canvas = figure.mosaic(rows)
    b = figure.BORDER
    assert canvas.shape == (6 * (3 + b) + b + 4 * b, figure.STEPS * (2 + b) + b)
    assert np.all(canvas[:b] == 0.6) and np.all(canvas[:, :b] == 0.6)
    np.testing.assert_array_equal(canvas[b : b + 3, b : b + 2], 0.0)
    # Row 3 starts a new pair, after the extra gap.
    top = b + 3 * (3 + b) + 4 * b
    np.testing.assert_array_equal(canvas[top : top + 3, b : b + 2], 3 / 6)


@pytest.mark.slow
def test_make_writes_the_same_small_png_twice(tmp_path):
    figure = _module()
    first = figure.make(tmp_path / "a")
    second = figure.make(tmp_path / "b")
    assert [p.name for p in first] == [figure.FILE_NAME]
    assert first[0].stat().st_size < 200_000
    digest = [hashlib.sha256(paths[0].read_bytes()).hexdigest() for paths in (first, second)]
    assert digest[0] == digest[1]
