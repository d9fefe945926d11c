"""``image_grid``: many images tiled into one picture (sample grids, interpolation strips, PNGs)."""

from __future__ import annotations

import math

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [-1, 1] -> uint8 pixels ``round((x + 1) * 127.5)`` (clipped first)."""
    return np.round((np.clip(np.asarray(images, np.float32), -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def image_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """Tile ``[N, H, W, C]`` images row by row into one uint8 ``[rows*H, columns*W, C]`` picture.

    ``images``: uint8 pixels, or floats in [-1, 1] (the zoo's images, converted by :func:`to_uint8`).
    Cells past the last image are black.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, h, w, c = images.shape
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * h, columns * w, c), np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = image
    return canvas
