"""NDB/K, the number of statistically different bins (Richardson & Weiss, NeurIPS 2018), per bin.

The training samples (raw pixels, flattened) are partitioned into K bins by K-means; every sample
of a set belongs to the bin of its nearest centre (squared Euclidean distance, float64, the lowest
index on a tie). For bin k, with n_1 training samples of which a share p_1 fall in the bin and n_2
generated samples of which a share p_2 do, the two-proportion z-test with the pooled share is

    p = (n_1 p_1 + n_2 p_2) / (n_1 + n_2)
    z = (p_1 - p_2) / sqrt(p (1 - p) (1 / n_1 + 1 / n_2))
    bin k differs  <=>  2 Phi(-|z|) < alpha        (two-sided; alpha = 0.05)

and NDB/K = (number of bins that differ) / K, in [0, 1]. A bin whose pooled share is 0 or 1 has
nothing to test (both shares are equal) and never differs. As in the authors' ``ndb.py`` the
pixels are not whitened, and the training shares come from the same nearest-centre rule as the
generated ones, so the training set tested against itself gives exactly 0.

A model that matches the data has NDB/K near alpha (each bin is a test at level alpha: about 5 of
100 bins differ by chance), not 0; GDPP's Table 7 reports 0.04-0.06 for held-out MNIST digits.
K-means: scikit-learn's k-means++ start and Lloyd iterations (at most 100, one start; the authors
used scikit-learn's default of 10 starts), seeded, so the bins, and every NDB/K computed with them,
are deterministic for a seed.

:func:`detectable_difference` gives the test's power: the smallest change of a bin's share that it
detects with probability ``power`` (normal approximation). Few training samples per bin (large K)
make that change large relative to the share itself.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from zoo.errors import ConfigError

SIGNIFICANCE = 0.05
MAX_ITERATIONS = 100
_CHUNK = 4096  # rows per distance block: a [4096, K] float64 block, whatever the sample count


def _as_rows(samples, name: str) -> np.ndarray:
    """``[N, ...]`` samples -> float64 ``[N, D]`` rows, refused when empty or not finite."""
    rows = np.asarray(samples, dtype=np.float64)
    if rows.ndim < 2 or rows.shape[0] == 0:
        raise ConfigError(f"{name} must be a non-empty [N, ...] array of samples, got shape {rows.shape}.")
    rows = rows.reshape(rows.shape[0], -1)
    if not np.all(np.isfinite(rows)):
        raise ConfigError(f"{name} contain NaN or infinite values.")
    return rows


def two_proportion_z_test(share_1, n_1: int, share_2, n_2: int):
    """``(z, p_values)`` of the two-sided pooled two-proportion z-test, element-wise (float64).

    ``share_1``/``share_2``: shares in [0, 1] (arrays of one shape) of ``n_1`` and ``n_2`` samples.
    Where the pooled share is 0 or 1 the shares are equal: z = 0, p-value 1.
    """
    share_1, share_2 = np.asarray(share_1, np.float64), np.asarray(share_2, np.float64)
    pooled = (share_1 * n_1 + share_2 * n_2) / (n_1 + n_2)
    variance = pooled * (1.0 - pooled) * (1.0 / n_1 + 1.0 / n_2)
    safe = variance > 0
    z = np.where(safe, (share_1 - share_2) / np.sqrt(np.where(safe, variance, 1.0)), 0.0)
    return z, 2.0 * norm.cdf(-np.abs(z))


def detectable_difference(share: float, n_1: int, n_2: int, *, significance: float = SIGNIFICANCE,
                          power: float = 0.8) -> tuple[float, float]:
    """The smallest changes of a bin's share that :func:`two_proportion_z_test` detects with
    probability ``power``: ``(lower, upper)`` such that a generated share of ``share - lower`` or
    ``share + upper`` is flagged with probability ``power`` (normal approximation, one tail; the
    other tail adds less than ``significance / 2``).

    ``share``: the bin's training share (about 1/K), known from ``n_1`` training samples; ``n_2``
    generated samples. Solved by bisection on

        power = Phi((|p_1 - p_2| - z_{1 - alpha/2} sigma_0) / sigma_1),
        sigma_0^2 = p (1 - p) (1/n_1 + 1/n_2) (pooled p),  sigma_1^2 = p_1 (1 - p_1) / n_1 + p_2 (1 - p_2) / n_2.

    ``lower`` is ``share`` itself when even an empty bin is detected with less than ``power``.
    """
    if not 0 < share < 1 or not 0 < significance < 1 or not 0 < power < 1 or min(n_1, n_2) < 1:
        raise ConfigError("detectable_difference needs 0 < share, significance, power < 1 and n_1, n_2 >= 1.")
    critical, wanted = norm.ppf(1 - significance / 2), norm.ppf(power)

    def margin(other):  # > 0 once a generated share ``other`` is detected with more than ``power``
        pooled = (share * n_1 + other * n_2) / (n_1 + n_2)
        sigma_0 = np.sqrt(pooled * (1 - pooled) * (1 / n_1 + 1 / n_2))
        sigma_1 = np.sqrt(share * (1 - share) / n_1 + other * (1 - other) / n_2)
        return abs(share - other) - critical * sigma_0 - wanted * sigma_1

    def solve(near, far):
        if margin(far) <= 0:
            return far
        for _ in range(100):
            middle = 0.5 * (near + far)
            near, far = (middle, far) if margin(middle) <= 0 else (near, middle)
        return far

    return share - solve(share, 0.0), solve(share, 1.0) - share


class NDBBins:
    """K-means bins of training samples, and the NDB/K test of other sample sets against them.

    Args:
      training: ``[N, ...]`` training samples (images in the zoo's [-1, 1], or any features);
        flattened to rows. N >= ``bins``.
      bins: K >= 2.
      seed: int, the K-means seed (k-means++ start).

    Attributes:
      centres: float64 ``[K, D]`` bin centres; ``train_counts``: int64 ``[K]`` training samples per
      bin (nearest-centre rule); ``n_train``: N.
    """

    def __init__(self, training, bins: int = 100, *, seed: int = 0):
        from sklearn.cluster import KMeans

        rows = _as_rows(training, "training samples")
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ConfigError(f"bins must be an int >= 2, got {bins!r}.")
        if bins > len(rows):
            raise ConfigError(f"{bins} bins need at least as many training samples, got {len(rows)}; use fewer bins.")
        seed = int(seed)
        if not 0 <= seed < 2**32:
            raise ConfigError(f"seed must be an int in [0, 2**32), got {seed}.")
        kmeans = KMeans(bins, n_init=1, max_iter=MAX_ITERATIONS, random_state=seed).fit(rows)
        self.bins = int(bins)
        self.seed = seed
        self.centres = np.asarray(kmeans.cluster_centers_, np.float64)
        self._centre_norms = np.einsum("ij,ij->i", self.centres, self.centres)
        self.n_train = len(rows)
        self.train_counts = self.counts(rows)

    def assign(self, samples) -> np.ndarray:
        """int64 ``[N]``: the bin (nearest centre) of each of ``[N, ...]`` samples."""
        rows = _as_rows(samples, "samples")
        if rows.shape[1] != self.centres.shape[1]:
            raise ConfigError(
                f"samples have {rows.shape[1]} values each but the bins were fitted on {self.centres.shape[1]}; "
                "pass samples of the training data's shape."
            )
        labels = np.empty(len(rows), np.int64)
        for start in range(0, len(rows), _CHUNK):
            block = rows[start : start + _CHUNK]
            # ||x - c||^2 without ||x||^2, which is the same for every centre of a row.
            distances = self._centre_norms[None, :] - 2.0 * block @ self.centres.T
            labels[start : start + len(block)] = np.argmin(distances, axis=1)
        return labels

    def counts(self, samples) -> np.ndarray:
        """int64 ``[K]``: how many of ``samples`` fall in each bin (add the counts of batches)."""
        return np.bincount(self.assign(samples), minlength=self.bins).astype(np.int64)

    def test(self, samples=None, *, counts=None, significance: float = SIGNIFICANCE) -> dict:
        """NDB/K of a sample set, from the samples or from their per-bin ``counts`` (one of the two).

        Returns ``{"ndb_k": float in [0, 1], "ndb": int, "bins": K, "different": bool [K], "z": [K],
        "p_values": [K], "train_shares": [K], "sample_shares": [K], "n_samples": int}``; z > 0 where
        the samples under-fill a bin.
        """
        if (samples is None) == (counts is None):
            raise ConfigError("pass either samples or counts to NDBBins.test.")
        if not 0 < significance < 1:
            raise ConfigError(f"significance must lie in (0, 1), got {significance!r}.")
        counts = self.counts(samples) if counts is None else np.asarray(counts, np.int64)
        if counts.shape != (self.bins,) or np.any(counts < 0) or counts.sum() == 0:
            raise ConfigError(f"counts must be {self.bins} non-negative bin counts with a positive sum.")
        n_samples = int(counts.sum())
        train_shares, sample_shares = self.train_counts / self.n_train, counts / n_samples
        z, p_values = two_proportion_z_test(train_shares, self.n_train, sample_shares, n_samples)
        different = p_values < significance
        return {
            "ndb_k": float(np.count_nonzero(different) / self.bins),
            "ndb": int(np.count_nonzero(different)),
            "bins": self.bins,
            "different": different,
            "z": z,
            "p_values": p_values,
            "train_shares": train_shares,
            "sample_shares": sample_shares,
            "n_samples": n_samples,
        }


def ndb(training, samples, bins: int = 100, *, significance: float = SIGNIFICANCE, seed: int = 0) -> float:
    """NDB/K of ``samples`` against ``training`` with ``bins`` K-means bins (see the module docstring).

    ``training``, ``samples``: ``[N, ...]`` arrays of one sample shape (the GDPP paper: 20,000
    generated images). To test several sample sets against the same bins, build :class:`NDBBins`
    once and call its ``test``.
    """
    return NDBBins(training, bins, seed=seed).test(samples, significance=significance)["ndb_k"]
