"""What evaluation needs to know about a dataset, without loading it."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Static description of a dataset in a given configuration.

    Attributes:
        name: the registry name (``zoo.data.names()``).
        kind: ``"points"`` (2-D float32 ``[B, 2]`` batches) or ``"images"`` (float32 NHWC in [-1, 1]).
        element_shape: shape of one example, ``(2,)`` or ``(height, width, channels)``.
        centres: ``[K, 2]`` float64 mixture-component means of a points set, else ``None``.
        std: per-coordinate standard deviation of each mixture component, else ``None``.
        num_classes: number of label classes (10 for digits, 1000 for the stacked sets), else ``None``.
        class_probs: ``[num_classes]`` float64 training label distribution (sums to 1), else ``None``.
    """

    name: str
    kind: str
    element_shape: tuple[int, ...]
    centres: np.ndarray | None = None
    std: float | None = None
    num_classes: int | None = None
    class_probs: np.ndarray | None = None
