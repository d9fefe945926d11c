"""Kernel Inception Distance: the unbiased squared MMD with the cubic polynomial kernel.

k(x, y) = (x . y / d + 1)^3 for ``d``-dimensional features (Bińkowski et al. 2018, as in TF-GAN's
``kernel_classifier_distance``). For feature sets X (m rows) and Y (n rows) the unbiased estimate is

    MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
            - 2 sum_{i, j} k(x_i, y_j) / (m n)

The kernel sums are taken block by block in float64 so the m x n kernel matrix is never held whole.
Like the reference implementations, :func:`kid` averages the estimate over random subsets (the
exact full-set value is one subset of all rows: ``subset_size=None``).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.metrics.fid import _as_feature_matrix

_BLOCK = 2048


def _kernel_sum(x: np.ndarray, y: np.ndarray, dim: int) -> float:
    total = 0.0
    for start in range(0, x.shape[0], _BLOCK):
        block = x[start : start + _BLOCK] @ y.T
        total += float(((block / dim + 1.0) ** 3).sum())
    return total


def _kernel_diagonal_sum(x: np.ndarray, dim: int) -> float:
    return float(((np.einsum("ij,ij->i", x, x) / dim + 1.0) ** 3).sum())


def polynomial_mmd2(features_1, features_2) -> float:
    """Unbiased MMD^2 with the kernel (x . y / d + 1)^3 between ``[m, D]`` and ``[n, D]`` features."""
    x = _as_feature_matrix(features_1, "features_1")
    y = _as_feature_matrix(features_2, "features_2")
    if x.shape[1] != y.shape[1]:
        raise ConfigError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}; use one extractor for both.")
    m, n, dim = x.shape[0], y.shape[0], x.shape[1]
    if m < 2 or n < 2:
        raise ConfigError(f"KID needs at least 2 samples in each set, got {m} and {n}.")
    within_x = (_kernel_sum(x, x, dim) - _kernel_diagonal_sum(x, dim)) / (m * (m - 1))
    within_y = (_kernel_sum(y, y, dim) - _kernel_diagonal_sum(y, dim)) / (n * (n - 1))
    return within_x + within_y - 2.0 * _kernel_sum(x, y, dim) / (m * n)


def kid(features_1, features_2, *, subset_size: int | None = 1000, subsets: int = 100, seed: int = 0):
    """KID as ``(mean, std)`` of :func:`polynomial_mmd2` over random subsets.

    Each of ``subsets`` draws ``subset_size`` rows without replacement from each set (NumPy
    generator seeded by ``seed``). ``subset_size=None`` or one at least as large as both sets gives
    the exact full-set estimate with std 0.
    """
    x = _as_feature_matrix(features_1, "features_1")
    y = _as_feature_matrix(features_2, "features_2")
    if subset_size is None or subset_size >= max(x.shape[0], y.shape[0]):
        return polynomial_mmd2(x, y), 0.0
    if subset_size > min(x.shape[0], y.shape[0]) or subset_size < 2:
        raise ConfigError(
            f"subset_size={subset_size} must lie in [2, {min(x.shape[0], y.shape[0])}] "
            f"(the smaller set's size), or be None for the full-set estimate."
        )
    if subsets < 1:
        raise ConfigError(f"subsets must be >= 1, got {subsets}.")
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2(
            x[rng.choice(x.shape[0], subset_size, replace=False)],
            y[rng.choice(y.shape[0], subset_size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))
