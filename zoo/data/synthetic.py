"""The 2-D Gaussian mixtures of the GDPP / unrolled-GAN synthetic experiments.

- ``ring``: 8 components with means ``(cos t_k, sin t_k)``, ``t_k = 2*pi*k/8``, std 0.01.
  ``official_centres=True`` uses the official code's ``np.linspace(0, 2*pi, 8)`` instead, whose
  first and last angles coincide: 7 distinct centres, ``(1, 0)`` with double weight. Use it only to
  reproduce the official numbers (its evaluator can never find more than 7 modes).
- ``grid``: 25 components at ``{-4, -2, 0, 2, 4}^2``, std 0.05.

Components are equally likely. Points are generated once per (seed, split) with NumPy, so a seed
fixes them exactly; ``num_points`` (default 100,000, i.e. 195 batches of 512) sets one epoch, and
training loops use ``.repeat()`` (reshuffled every epoch).
"""

from __future__ import annotations

import numpy as np

from zoo.data import _checks
from zoo.data.spec import DatasetSpec
from zoo.errors import ConfigError

DEFAULT_NUM_POINTS = 100_000
SPLIT_STREAM = {"train": 0, "test": 1}
STD = {"ring": 0.01, "grid": 0.05}


def centres(name: str, official_centres: bool = False) -> np.ndarray:
    """``[K, 2]`` float64 component means of ``ring`` (K = 8) or ``grid`` (K = 25)."""
    if name == "ring":
        if official_centres:
            angles = np.linspace(0.0, 2.0 * np.pi, 8)
        else:
            angles = 2.0 * np.pi * np.arange(8) / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    axis = np.arange(-4.0, 5.0, 2.0)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def _check(name: str, options: dict) -> tuple[int, bool]:
    num_points = _checks.positive_int(options["num_points"], f"option 'num_points' of dataset {name!r}")
    official = options.get("official_centres", False)
    if not isinstance(official, bool):
        raise ConfigError(f"option 'official_centres' of dataset {name!r} must be True or False, got {official!r}.")
    return num_points, official


def spec(name: str, image_size, options: dict) -> DatasetSpec:
    _check(name, options)
    return DatasetSpec(
        name=name,
        kind="points",
        element_shape=(2,),
        centres=centres(name, options.get("official_centres", False)),
        std=STD[name],
    )


def arrays(name: str, split: str, image_size, seed, options: dict):
    """``(points [N, 2] float32, component [N] int64)`` for ``N = num_points``."""
    num_points, official = _check(name, options)
    means = centres(name, official)
    rng = _checks.rng(seed, SPLIT_STREAM[split])
    component = rng.integers(0, len(means), size=num_points)
    points = means[component] + STD[name] * rng.standard_normal((num_points, 2))
    return points.astype(np.float32), component.astype(np.int64)


def load(name: str, split: str, batch_size: int, image_size, seed, data_dir, options: dict):
    from zoo.data import pipeline

    points, _ = arrays(name, split, image_size, seed, options)
    return pipeline.from_array(points, batch_size=batch_size, seed=seed, name=name, split=split)
