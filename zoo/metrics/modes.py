"""Mode metrics of the GDPP paper (Elfeki et al. 2019): synthetic mixtures and stacked digits.

Synthetic (``ring``, ``grid``): each generated point is assigned to its nearest mixture centre; it
is *high quality* when its Euclidean distance to that centre is at most ``3 * std``; a mode is
*captured* when at least one high-quality point is assigned to it. The centres and std are those of
``zoo.data.spec(name)``, never re-derived here.

Stacked digits: each of the three channels is classified by the zoo's digit classifier; the triplet
``100 * c0 + 10 * c1 + c2`` is the sample's class (1000 classes). Modes = number of distinct
predicted triplets; KL = ``scipy.stats.entropy(p_gen, q_train)`` = KL(generated || training label
distribution), as in the paper's code.

Empty bins in that KL: a class the generator never produced has p_gen = 0 and contributes
0 log 0 = 0 (scipy's convention, as in the paper's code). A class the generator produced but the
training distribution lacks would make the KL infinite, so the training distribution is floored at
``TRAIN_FLOOR`` = 1e-6 and renormalised; with the zoo's training sets every class has mass well
above that floor, so the floor changes nothing there.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import entropy

from zoo.errors import ConfigError

HIGH_QUALITY_STDS = 3.0
TRAIN_FLOOR = 1e-6


def synthetic_modes(points, centres, std: float, *, threshold: float = HIGH_QUALITY_STDS) -> dict:
    """Modes captured and share of high-quality samples.

    Args:
      points: ``[N, 2]`` generated points (N >= 1).
      centres: ``[K, 2]`` mixture centres.
      std: per-coordinate standard deviation of each component (> 0).
      threshold: high quality = distance to the nearest centre <= ``threshold * std``.

    Returns:
      ``{"modes": int in [0, K], "max_modes": K, "high_quality": float in [0, 1]}``.
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if points.ndim != 2 or centres.ndim != 2 or points.shape[1] != centres.shape[1] or len(points) == 0:
        raise ConfigError(
            f"expected points [N, D] and centres [K, D] of the same D, got {points.shape} and {centres.shape}; "
            "mode metrics apply to the synthetic point datasets only."
        )
    if not np.all(np.isfinite(points)):
        raise ConfigError("generated points contain NaN or infinite values.")
    if not std > 0:
        raise ConfigError(f"std must be > 0, got {std}.")
    distances = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(points)), nearest] <= threshold * std
    return {
        "modes": int(np.unique(nearest[high_quality]).size),
        "max_modes": int(len(centres)),
        "high_quality": float(high_quality.mean()),
    }


def triplet_labels(channel_labels) -> np.ndarray:
    """``[N, 3]`` per-channel digits (0..9) -> ``[N]`` triplet classes ``100 c0 + 10 c1 + c2``."""
    labels = np.asarray(channel_labels)
    if labels.ndim != 2 or labels.shape[1] != 3 or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ConfigError(f"expected [N, 3] digit labels in 0..9, got shape {labels.shape}.")
    return labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]


def stacked_modes(labels, class_probs) -> dict:
    """Distinct classes and KL(generated || training) over ``len(class_probs)`` classes.

    Args:
      labels: ``[N]`` predicted classes in ``[0, C)`` (for stacked digits, :func:`triplet_labels`).
      class_probs: ``[C]`` training label distribution (``zoo.data.spec(...).class_probs``).

    Returns:
      ``{"modes": int in [0, C], "max_modes": C, "kl": float >= 0}``.
    """
    labels = np.asarray(labels)
    q_train = np.asarray(class_probs, dtype=np.float64)
    if q_train.ndim != 1 or np.any(q_train < 0) or not np.isclose(q_train.sum(), 1.0, atol=1e-6):
        raise ConfigError("class_probs must be a 1-D probability vector.")
    if labels.ndim != 1 or len(labels) == 0 or labels.min() < 0 or labels.max() >= len(q_train):
        raise ConfigError(f"labels must be a non-empty [N] array of classes in [0, {len(q_train)}).")
    p_gen = np.bincount(labels, minlength=len(q_train)).astype(np.float64)
    p_gen /= p_gen.sum()
    q_floored = np.maximum(q_train, TRAIN_FLOOR)
    return {
        "modes": int(np.count_nonzero(p_gen)),
        "max_modes": int(len(q_train)),
        "kl": float(entropy(p_gen, q_floored / q_floored.sum())),
    }
