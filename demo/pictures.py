"""Pictures for the page: uint8 images from the signatures -> one RGB uint8 array, ready for PNG.

Small images are enlarged by an integer factor with nearest-neighbour pixels (every generated pixel
stays a square of one colour), tiles are separated by :data:`GAP` pixels of grey.
"""

from __future__ import annotations

import math

import numpy as np

GAP = 2
GREY = 200
FRAME = (220, 30, 30)  # the framed mid-point
LABEL_WIDTH = 240
MIN_TILE = 56  # images are enlarged to at least this many pixels on a side


def scale_for(size: int) -> int:
    """The integer enlargement that makes a ``size``-pixel image at least :data:`MIN_TILE` pixels."""
    return max(1, math.ceil(MIN_TILE / size))


def _rgb(images: np.ndarray, scale: int) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` (C = 1, 3 or 4) -> ``[N, H*scale, W*scale, 3]``."""
    images = np.asarray(images, np.uint8)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected uint8 images [N, H, W, 1|3|4], got shape {images.shape}")
    images = images[..., :3] if images.shape[-1] != 1 else np.repeat(images, 3, axis=-1)
    return images.repeat(scale, axis=1).repeat(scale, axis=2)


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """``(rows, columns)`` of a grid of ``count`` images: near-square unless ``columns`` is given."""
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


def grid_size(count: int, image_shape, columns: int | None = None) -> tuple[int, int]:
    """``(height, width)`` in pixels of :func:`grid` for ``count`` images of shape ``[H, W, C]``."""
    rows, columns = grid_shape(count, columns)
    height, width = image_shape[0], image_shape[1]
    scale = scale_for(max(height, width))
    return rows * (height * scale + GAP) + GAP, columns * (width * scale + GAP) + GAP


def grid(images, columns: int | None = None) -> np.ndarray:
    """uint8 ``[N, H, W, C]`` -> one uint8 ``[rows*(h+GAP)+GAP, cols*(w+GAP)+GAP, 3]`` picture, row by row."""
    images = np.asarray(images)
    scale = scale_for(max(images.shape[1:3]))
    tiles = _rgb(images, scale)
    rows, columns = grid_shape(len(tiles), columns)
    h, w = tiles.shape[1:3]
    canvas = np.full((rows * (h + GAP) + GAP, columns * (w + GAP) + GAP, 3), GREY, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        top, left = GAP + r * (h + GAP), GAP + c * (w + GAP)
        canvas[top:top + h, left:left + w] = tile
    return canvas


def _label(text: str, height: int) -> np.ndarray:
    """A ``[height, LABEL_WIDTH, 3]`` white panel with ``text`` written on it, left-aligned and centred."""
    from PIL import Image, ImageDraw, ImageFont

    panel = Image.new("RGB", (LABEL_WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    try:
        font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()
    while text and draw.textlength(text, font=font) > LABEL_WIDTH - 8:
        text = text[:-2] + "…"
    draw.text((6, height // 2), text, fill=(0, 0, 0), font=font, anchor="lm")
    return np.asarray(panel)


def strips(rows: list[tuple[str, np.ndarray]], frame: int | None = None) -> np.ndarray:
    """One labelled row per model of its path images ``[S, H, W, C]``, ``frame``-th image framed in red.

    Every row is enlarged to the tile size of the largest images, so models with different image
    sizes line up.
    """
    size = max(max(images.shape[1:3]) for _, images in rows)
    tile = size * scale_for(size)
    steps = max(len(images) for _, images in rows)
    width = LABEL_WIDTH + steps * (tile + GAP) + GAP
    canvas = np.full((len(rows) * (tile + GAP) + GAP, width, 3), 255, np.uint8)
    for r, (label, images) in enumerate(rows):
        top = GAP + r * (tile + GAP)
        canvas[top:top + tile, :LABEL_WIDTH] = _label(label, tile)
        for s, image in enumerate(_resized(images, tile)):
            left = LABEL_WIDTH + GAP + s * (tile + GAP)
            canvas[top:top + tile, left:left + tile] = image
            if s == frame:
                _draw_frame(canvas, top, left, tile)
    return canvas


def _resized(images, tile: int) -> np.ndarray:
    """``[S, H, W, C]`` -> ``[S, tile, tile, 3]``: integer enlargement, or nearest resizing for odd sizes."""
    images = np.asarray(images)
    if images.shape[1] == images.shape[2] and tile % images.shape[1] == 0:
        return _rgb(images, tile // images.shape[1])
    from PIL import Image

    rgb = _rgb(images, 1)
    return np.stack([np.asarray(Image.fromarray(x).resize((tile, tile), Image.NEAREST)) for x in rgb])


def _draw_frame(canvas, top: int, left: int, tile: int, width: int = GAP) -> None:
    """A red ``width``-pixel frame in the gap around the tile at ``(top, left)``."""
    y0, y1, x0, x1 = top - width, top + tile + width, left - width, left + tile + width
    canvas[y0:top, x0:x1] = FRAME
    canvas[top + tile:y1, x0:x1] = FRAME
    canvas[y0:y1, x0:left] = FRAME
    canvas[y0:y1, left + tile:x1] = FRAME
