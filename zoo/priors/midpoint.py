"""The interpolation density R_mu of a discretised 1-D prior, and the paper's KL and variance terms.

A prior is a probability vector ``p`` over ``N`` equal bins. For independent ``X1, X2 ~ p`` the
law of ``mu * X1 + (1 - mu) * X2`` has the density (Singh et al. 2019)

    R(y; mu) = 1 / (mu (1 - mu)) * (f(. / mu) * f(. / (1 - mu)))(y),

the convolution of the two scaled densities. On the grid (bin index units) it is evaluated at the
bin positions ``k = 0 .. N-1`` and renormalised:

    c_k = sum_i p_i f~((k - mu i) / (1 - mu)),        r = c / sum(c),

where the sum runs over the lattice of the narrower factor (``mu <= 1/2``; ``R_mu = R_{1-mu}``) and
``f~`` interpolates ``p`` linearly between bins (``p`` padded with a zero bin at each end, zero
beyond). For ``mu = 1/2`` the argument
``2k - i`` is an integer, so ``c_k = sum_i p_i p_{2k-i} = conv(p, p)[2k]``: exactly the authors'
``KL_div.m`` (self-convolution, every other sample, renormalised).

Every ``c_k`` is a sum of non-negative products, computed directly (never by FFT): an FFT's
absolute error (~1e-18 here) swamps the tail values (``c_k`` ~ 1e-17 next to bins of mass 1e-9),
and a KL with ``p log(p / r)`` terms there then moves by ~1e-9 and its gradient by far more.

All arrays are float64 NumPy; nothing here imports TensorFlow.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from zoo.errors import ConfigError

# Floor for c_k before the logarithm: c_k underflows only where p is ~1e-160 or below.
_TINY = 1e-300


class MidpointOperator:
    """The map ``p -> c`` (unnormalised R_mu on the grid) and its vector-Jacobian product.

    ``c`` is a quadratic form in ``p``, so ``vjp(p, v) = d(v . c)/dp`` is exact. ``mu = 1/2``
    splits ``p`` by index parity: ``c_k = (pe * pe)_k + (po * po)_{k-1}`` with ``pe = p[0::2]``,
    ``po = p[1::2]`` (two direct half-length convolutions, N^2/2 products, accurate to rounding in
    every entry); other ``mu`` use a sparse bilinear form with about ``2 (1 - mu') N^2`` entries,
    ``mu' = min(mu, 1 - mu)``.
    """

    def __init__(self, bins: int, mu: float = 0.5):
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ConfigError(f"bins must be an integer >= 2, got {bins!r}")
        if not 0.0 < float(mu) < 1.0:
            raise ConfigError(f"mu must lie strictly inside (0, 1), got {mu!r}")
        self.bins = int(bins)
        self.mu = float(mu)
        if self.mu != 0.5:
            self._build_sparse(min(self.mu, 1.0 - self.mu))

    def _build_sparse(self, mu: float) -> None:
        n = self.bins
        k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        t = (k - mu * i) / (1.0 - mu)
        j0 = np.floor(t).astype(np.int64)
        frac = t - j0
        rows, cols, weights = [], [], []
        for j, w in ((j0, 1.0 - frac), (j0 + 1, frac)):
            keep = (j >= 0) & (j < n) & (w > 0.0)
            rows.append((k * n + i)[keep])
            cols.append(j[keep])
            weights.append(w[keep])
        # Row (k, i) of `_interp` holds the interpolation weights of f~((k - mu i) / (1 - mu)).
        self._interp = sparse.csr_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n)
        )
        self._interp_t = self._interp.T.tocsr()

    def apply(self, p: np.ndarray) -> np.ndarray:
        """``c [N]`` (non-negative, unnormalised) for ``p [N]``."""
        n = self.bins
        if self.mu != 0.5:
            return (self._interp @ p).reshape(n, n) @ p
        even, odd = p[0::2], p[1::2]
        c = np.zeros(n)
        from_even = np.convolve(even, even)[:n]
        c[: from_even.size] += from_even
        if odd.size:
            from_odd = np.convolve(odd, odd)
            c[1 : 1 + from_odd.size] += from_odd
        return c

    def vjp(self, p: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``d (v . apply(p)) / dp`` as ``[N]``."""
        n = self.bins
        if self.mu != 0.5:
            interp_p = (self._interp @ p).reshape(n, n)
            outer = (v[:, None] * p[None, :]).ravel()
            return interp_p.T @ v + self._interp_t @ outer
        # d c_k / d p_m = 2 p_{2k-m}: g_{2a} = 2 sum_j v_{j+a} pe_j, g_{2a+1} = 2 sum_j v_{j+a+1} po_j.
        even, odd = p[0::2], p[1::2]
        grad = np.empty(n)
        grad[0::2] = 2.0 * np.correlate(v[: 2 * even.size - 1], even, "valid")
        if odd.size:
            grad[1::2] = 2.0 * np.correlate(v[1 : 2 * odd.size], odd, "valid")
        return grad


def midpoint_pmf(p, mu: float = 0.5) -> np.ndarray:
    """R_mu on the grid of ``p``: float64 ``[N]``, sums to 1."""
    p = as_pmf(p)
    c = MidpointOperator(p.size, mu).apply(p)
    return c / c.sum()


def kl_divergence(p: np.ndarray, r: np.ndarray) -> float:
    """``sum p log(p / r)`` with ``0 log 0 = 0`` (float64)."""
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / np.maximum(r[nz], _TINY))))


def midpoint_kl(p, mus=(0.5,)) -> float:
    """Mean over ``mus`` of KL(P || R_mu) on the grid of ``p`` (the paper's objective for ``(0.5,)``)."""
    p = as_pmf(p)
    mus = validate_mus(mus)
    return float(np.mean([kl_divergence(p, midpoint_pmf(p, mu)) for mu in mus]))


def index_variance(p) -> float:
    """The paper's constraint value ``(sum i^2 p_i - (sum i p_i)^2) / N`` (bin-index units)."""
    p = np.asarray(p, dtype=np.float64)
    # Centred indices: the variance is shift-invariant and centring avoids cancellation.
    i = np.arange(p.size) - (p.size - 1) / 2.0
    mean = np.dot(i, p)
    return float((np.dot(i * i, p) - mean * mean) / p.size)


def max_index_variance(bins: int) -> float:
    """The largest value :func:`index_variance` can take on ``bins`` bins: half the mass at each end."""
    return (bins - 1) ** 2 / (4.0 * bins)


def as_pmf(p) -> np.ndarray:
    """``p`` as a float64 vector after checking it is a probability vector over >= 2 bins."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size < 2:
        raise ConfigError(f"bin probabilities must be a 1-D array of >= 2 values, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ConfigError("bin probabilities must be finite and non-negative")
    total = p.sum()
    if not abs(total - 1.0) <= 1e-6:
        raise ConfigError(f"bin probabilities must sum to 1, got {total:.9g}; divide by their sum first")
    return p


def validate_mus(mus) -> tuple[float, ...]:
    """``mus`` as a non-empty tuple of floats strictly inside (0, 1)."""
    try:
        values = tuple(float(mu) for mu in np.atleast_1d(np.asarray(mus, dtype=np.float64)))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"mus must be numbers in (0, 1), got {mus!r}") from error
    if not values:
        raise ConfigError("mus must hold at least one interpolation weight in (0, 1)")
    bad = [mu for mu in values if not 0.0 < mu < 1.0]
    if bad:
        raise ConfigError(f"interpolation weights must lie strictly inside (0, 1), got {bad}")
    return values
