"""Inception Score from classifier logits or probabilities, in float64.

IS = exp( mean_i KL(p(y | x_i) || p(y)) ),  p(y) = mean_i p(y | x_i).

Two variants exist and give different numbers, so both are offered and named:

- ``splits=1`` (default): the whole set at once, as TF-GAN's ``classifier_score_from_logits``.
- ``splits=10``: the original OpenAI code: the set is cut into 10 consecutive (near-)equal parts, the
  score is computed on each, and mean and standard deviation over parts are reported (the GDPP
  paper's CIFAR numbers, "6.58 +- 0.10", use this).

With ``C`` classes the score lies in [1, C]: 1 when every sample has the same prediction, C when
predictions are confident and spread evenly over all classes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from zoo.errors import ConfigError


def _log_probabilities(logits=None, probabilities=None) -> np.ndarray:
    if (logits is None) == (probabilities is None):
        raise ConfigError("pass exactly one of logits or probabilities.")
    values = np.asarray(logits if logits is not None else probabilities, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ConfigError(f"expected a [N, C] matrix with C >= 2 classes, got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ConfigError("classifier outputs contain NaN or infinite values.")
    if logits is not None:
        return log_softmax(values, axis=1)
    if np.any(values < 0) or not np.allclose(values.sum(axis=1), 1.0, atol=1e-4):
        raise ConfigError("probabilities must be non-negative and sum to 1 per row; pass logits= instead.")
    with np.errstate(divide="ignore"):
        return np.log(values)


def _score(log_p: np.ndarray) -> float:
    p = np.exp(log_p)
    # 0 * log 0 = 0: zero-probability entries (and classes nobody predicts) contribute nothing.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_marginal = np.log(p.mean(axis=0))
        terms = np.where(p > 0, p * (log_p - log_marginal), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def inception_score(logits=None, *, probabilities=None, splits: int = 1):
    """Inception score of ``[N, C]`` logits (or probabilities); returns ``(mean, std)`` over splits."""
    log_p = _log_probabilities(logits, probabilities)
    if not 1 <= splits <= log_p.shape[0]:
        raise ConfigError(f"splits must lie in [1, N={log_p.shape[0]}], got {splits}.")
    scores = [_score(part) for part in np.array_split(log_p, splits)]
    return float(np.mean(scores)), float(np.std(scores))
