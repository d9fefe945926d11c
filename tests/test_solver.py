"""zoo.priors.midpoint and zoo.priors.solver: the paper's objective, R_mu, the solver, bad inputs."""

import itertools

import os
import pathlib

import numpy as np
import pytest
from scipy import io, stats

from zoo.errors import ConfigError
from zoo.priors import midpoint, solver
from zoo.priors.midpoint import MidpointOperator, index_variance, midpoint_kl, midpoint_pmf


def _authors_kl(p):
    """KL_div.m written out with loops: conv(P, P), every other sample, renormalise, sum p log(p/r)."""
    n = p.size
    full = np.zeros(2 * n - 1)
    for i, j in itertools.product(range(n), range(n)):
        full[i + j] += p[i] * p[j]
    r = full[0::2] / full[0::2].sum()
    return sum(pi * np.log(pi / ri) for pi, ri in zip(p, r) if pi > 0)


def _random_pmf(n, seed=0, concentration=1.0):
    return np.random.default_rng(seed).dirichlet(np.full(n, concentration))


def test_kl_and_variance_match_the_authors_formulas():
    for n in (2, 7, 12):
        p = _random_pmf(n, seed=n)
        assert midpoint_kl(p) == pytest.approx(_authors_kl(p), rel=1e-12)
        i = np.arange(1, n + 1)  # MATLAB's 1-based bin index
        assert index_variance(p) == pytest.approx((np.sum(i**2 * p) - np.sum(i * p) ** 2) / n, rel=1e-12)
    assert midpoint.max_index_variance(8) == pytest.approx(index_variance(np.r_[0.5, np.zeros(6), 0.5]))


def test_released_prior_kl_when_available():
    # The authors' file is never part of the project; it may sit in a checkout's sibling shared/ folder.
    default = pathlib.Path(__file__).resolve().parents[2] / "shared" / "reference" / "non_param_pdf.mat"
    path = os.environ.get("ZOO_NP_REFERENCE", str(default))
    try:
        released = io.loadmat(path)["X_final"].ravel()
    except FileNotFoundError:
        pytest.skip("the authors' released prior is not on this machine")
    assert midpoint_kl(released) == pytest.approx(0.00751, abs=5e-6)


def test_general_mu_operator_against_brute_force_and_symmetry():
    n, mu = 9, 0.3
    p = _random_pmf(n, seed=1)
    # Brute force of c_k = sum_i p_i f~((k - mu i) / (1 - mu)), f~ the linear interpolant of p
    # padded with one zero bin on each side.
    expected = np.zeros(n)
    padded = np.r_[0.0, p, 0.0]
    for k, i in itertools.product(range(n), range(n)):
        t = (k - mu * i) / (1 - mu)
        expected[k] += p[i] * np.interp(t, np.arange(-1, n + 1), padded, left=0.0, right=0.0)
    np.testing.assert_allclose(MidpointOperator(n, mu).apply(p), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(midpoint_pmf(p, 0.3), midpoint_pmf(p, 0.7), rtol=1e-12)
    # At mu = 1/2 the general (sparse) construction is the authors' formula exactly.
    general = MidpointOperator(n, 0.3)
    general._build_sparse(0.5)
    general.mu = 0.4999
    np.testing.assert_allclose(general.apply(p), np.convolve(p, p)[0::2], rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("mu", [0.5, 0.25])
def test_vjp_matches_finite_differences(mu):
    n = 10
    p, v = _random_pmf(n, seed=2), np.random.default_rng(3).normal(size=n)
    op = MidpointOperator(n, mu)
    eps = 1e-6
    numeric = [(v @ op.apply(p + eps * e) - v @ op.apply(p - eps * e)) / (2 * eps) for e in np.eye(n)]
    np.testing.assert_allclose(op.vjp(p, v), numeric, atol=1e-8)


def test_objective_gradient_matches_finite_differences():
    objective = solver.MeanKL(12, (0.5, 0.2))
    p = _random_pmf(12, seed=4)
    value, grad = objective(p)
    assert value == pytest.approx(np.mean([midpoint_kl(p, (0.5,)), midpoint_kl(p, (0.2,))]), rel=1e-12)
    eps = 1e-7
    numeric = [(objective(p + eps * e)[0] - objective(p - eps * e)[0]) / (2 * eps) for e in np.eye(12)]
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_r_mu_is_the_law_of_the_weighted_sum_for_a_smooth_prior():
    # Discretised N(0, 1) on a fine grid: mu X1 + (1 - mu) X2 ~ N(0, mu^2 + (1 - mu)^2).
    edges = np.linspace(-8, 8, 801)
    centres = (edges[:-1] + edges[1:]) / 2
    p = np.diff(stats.norm.cdf(edges))
    p /= p.sum()
    for mu in (0.5, 0.2):
        expected = np.diff(stats.norm(scale=np.hypot(mu, 1 - mu)).cdf(edges))
        np.testing.assert_allclose(midpoint_pmf(p, mu), expected / expected.sum(), atol=2e-5)
        assert abs(np.dot(midpoint_pmf(p, mu), centres)) < 1e-9


def test_solver_meets_a_symmetric_brute_force_on_five_bins():
    """The solver descends from the (flip-symmetric) uniform start and stays in the symmetric family.

    Against an independent grid search over symmetric p = (a, b, 1 - 2a - 2b, b, a): ours must be
    at least as good as every feasible grid point and within the grid's resolution of the best.
    """
    bound = 0.6
    step = 1 / 1600
    a, b = np.meshgrid(np.arange(0, 0.5 + step, step), np.arange(0, 0.5 + step, step), indexing="ij")
    c = 1 - 2 * a - 2 * b
    p = np.stack([a, b, c, b, a])
    i = np.arange(5)[:, None, None]
    variance = (np.sum(i**2 * p, 0) - np.sum(i * p, 0) ** 2) / 5
    # conv(p, p) at even lags 0, 2, 4, 6, 8.
    r = np.stack([a * a, 2 * a * c + b * b, 2 * a * a + 2 * b * b + c * c, 2 * a * c + b * b, a * a])
    r = r / r.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / r), 0.0).sum(0)
    feasible = (c >= 0) & (variance >= bound)
    best = kl[feasible].min()
    ours = solver.solve(5, bound)
    assert ours.variance >= bound * (1 - 1e-12)
    assert ours.kl <= best + 1e-9
    assert ours.kl >= best - 2e-3
    np.testing.assert_allclose(ours.probs, ours.probs[::-1], atol=1e-9)
    assert ours.kl == pytest.approx(midpoint_kl(ours.probs), rel=1e-12)


def test_two_bins_closed_form():
    # p = (q, 1 - q): R = (q^2, (1 - q)^2) / (q^2 + (1 - q)^2), so KL = 0 exactly at q = 1/2,
    # where the variance 1/8 is the grid's maximum.
    ours = solver.solve(2, 0.1)
    np.testing.assert_allclose(ours.probs, [0.5, 0.5], atol=1e-6)
    assert ours.kl < 1e-10


def test_several_mus_minimise_the_mean_kl():
    single = solver.solve(48, 0.5, mus=(0.5,), evaluations=1500)
    several = solver.solve(48, 0.5, mus=(0.2, 0.35, 0.5), evaluations=1500)
    mean_kl = lambda p: midpoint_kl(p, (0.2, 0.35, 0.5))  # noqa: E731
    assert several.kl == pytest.approx(mean_kl(several.probs), rel=1e-12)
    assert mean_kl(several.probs) < mean_kl(single.probs)
    assert several.variance >= 0.5 * (1 - 1e-12)


def test_shipped_default_is_regenerated(tmp_path):
    shipped = np.load(solver.default_path())
    assert shipped["kl"] <= 0.0062015  # the paper's released prior: 0.00751
    assert index_variance(shipped["probs"]) >= 0.75 * (1 - 1e-12)
    probs = shipped["probs"]
    assert probs.max() < 0.11 and probs[:100].sum() < 1e-3  # a central spike, not a degenerate optimum
    assert solver.main(["--write", "--output", str(tmp_path / "again.npz")]) == 0
    again = np.load(tmp_path / "again.npz")
    for key in ("domain", "variance_bound", "mus"):
        np.testing.assert_array_equal(again[key], shipped[key])
    # L-BFGS rounding differs between numpy/scipy releases (measured: 1.4e-5 on one bin from
    # numpy 2.4 / scipy 1.17), so the same solve is compared to a tolerance, not bit for bit.
    np.testing.assert_allclose(again["probs"], shipped["probs"], rtol=0, atol=1e-4)
    assert float(again["kl"]) == pytest.approx(float(shipped["kl"]), rel=1e-3)


def test_solve_nonparametric_returns_the_prior():
    prior = solver.solve_nonparametric(bins=16, variance_bound=0.5, domain=(-1.0, 1.0), latent_dim=3)
    assert prior.event_shape == [3] and prior.marginal.bins == 16
    assert (prior.marginal.low, prior.marginal.high) == (-1.0, 1.0)
    assert index_variance(prior.probs.numpy()) >= 0.5 * (1 - 1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bins": 1}, "bins must be an integer >= 2"),
        ({"bins": 10.5}, "bins must be an integer"),
        ({"mus": (0.0,)}, "strictly inside"),
        ({"mus": (0.5, 1.0)}, "strictly inside"),
        ({"mus": (-0.2,)}, "strictly inside"),
        ({"mus": ()}, "at least one"),
        ({"mus": ("half",)}, "numbers"),
        ({"variance_bound": 256.0}, "infeasible on 1024 bins.*255.5"),
        ({"variance_bound": 0.0}, "positive"),
        ({"variance_bound": float("nan")}, "positive"),
        ({"domain": (2.0, -2.0)}, "low < high"),
        ({"domain": (0.0, float("inf"))}, "low < high"),
        ({"domain": (1.0,)}, "pair"),
    ],
)
def test_bad_settings_fail_before_any_work(kwargs, message, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the solver started before validating its inputs")

    monkeypatch.setattr(solver, "MidpointOperator", no_work)
    monkeypatch.setattr(solver, "solve", no_work)
    with pytest.raises(ConfigError, match=message):
        solver.solve_nonparametric(**kwargs)


def test_cli_reports_bad_settings(capsys):
    assert solver.main(["--bins", "1"]) == 2
    assert "bins must be" in capsys.readouterr().err
