"""k-nearest-neighbour fidelity/diversity metrics on feature matrices.

- Precision / recall (Kynkäänniemi et al. 2019, k = 3): each real sample X_i gets a ball of radius
  r_k(X_i) = distance to its k-th nearest *other* real sample. Precision = share of generated
  samples inside at least one real ball; recall = share of real samples inside at least one
  generated ball (radii from the generated set).
- Density / coverage (Naeem et al. 2020, k = 5):
  density = 1 / (k M) * sum_j sum_i 1[Y_j in B(X_i, r_k(X_i))]  (counts overlaps, can exceed 1),
  coverage = 1 / N * sum_i 1[exists j: Y_j in B(X_i, r_k(X_i))].
  For identical distributions density ~ 1 and coverage ~ 1 - 2^-k (0.97 for k = 5).

"Inside" is ``distance <= radius``. Distances are Euclidean in float64, computed in row blocks of
``block_size`` so a 50k x 50k distance matrix is never held whole (memory ~ block_size x N).
"""

from __future__ import annotations

import numpy as np

from zoo.errors import ConfigError
from zoo.metrics.fid import _as_feature_matrix


def _pair(real, fake):
    real = _as_feature_matrix(real, "real features")
    fake = _as_feature_matrix(fake, "fake features")
    if real.shape[1] != fake.shape[1]:
        raise ConfigError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}; use one extractor for both.")
    return real, fake


def _distance_blocks(x: np.ndarray, y: np.ndarray, block_size: int):
    """Yield ``(start, D)`` with ``D[a, b] = ||x[start + a] - y[b]||`` for row blocks of ``x``."""
    y_norms = np.einsum("ij,ij->i", y, y)
    for start in range(0, x.shape[0], block_size):
        block = x[start : start + block_size]
        squared = np.einsum("ij,ij->i", block, block)[:, None] + y_norms[None, :] - 2.0 * (block @ y.T)
        yield start, np.sqrt(np.clip(squared, 0.0, None))


def knn_radii(features, k: int, block_size: int = 512) -> np.ndarray:
    """Distance from each row of ``[N, D]`` features to its k-th nearest other row; ``[N]``."""
    features = _as_feature_matrix(features)
    if not 1 <= k < features.shape[0]:
        raise ConfigError(f"k={k} nearest neighbours need more than k samples; got {features.shape[0]}.")
    radii = np.empty(features.shape[0])
    for start, distances in _distance_blocks(features, features, block_size):
        # Column k of the sorted row is the k-th neighbour: column 0 is the point itself (distance 0).
        radii[start : start + distances.shape[0]] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _share_inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, block_size: int) -> float:
    inside = 0
    for _, distances in _distance_blocks(points, centres, block_size):
        inside += int((distances <= radii[None, :]).any(axis=1).sum())
    return inside / points.shape[0]


def precision_recall(real, fake, *, k: int = 3, block_size: int = 512) -> dict[str, float]:
    """Improved precision and recall of ``fake`` ``[M, D]`` against ``real`` ``[N, D]``; both in [0, 1]."""
    real, fake = _pair(real, fake)
    return {
        "precision": _share_inside(fake, real, knn_radii(real, k, block_size), block_size),
        "recall": _share_inside(real, fake, knn_radii(fake, k, block_size), block_size),
    }


def density_coverage(real, fake, *, k: int = 5, block_size: int = 512) -> dict[str, float]:
    """Density (>= 0, ~1 when matched) and coverage (in [0, 1]) of ``fake`` ``[M, D]`` against ``real`` ``[N, D]``."""
    real, fake = _pair(real, fake)
    radii = knn_radii(real, k, block_size)
    overlaps = 0
    covered = np.zeros(real.shape[0], dtype=bool)
    for _, distances in _distance_blocks(fake, real, block_size):
        inside = distances <= radii[None, :]
        overlaps += int(inside.sum())
        covered |= inside.any(axis=0)
    return {"density": overlaps / (k * fake.shape[0]), "coverage": float(covered.mean())}
