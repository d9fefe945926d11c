"""zoo.priors: the distributions, seeds, XLA, SavedModel export and the Keras holder."""

import math

import numpy as np
import pytest
from scipy import stats

from zoo._tf import tf

import keras  # noqa: E402

from zoo import priors
from zoo.errors import ConfigError
from zoo.priors import nonparametric
from zoo.priors.nonparametric import Histogram, count_less_equal

N_SAMPLES = 20000


def _all_priors(latent_dim=4):
    return [priors.get(name, latent_dim) for name in priors.names()]


def test_names_and_unknown_name_lists_choices():
    assert priors.names() == ["cauchy", "gamma", "nonparametric", "normal", "uniform"]
    with pytest.raises(ConfigError, match="cauchy, gamma, nonparametric, normal, uniform"):
        priors.get("laplace", 10)
    with pytest.raises(ConfigError, match="latent_dim"):
        priors.get("normal", 0)
    with pytest.raises(ConfigError, match="bad parameters"):
        priors.get("normal", 3, sigma=2.0)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("uniform", {"low": 1.0, "high": 1.0}, "low < high"),
        ("normal", {"scale": 0.0}, "scale must be > 0"),
        ("cauchy", {"scale": float("nan")}, "finite"),
        ("gamma", {"concentration": -1.0}, "concentration must be > 0"),
        ("nonparametric", {"probs": [0.5, 0.6]}, "sum to 1"),
        ("nonparametric", {"probs": [1.5, -0.5]}, "non-negative"),
        ("nonparametric", {"probs": [1.0]}, ">= 2"),
        ("nonparametric", {"probs": [[0.5, 0.5]]}, "1-D"),
        ("nonparametric", {"probs": [0.5, float("nan")]}, "finite"),
        ("nonparametric", {"probs": [0.5, 0.5], "low": 2.0, "high": -2.0}, "low < high"),
    ],
)
def test_bad_parameters_raise_config_error(name, params, message):
    with pytest.raises(ConfigError, match=message):
        priors.get(name, 3, **params)
    with pytest.raises(ConfigError, match=message):
        priors.LatentPrior(name, 3, params=params)


def test_event_shape_dtype_and_seed_forms():
    for prior in _all_priors(latent_dim=5):
        assert prior.event_shape == [5] and prior.batch_shape == []
        z = prior.sample(7, seed=(3, 4))
        assert z.shape == (7, 5) and z.dtype == tf.float32
        same = [
            prior.sample(7, seed=[3, 4]),
            prior.sample(7, seed=tf.constant([3, 4], tf.int32)),
            prior.sample(7, seed=priors.as_seed(np.array([3, 4], np.int64))),
        ]
        for other in same:
            np.testing.assert_array_equal(z.numpy(), other.numpy())
        assert not np.array_equal(z.numpy(), prior.sample(7, seed=(3, 5)).numpy()), prior.kind
        # Graph rewrites may reorder float arithmetic: equal to the last ulp, same random stream.
        graph = tf.function(lambda seed, p=prior: p.sample(7, seed=seed))(tf.constant([3, 4]))
        np.testing.assert_allclose(z.numpy(), graph.numpy(), rtol=1e-6, atol=1e-7)
        assert np.all(np.isfinite(prior.log_prob(z).numpy()))


def test_int_seed_means_zero_pair_and_no_seed_draws_fresh_values():
    histogram = Histogram(np.ones(8) / 8)
    for prior in [*_all_priors(latent_dim=3), histogram]:
        np.testing.assert_array_equal(prior.sample(5, seed=42).numpy(), prior.sample(5, seed=(0, 42)).numpy())
        assert not np.array_equal(prior.sample(5).numpy(), prior.sample(5).numpy())
    layer = priors.LatentPrior("nonparametric", 3)
    np.testing.assert_array_equal(layer.sample(4, 9).numpy(), layer.sample(4, (0, 9)).numpy())
    assert not np.array_equal(layer.sample(4).numpy(), layer.sample(4).numpy())


def test_priors_are_tfp_citizens(caplog):
    tfd = priors.distributions.tfd
    traces = []

    @tf.function
    def draw(distribution):
        traces.append(None)
        return distribution.sample(2, seed=(1, 2))

    for name in priors.names():
        prior = priors.get(name, 3)
        # copy() and slicing rebuild the prior from its parameters (no TFP subclass warning below).
        for rebuilt in (prior.copy(), prior[...]):
            np.testing.assert_array_equal(rebuilt.sample(4, seed=1).numpy(), prior.sample(4, seed=1).numpy())
        traces.clear()
        first, second = draw(prior), draw(priors.get(name, 3))  # a CompositeTensor: one trace for equal priors
        assert len(traces) == 1, name
        np.testing.assert_array_equal(first.numpy(), second.numpy())
        mode = prior.mode().numpy()  # the Gamma prior's density is infinite there: compare, don't require finite
        assert mode.shape == (3,), name
        assert prior.log_prob(mode[None]).numpy()[0] >= prior.log_prob(prior.sample(100, seed=0)).numpy().max(), name
        bijector = prior.experimental_default_event_space_bijector()
        inside = bijector.forward(tf.constant([[-30.0, 0.0, 30.0]]))
        assert np.all(np.isfinite(prior.log_prob(inside).numpy())), name
        assert float(tfd.kl_divergence(prior, priors.get(name, 3))) == pytest.approx(0.0, abs=1e-6)
        z = tf.constant(prior.sample(4, seed=3))
        with tf.GradientTape() as tape:
            tape.watch(z)
            log_prob = prior.log_prob(z)
        gradient = tape.gradient(log_prob, z)
        assert gradient is not None and np.all(np.isfinite(gradient.numpy())), name
    uniform_gradient = tf.zeros([1, 3])
    with tf.GradientTape() as tape:
        tape.watch(uniform_gradient)
        log_prob = priors.get("uniform", 3).log_prob(uniform_gradient)
    np.testing.assert_array_equal(tape.gradient(log_prob, uniform_gradient).numpy(), 0.0)
    assert "_parameter_properties" not in caplog.text  # TFP's warning for subclasses without them
    assert priors.get("uniform", 3, low=-2.0, high=4.0).mode().numpy().tolist() == [1.0] * 3
    assert np.isnan(priors.get("gamma", 2, concentration=3.0).mode().numpy()).all()  # a sphere of modes


def test_kl_divergences_have_their_closed_forms():
    tfd = priors.distributions.tfd
    normal = float(tfd.kl_divergence(priors.get("normal", 4), priors.get("normal", 4, loc=1.0, scale=2.0)))
    assert normal == pytest.approx(4 * (math.log(2.0) + (1 + 1) / 8 - 0.5), rel=1e-6)
    p, q = np.array([0.5, 0.25, 0.25, 0.0]), np.array([0.25, 0.25, 0.25, 0.25])
    expected = 0.5 * math.log(2.0)
    assert float(tfd.kl_divergence(Histogram(p), Histogram(q))) == pytest.approx(expected, rel=1e-6)
    assert float(tfd.kl_divergence(Histogram(q), Histogram(p))) == math.inf
    two = priors.NonParametric(probs=p, latent_dim=2), priors.NonParametric(probs=q, latent_dim=2)
    assert float(tfd.kl_divergence(*two)) == pytest.approx(2 * expected, rel=1e-6)
    gammas = priors.get("gamma", 3), priors.get("gamma", 3, concentration=1.0, scale=2.0)
    assert float(tfd.kl_divergence(*gammas)) == pytest.approx(
        float(tfd.kl_divergence(gammas[0].radius2, gammas[1].radius2)))
    with pytest.raises(ConfigError, match="one grid"):
        tfd.kl_divergence(Histogram(p), Histogram(p, low=-1.0, high=1.0))
    with pytest.raises(ConfigError, match="one event size"):
        tfd.kl_divergence(priors.get("normal", 3), priors.get("normal", 4))
    with pytest.raises(NotImplementedError):
        tfd.kl_divergence(priors.get("normal", 3), priors.get("cauchy", 3))


def test_as_seed_forms_and_errors():
    np.testing.assert_array_equal(priors.as_seed(7).numpy(), [0, 7])
    assert priors.as_seed(tf.constant([1, 2], tf.int64)).dtype == tf.int32
    for bad in (None, (1, 2, 3), "ab", [1.5, 2.0], True, np.bool_(True), 5.0):
        with pytest.raises(ConfigError):
            priors.as_seed(bad)


def test_integer_seeds_of_every_type_are_accepted_and_out_of_range_ones_refused():
    # Issue 34 item 6: 2**40 drew seed 0's samples, -1 those of 2**32 - 1, NumPy/TF integers were refused.
    prior = priors.get("normal", latent_dim=3)
    reference = prior.sample(2, seed=5).numpy()
    for five in (np.int64(5), np.int32(5), np.uint32(5), np.array(5), tf.constant(5), tf.constant(5, tf.int64),
                 (0, 5), np.array([0, 5], np.int64)):
        np.testing.assert_array_equal(prior.sample(2, seed=five).numpy(), reference)
    symbolic = tf.function(lambda seed: prior.sample(2, seed=seed))
    np.testing.assert_array_equal(symbolic(tf.constant(5)).numpy(), reference)  # a 0-d tensor argument
    # The whole 32-bit range is usable and every word is its own seed.
    top = prior.sample(2, seed=2**32 - 1).numpy()
    np.testing.assert_array_equal(priors.as_seed(2**32 - 1).numpy(), [0, -1])
    np.testing.assert_array_equal(priors.as_seed(3_000_000_000).numpy(), [0, 3_000_000_000 - 2**32])
    assert not np.array_equal(top, prior.sample(2, seed=0).numpy())
    for bad in (2**32, 2**40, -1, np.int64(-1), np.uint64(2**63)):
        with pytest.raises(ConfigError, match="between 0 and 4294967295"):
            prior.sample(2, seed=bad)
    with pytest.raises(ConfigError, match="values of a seed pair must be int32"):
        priors.as_seed((0, 2**40))
    # The data pipelines follow the same convention (they took only int32 seeds before).
    from zoo import data

    points, _ = data.arrays("ring", seed=2**32 - 1)
    np.testing.assert_array_equal(points, data.arrays("ring", seed=np.uint32(2**32 - 1))[0])
    assert not np.array_equal(points, data.arrays("ring", seed=0)[0])
    with pytest.raises(ConfigError, match="between 0 and 4294967295"):
        data.arrays("ring", seed=2**40)


@pytest.mark.parametrize("name", ["cauchy", "gamma", "nonparametric", "normal", "uniform"])
def test_log_prob_checks_the_event_size_as_tfp_does(name):
    # Issue 34 item 5: a 4-d prior returned a number for 3-d or 5-d latents (gamma: +inf).
    prior = priors.get(name, latent_dim=4)
    tfd = priors.distributions.tfd
    reference = tfd.Independent(tfd.Normal(tf.zeros(4), 1.0), 1)  # TFP's own behaviour, for comparison
    for wrong in (np.zeros([3], np.float32), np.zeros([2, 5], np.float32)):
        with pytest.raises(ValueError, match="Dimensions must be equal"):  # TFP, static shapes
            tf.function(lambda x: reference.log_prob(x))(wrong)
        with pytest.raises(ConfigError, match=r"Incompatible shapes: latents of shape \[.*\] vs. the event shape \[4\]"):
            prior.log_prob(wrong)
    # Sizes known only at run time fail there, with TensorFlow's message (as TFP's do).
    dynamic = tf.function(lambda x: prior.log_prob(x), input_signature=[tf.TensorSpec([None, None], tf.float32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        dynamic(np.zeros([2, 5], np.float32))
    z = prior.sample(3, seed=1).numpy()
    np.testing.assert_allclose(dynamic(z).numpy(), prior.log_prob(z).numpy(), rtol=1e-6)
    # A last axis of 1 (or a scalar) broadcasts over the event, as in TFP.
    half = np.full([2, 1], 0.5, np.float32)
    np.testing.assert_allclose(prior.log_prob(half).numpy(), prior.log_prob(np.full([2, 4], 0.5, np.float32)).numpy())
    np.testing.assert_allclose(prior.log_prob(np.float32(0.5)).numpy(), prior.log_prob(np.full([4], 0.5, np.float32)))


@pytest.mark.parametrize("jit", [False, True])
def test_nan_latents_give_nan_densities_for_every_prior(jit):
    # Issue 34 item 5: the non-parametric prior raised a raw GatherV2 error (and gave -inf under XLA).
    x = np.array([[np.nan, 0.1, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4]], np.float32)
    for prior in _all_priors(latent_dim=4):
        log_prob = tf.function(lambda x, p=prior: p.log_prob(x), jit_compile=jit)(x).numpy()
        assert np.isnan(log_prob[0]) and np.isfinite(log_prob[1]), (prior.kind, log_prob)
    marginal = priors.get("nonparametric", latent_dim=4).marginal
    for method in (marginal.prob, marginal.log_prob, marginal.cdf, marginal.quantile):
        values = tf.function(method, jit_compile=jit)(tf.constant([np.nan, 0.25], tf.float32)).numpy()
        assert np.isnan(values[0]) and np.isfinite(values[1]), (method.__name__, values)


def test_xla_sampling_compiles_and_reproduces():
    seed = tf.constant([5, 6], tf.int64)
    for prior in _all_priors(latent_dim=6):
        sample = tf.function(lambda seed, p=prior: p.sample(32, seed=priors.as_seed(seed)), jit_compile=True)
        z = sample(seed).numpy()
        np.testing.assert_array_equal(z, sample(seed).numpy())
        assert z.shape == (32, 6) and np.all(np.isfinite(z))
    # Per-row sampling (a While loop) under XLA, for the prior models train with by default.
    layer = priors.as_layer("nonparametric", 6)
    per_row = tf.function(layer.sample_per_row, jit_compile=True)
    rows = per_row(tf.constant([[1, 2], [3, 4]])).numpy()
    assert rows.shape == (2, 6) and np.all(np.isfinite(rows))
    np.testing.assert_array_equal(rows[1:], per_row(tf.constant([[3, 4]])).numpy())


def _coordinate_samples(prior, seed=(11, 12)):
    return prior.sample(N_SAMPLES // prior.latent_dim, seed=seed).numpy().ravel().astype(np.float64)


@pytest.mark.parametrize("name", ["uniform", "normal", "cauchy", "nonparametric", "gamma"])
def test_coordinates_pass_kolmogorov_smirnov_against_cdf(name):
    prior = priors.get(name, 4)
    x = _coordinate_samples(prior)
    result = stats.kstest(x, prior.coordinate_cdf)
    assert result.pvalue > 1e-3, result


def test_moments_against_analytic_values():
    x = _coordinate_samples(priors.get("uniform", 4, low=-1.0, high=3.0))
    assert abs(x.mean() - 1.0) < 0.05 and abs(x.var() - 16 / 12) < 0.05
    x = _coordinate_samples(priors.get("normal", 4, loc=0.5, scale=2.0))
    assert abs(x.mean() - 0.5) < 0.06 and abs(x.var() - 4.0) < 0.15
    # Cauchy: no moments; its quartiles are loc -/+ scale.
    x = _coordinate_samples(priors.get("cauchy", 4))
    np.testing.assert_allclose(np.quantile(x, [0.25, 0.5, 0.75]), [-1.0, 0.0, 1.0], atol=0.05)
    prior = priors.get("nonparametric", 4)
    x = _coordinate_samples(prior)
    probs = priors.default_probs()
    centres = np.linspace(-2, 2, probs.size + 1)[:-1] + 2.0 / probs.size
    mean = probs @ centres
    variance = probs @ centres**2 - mean**2 + (4.0 / probs.size) ** 2 / 12
    np.testing.assert_allclose(prior.marginal.mean().numpy(), mean, atol=1e-6)
    np.testing.assert_allclose(prior.marginal.variance().numpy(), variance, rtol=1e-5)
    assert abs(x.mean() - mean) < 4 * math.sqrt(variance / x.size)
    # The prior is peaked with thin far tails, so the sample variance is noisy: bound it by its own
    # standard error, sqrt((m4 - variance^2) / n), m4 the sample's fourth central moment.
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(x.var() - variance) < 5 * math.sqrt((m4 - variance**2) / x.size)


def test_gamma_norm_law_and_density():
    prior = priors.get("gamma", 10)
    assert prior.scale == 20.0 and prior.concentration == 0.5
    z = prior.sample(N_SAMPLES, seed=(1, 2)).numpy().astype(np.float64)
    radius2 = np.sum(z**2, axis=1)
    result = stats.kstest(radius2, stats.gamma(a=0.5, scale=20.0).cdf)
    assert result.pvalue > 1e-3, result
    np.testing.assert_allclose(z.var(axis=0).mean(), 1.0, atol=0.05)  # unit per-coordinate variance
    directions = z / np.sqrt(radius2)[:, None]
    assert np.abs(directions.mean(axis=0)).max() < 0.03
    # The density integrates to 1: in 2-D, over rings of area 2 pi rho d rho.
    planar = priors.get("gamma", 2, concentration=1.5, scale=3.0)
    rho = np.linspace(1e-4, 40.0, 400001)
    points = np.stack([rho, np.zeros_like(rho)], axis=1).astype(np.float32)
    density = np.exp(planar.log_prob(points).numpy().astype(np.float64))
    np.testing.assert_allclose(np.trapezoid(density * 2 * np.pi * rho, rho), 1.0, atol=2e-3)
    assert priors.get("gamma", 3, scale=1.0).prior_params == {"concentration": 0.5, "scale": 1.0}


def _histogram():
    probs = np.random.default_rng(0).dirichlet(np.full(50, 0.5))
    probs[7] = 0.0  # an empty bin must not break cdf/quantile
    return Histogram(probs / probs.sum(), low=-1.5, high=2.5), probs / probs.sum()


def test_histogram_density_cdf_quantile_entropy():
    hist, probs = _histogram()
    edges = hist.edges.numpy().astype(np.float64)
    np.testing.assert_allclose(edges, np.linspace(-1.5, 2.5, 51), atol=1e-6)
    # Density integrates to 1: exact midpoint rule on a grid refining every bin 16 times.
    fine = np.linspace(-1.5, 2.5, 50 * 16 + 1)
    mids = ((fine[:-1] + fine[1:]) / 2).astype(np.float32)
    density = hist.prob(mids).numpy().astype(np.float64)
    np.testing.assert_allclose(np.sum(density * np.diff(fine)), 1.0, atol=1e-6)
    assert hist.prob(np.float32(-1.6)).numpy() == 0.0 and hist.log_prob(np.float32(2.6)).numpy() == -np.inf
    # quantile(cdf(x)) == x wherever the density is positive, up to the float32 resolution of the
    # cdf (~6e-8) divided by the density there.
    x, positive = mids[density > 0], density[density > 0]
    error = np.abs(hist.quantile(hist.cdf(x)).numpy() - x)
    assert np.all(error <= 1e-5 + 2.0**-22 / positive), error.max()
    q = np.linspace(0.001, 0.999, 101).astype(np.float32)
    np.testing.assert_allclose(hist.cdf(hist.quantile(q)).numpy(), q, atol=1e-6)
    np.testing.assert_allclose(hist.cdf(edges.astype(np.float32)).numpy(), np.r_[0, np.cumsum(probs)], atol=1e-6)
    width = 4.0 / 50
    nz = probs > 0
    np.testing.assert_allclose(hist.entropy().numpy(), -np.sum(probs[nz] * np.log(probs[nz] / width)), rtol=1e-5)
    z = hist.sample(N_SAMPLES, seed=(4, 2)).numpy()
    assert z.min() >= -1.5 and z.max() <= 2.5
    assert not np.any((z >= edges[7]) & (z < edges[8]))  # the empty bin is never drawn
    assert stats.kstest(z.astype(np.float64), lambda t: hist.cdf(t.astype(np.float32)).numpy()).pvalue > 1e-3


def test_sampling_table_puts_every_cell_inside_one_bin_with_the_rounded_cdf():
    probs = np.r_[0.0, np.random.default_rng(5).dirichlet(np.full(11, 0.3)), 1e-9]
    probs /= probs.sum()
    low, high = -1.5, 2.5
    hist = Histogram(probs, low=low, high=high)
    cells = 2**nonparametric.CELL_BITS
    edges = np.linspace(low, high, probs.size + 1)
    # Every word, cell by cell at the two extreme positions and the middle: h = -2^15, 0, 2^15 - 1.
    cell = np.arange(cells, dtype=np.int64)
    values = [hist.from_words(tf.constant(((h << 16) | cell).astype(np.uint32))).numpy().astype(np.float64)
              for h in (-(2**15), 0, 2**15 - 1)]
    first, middle, last = values
    assert first.min() >= low and last.max() <= high
    bins = np.searchsorted(edges, middle, side="right") - 1
    # No cell straddles a bin edge (up to the float32 rounding of the values).
    ulp = float(np.spacing(np.float32(max(abs(low), abs(high)))))
    assert np.all(first >= edges[bins] - ulp) and np.all(last <= edges[bins + 1] + ulp)
    assert np.all(np.diff(middle) > 0)  # cells follow the quantile function
    # A bin's sampled mass is its cell count / 2^16: within 2^-16 of probs, and the CDF within 2^-17.
    mass = np.bincount(bins, minlength=probs.size) / cells
    assert np.abs(mass - probs).max() <= 2.0**-16
    assert np.abs(np.cumsum(mass) - np.cumsum(probs)).max() <= 2.0**-17 + 1e-15
    assert mass[0] == 0.0 and mass[-1] == 0.0  # the empty bin and one lighter than 2^-17 are never drawn
    # Inside a cell the 2^16 positions map linearly onto the cell's slice (1/n_k) of its bin.
    slope = nonparametric.sampling_table(probs, low, high)[:, 1].astype(np.float64)
    count = np.bincount(bins, minlength=probs.size)[bins]
    np.testing.assert_allclose(slope * cells * count / (edges[1] - edges[0]), 1.0, rtol=1e-6)
    with pytest.raises(ConfigError, match="32-bit words"):
        hist.from_words(tf.constant([1, 2], tf.int64))


def test_layer_rebuilds_the_sampling_table_from_probs_when_loading():
    """Files saved with the earlier alias-table sampler hold probs and two int tables: they load."""
    probs = np.random.default_rng(2).dirichlet(np.ones(32))
    layer = priors.LatentPrior("nonparametric", 3, {"probs": probs.tolist()})
    other = priors.LatentPrior("nonparametric", 3, {"probs": np.full(32, 1 / 32).tolist()})
    other.load_own_variables({"0": probs, "1": np.zeros(32, np.int64), "2": np.zeros(32, np.int32)})
    np.testing.assert_array_equal(other.sampling_table.numpy(), layer.sampling_table.numpy())
    np.testing.assert_array_equal(other.sample(5, seed=(1, 2)).numpy(), layer.sample(5, seed=(1, 2)).numpy())
    with pytest.raises(ConfigError, match="expected 32 bin probabilities"):
        other.load_own_variables({"0": np.full(8, 1 / 8)})


def test_rows_are_vectorised_and_equal_single_draws_bit_for_bit():
    """sample_rows replays TensorFlow's Philox stream per seed: no loop, same bits as sample(1, seed)."""
    from zoo.priors import streams

    seeds = np.random.default_rng(3).integers(-(2**31), 2**31, size=(40, 2)).astype(np.int32)
    seeds[:3] = [[0, 0], [-1, -1], [2**31 - 1, -(2**31)]]
    for count in (1, 3, 4, 7, 101):
        native = np.stack([streams.words([count], seed).numpy() for seed in seeds])
        np.testing.assert_array_equal(streams.row_words(seeds, count).numpy(), native)
    for prior in (priors.get("uniform", 7, low=-2.0, high=3.0), priors.get("nonparametric", 7),
                  priors.NonParametric([0.2, 0.0, 0.5, 0.3], latent_dim=7)):
        assert prior.draws_from_words
        rows = tf.function(prior.sample_rows)(tf.constant(seeds)).numpy()
        single = np.stack([prior.sample(1, seed=seed)[0].numpy() for seed in seeds])
        np.testing.assert_array_equal(rows, single)
        ops = {op.type for op in tf.function(prior.sample_rows).get_concrete_function(
            tf.TensorSpec([None, 2], tf.int32)).graph.get_operations()}
        assert not ops & {"While", "StatelessWhile"}, prior


def test_count_less_equal_matches_searchsorted():
    values = np.sort(np.random.default_rng(1).integers(0, 100, size=37)).astype(np.int64)
    queries = np.arange(-2, 103, dtype=np.int64)
    got = count_less_equal(tf.constant(values), tf.constant(queries)).numpy()
    np.testing.assert_array_equal(got, np.searchsorted(values, queries, side="right"))


def test_nonparametric_exposes_probs_edges_and_default_prior():
    prior = priors.get("nonparametric", 3)
    probs = priors.default_probs()
    assert probs.shape == (1024,) and abs(probs.sum() - 1.0) < 1e-12
    np.testing.assert_array_equal(prior.probs.numpy(), probs)
    assert prior.edges.shape == (1025,)
    assert prior.marginal.low == -2.0 and prior.marginal.high == 2.0


# ---------------------------------------------------------------------------------------------
# LatentPrior, as_layer, serialisation, export


def test_as_layer_accepts_names_layers_and_distributions():
    layer = priors.as_layer("Normal", 8)
    assert isinstance(layer, priors.LatentPrior) and layer.kind == "normal" and layer.latent_dim == 8
    assert priors.as_layer(layer, 8) is layer
    from_dist = priors.as_layer(priors.Uniform(low=-2.0, high=2.0, latent_dim=8), 8)
    assert from_dist.kind == "uniform" and from_dist.params == {"low": -2.0, "high": 2.0}
    custom = np.full(16, 1 / 16)
    np_layer = priors.as_layer(priors.NonParametric(custom, latent_dim=8), 8)
    np.testing.assert_array_equal(np_layer.probs.numpy(), custom)
    with pytest.raises(ConfigError, match="event size 8 .* latent_dim is 9"):
        priors.as_layer(layer, 9)
    with pytest.raises(ConfigError, match="event size 8"):
        priors.as_layer(priors.Normal(latent_dim=8), 9)
    with pytest.raises(ConfigError, match="cauchy, gamma"):
        priors.as_layer("lognormal", 8)
    with pytest.raises(ConfigError, match="a prior must be"):
        priors.as_layer(3.0, 8)


def test_layer_sampling_matches_distribution_and_rows_are_independent():
    for name in priors.names():
        layer = priors.LatentPrior(name, 6)
        np.testing.assert_array_equal(
            layer.sample(4, (1, 2)).numpy(), layer.distribution().sample(4, seed=(1, 2)).numpy()
        )
        seeds = np.array([[1, 2], [3, 4], [5, 6]], np.int64)
        rows = layer.sample_per_row(seeds).numpy()
        alone = layer.sample_per_row(seeds[1:2]).numpy()
        np.testing.assert_array_equal(rows[1:2], alone)
        np.testing.assert_array_equal(rows[2], layer.sample(1, seeds[2])[0].numpy())


@pytest.mark.parametrize(
    "kind, params",
    [("uniform", {"low": -2.0, "high": 2.0}), ("gamma", None), ("nonparametric", None),
     ("nonparametric", {"probs": [0.25, 0.5, 0.25], "low": -1.0, "high": 1.0})],
)
def test_keras_round_trip(kind, params, tmp_path):
    layer = priors.LatentPrior(kind, 4, params=params, name="prior")
    clone = priors.LatentPrior.from_config(layer.get_config())
    assert (clone.kind, clone.latent_dim, clone.params) == (layer.kind, layer.latent_dim, layer.params)
    seeds = keras.Input((2,), dtype="int32")
    model = keras.Model(seeds, keras.layers.Dense(3)(layer(seeds)))
    batch = np.array([[1, 2], [7, 9]], np.int32)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded(batch).numpy(), model(batch).numpy())
    restored = loaded.get_layer("prior")
    assert isinstance(restored, priors.LatentPrior)
    for ours, theirs in zip(layer.weights, restored.weights):
        assert theirs.dtype == ours.dtype
        np.testing.assert_array_equal(theirs.numpy(), ours.numpy())
    if kind == "nonparametric":
        assert restored.probs.dtype == "float64" and not restored.probs.trainable


def test_nonparametric_weights_restore_into_default_layer(tmp_path):
    """Saved probabilities win over the shipped default when weights are loaded."""
    layer = priors.LatentPrior("nonparametric", 2)
    other = priors.default_probs()[::-1].copy()
    layer.set_probs(other)
    path = tmp_path / "prior.weights.h5"
    model = keras.Sequential([keras.Input((2,), dtype="int32"), layer])
    model.save_weights(path)
    fresh = keras.Sequential([keras.Input((2,), dtype="int32"), priors.LatentPrior("nonparametric", 2)])
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.layers[0].probs.numpy(), other)
    np.testing.assert_array_equal(fresh.layers[0].sample(5, (1, 2)).numpy(), layer.sample(5, (1, 2)).numpy())
    with pytest.raises(ConfigError, match="expected 1024"):
        layer.set_probs([0.5, 0.5])
    with pytest.raises(ConfigError, match="nonparametric"):
        priors.LatentPrior("normal", 2).set_probs([0.5, 0.5])


def test_prior_inside_jit_compiled_train_step():
    class Toy(keras.Model):
        def __init__(self):
            super().__init__()
            self.prior = priors.as_layer("nonparametric", 3)
            self.dense = keras.layers.Dense(1)
            self.seeds = keras.random.SeedGenerator(7)

        def call(self, z):
            return self.dense(z)

        def train_step(self, data):
            z = self.prior.sample(tf.shape(data)[0], self.seeds.next())  # int64 Keras seed
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(z) - data))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            return {"loss": loss}

    model = Toy()
    model(np.zeros((1, 3), np.float32))
    model.compile(optimizer="sgd", jit_compile=True)
    history = model.fit(np.zeros((8, 1), np.float32), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


_FORBIDDEN_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def _saved_model_ops(path):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    ops, names = set(), set()
    for meta_graph in proto.meta_graphs:
        ops |= {node.op for node in meta_graph.graph_def.node}
        for function in meta_graph.graph_def.library.function:
            ops |= {node.op for node in function.node_def}
            names.add(function.signature.name)
    return ops - names  # calls into library functions appear as ops named after the function


def test_exported_sampler_holds_only_core_ops(tmp_path):
    from tensorflow.python.framework import op_def_registry

    for name in ("nonparametric", "gamma"):
        layer = priors.LatentPrior(name, 5)
        module = tf.Module()
        module.prior = layer
        module.per_row = tf.function(layer.sample_per_row, input_signature=[tf.TensorSpec([None, 2], tf.int32)])
        module.sample = tf.function(
            layer.sample, input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.int32)]
        )
        path = tmp_path / name
        tf.saved_model.save(module, str(path), signatures={"serving_default": module.per_row})
        ops = _saved_model_ops(path)
        assert "StatelessRandomUniformV2" in ops or "StatelessRandomUniformFullIntV2" in ops
        for op in ops:
            assert op_def_registry.get(op) is not None and hasattr(tf.raw_ops, op), f"{op} is not a core TF op"
        assert not ops & _FORBIDDEN_OPS
        loaded = tf.saved_model.load(str(path))
        seeds = tf.constant([[1, 2], [3, 4]], tf.int32)
        np.testing.assert_array_equal(loaded.per_row(seeds).numpy(), layer.sample_per_row(seeds).numpy())
        served = loaded.signatures["serving_default"](seeds=seeds)
        np.testing.assert_array_equal(next(iter(served.values())).numpy(), layer.sample_per_row(seeds).numpy())
        np.testing.assert_array_equal(
            loaded.sample(tf.constant(3), tf.constant([8, 9])).numpy(), layer.sample(3, (8, 9)).numpy()
        )
