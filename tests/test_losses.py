"""zoo.losses: GDPP against a NumPy transcription of the authors' code, degenerate spectra, GAN/VAE terms."""

import math

import numpy as np
import pytest

from zoo._tf import tf
from zoo import losses
from zoo.errors import ConfigError


def _reference_gdpp(real, fake, eigenvalue_term="authors_code", centre_features=False):
    """The authors' ``compute_diversity`` + loss (papers.md 2.2) in float64 NumPy, on the full B x B kernel.

    Plus the two documented determinisations: eigenvector signs fixed by the largest-magnitude
    component of ``v``, and the min == max guard; and the two options beyond the authors' code: the
    paper's equation-5 eigenvalue term (``sum``, weight 1) and batch-centred features.
    """

    def spectrum(h):
        if centre_features:
            h = h - h.mean(axis=0, keepdims=True)
        norms = np.linalg.norm(h, axis=1, keepdims=True)
        h = h / np.where(norms > 0, norms, 1.0)
        values, vectors = np.linalg.eigh(h @ h.T)
        pivots = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
        return values, vectors * np.where(pivots < 0, -1.0, 1.0)

    real_values, real_vectors = spectrum(np.asarray(real, np.float64))
    fake_values, fake_vectors = spectrum(np.asarray(fake, np.float64))
    squared = (real_values - fake_values) ** 2
    magnitude = np.sum(squared) if eigenvalue_term == "paper_sum" else 1e-4 * np.mean(squared)
    low, high = real_values.min(), real_values.max()
    weights = real_values if high - low < 1e-10 else (real_values - low) / (high - low)
    return magnitude - np.sum(weights * np.sum(fake_vectors * real_vectors, axis=0))


def _loss_and_grads(real, fake, compute_dtype="float64", **options):
    real = tf.constant(real, tf.float32)
    fake = tf.constant(fake, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([real, fake])
        loss = losses.gdpp_loss(real, fake, compute_dtype, **options)
    real_grad, fake_grad = tape.gradient(loss, [real, fake])
    return float(loss), real_grad.numpy(), fake_grad.numpy()


# B <= d uses the B x B kernel, B > d the d x d dual Gram (as in the synthetic task, 512 x 128).
SHAPES = [(8, 16), (16, 16), (64, 8), (128, 32)]


@pytest.mark.parametrize("batch,dims", SHAPES)
def test_gdpp_matches_numpy_reference(batch, dims):
    rng = np.random.default_rng(batch * 1000 + dims)
    real = rng.normal(size=(batch, dims)).astype(np.float32)
    fake = (real + rng.normal(scale=0.7, size=(batch, dims))).astype(np.float32)
    expected = _reference_gdpp(real, fake)
    # float64 decomposition: only the float32 result cast and the dropped ~1e-16 eigenvalues differ.
    assert float(losses.gdpp_loss(real, fake)) == pytest.approx(expected, abs=1e-5, rel=1e-5)
    # float32 decomposition: eigenvector rounding of well-separated spectra.
    assert float(losses.gdpp_loss(real, fake, "float32")) == pytest.approx(expected, abs=2e-3)


@pytest.mark.parametrize("batch,dims", SHAPES)
def test_identical_batches_give_minus_sum_of_normalised_eigenvalues(batch, dims):
    rng = np.random.default_rng(7)
    real = rng.normal(size=(batch, dims)).astype(np.float32)
    normalised = real / np.linalg.norm(real, axis=1, keepdims=True)
    values = np.linalg.eigvalsh(normalised.astype(np.float64) @ normalised.T.astype(np.float64))
    structure_minimum = -np.sum((values - values.min()) / (values.max() - values.min()))
    loss, _, fake_grad = _loss_and_grads(real, real)
    # Eigenvalue term 0 and every eigenvector agrees with itself: the structure term's minimum.
    assert loss == pytest.approx(structure_minimum, abs=1e-4)
    assert np.all(np.isfinite(fake_grad))
    # Any other fake batch scores higher (the structure term is bounded below by -sum(weights)).
    other = rng.normal(size=(batch, dims)).astype(np.float32)
    assert float(losses.gdpp_loss(real, other)) > loss + 0.1


# The options beyond the authors' code (docs/models.md): (eigenvalue_term, centre_features).
VARIANTS = [("authors_code", False), ("paper_sum", False), ("authors_code", True), ("paper_sum", True)]


@pytest.mark.parametrize("eigenvalue_term,centre_features", VARIANTS[1:])
@pytest.mark.parametrize("batch,dims", SHAPES)
def test_gdpp_variants_match_numpy_reference(batch, dims, eigenvalue_term, centre_features):
    rng = np.random.default_rng(batch * 1000 + dims + 1)
    # A shared offset, as post-activation features have: centring removes it.
    real = (rng.normal(size=(batch, dims)) + 3.0).astype(np.float32)
    fake = (real + rng.normal(scale=0.7, size=(batch, dims))).astype(np.float32)
    expected = _reference_gdpp(real, fake, eigenvalue_term, centre_features)
    got = losses.gdpp_loss(real, fake, eigenvalue_term=eigenvalue_term, centre_features=centre_features)
    assert float(got) == pytest.approx(expected, abs=1e-5, rel=1e-5)


def test_paper_sum_adds_the_closed_form_eigenvalue_sum():
    # Closed form: only the eigenvalue term differs, sum(d**2) (paper, eq. 5) vs 1e-4 * mean(d**2)
    # (the authors' code), with d the difference of the two ascending spectra.
    rng = np.random.default_rng(11)
    real = rng.normal(size=(12, 20))
    for fake in (rng.normal(size=(12, 20)), real[::-1] * 2.0 + rng.normal(scale=0.1, size=(12, 20))):
        unit = lambda h: h / np.linalg.norm(h, axis=1, keepdims=True)  # noqa: E731
        squared = np.sum((np.linalg.eigvalsh(unit(real) @ unit(real).T) - np.linalg.eigvalsh(unit(fake) @ unit(fake).T)) ** 2)
        paper = float(losses.gdpp_loss(real, fake, eigenvalue_term="paper_sum"))
        code = float(losses.gdpp_loss(real, fake))
        assert paper - code == pytest.approx(squared * (1 - 1e-4 / 12), rel=1e-5, abs=1e-6)
    # Identical batches: equal spectra, the eigenvalue term is 0 under both.
    assert float(losses.gdpp_loss(real, real, eigenvalue_term="paper_sum")) == pytest.approx(
        float(losses.gdpp_loss(real, real)), abs=1e-6)


def test_centred_features_drop_a_shared_offset_and_see_a_collapse():
    rng = np.random.default_rng(5)
    # Four clusters (the "modes") under one large shared offset, as post-activation features have.
    centres = 3.0 * rng.normal(size=(4, 32))
    draw = lambda modes: centres[modes] + 0.3 * rng.normal(size=(len(modes), 32))  # noqa: E731
    real, fake, collapsed = draw(np.arange(16) % 4), draw(np.arange(16) % 4), draw(np.zeros(16, int))
    offset = 20.0 * rng.normal(size=(1, 32))
    # Centred, the offset drops out exactly.
    assert float(losses.gdpp_loss(real + offset, fake + offset, centre_features=True)) == pytest.approx(
        float(losses.gdpp_loss(real, fake, centre_features=True)), abs=1e-5)

    def gap(**options):  # loss of a batch collapsed onto one mode minus that of a batch with all four
        loss = lambda f: float(losses.gdpp_loss(real + offset, f + offset, **options))  # noqa: E731
        return loss(collapsed) - loss(fake)

    # The authors' code: the shared direction dominates both kernels, the loss barely tells the
    # collapsed batch from the diverse one (about 0.02). Each option widens the gap, both together most.
    authors, paper, centred, both = gap(), gap(eigenvalue_term="paper_sum"), gap(centre_features=True), gap(
        eigenvalue_term="paper_sum", centre_features=True)
    assert 0 < authors < 0.05
    assert paper > 3 * authors and centred > 1.0 and both > 10.0


@pytest.mark.parametrize("eigenvalue_term,centre_features", VARIANTS)
def test_gdpp_gradient_matches_finite_differences(eigenvalue_term, centre_features):
    rng = np.random.default_rng(3)
    real = rng.normal(size=(6, 10))
    fake = rng.normal(size=(6, 10))
    direction = rng.normal(size=fake.shape)
    options = dict(eigenvalue_term=eigenvalue_term, centre_features=centre_features)
    _, _, fake_grad = _loss_and_grads(real, fake, **options)
    step = 1e-3
    plus = _reference_gdpp(real, fake + step * direction, **options)
    minus = _reference_gdpp(real, fake - step * direction, **options)
    numeric = (plus - minus) / (2 * step)
    assert np.sum(fake_grad * direction) == pytest.approx(numeric, rel=2e-3, abs=1e-4)


DEGENERATE = {
    # B > d: the kernel has rank <= d, so B - d eigenvalues are exactly 0.
    "batch_larger_than_features": lambda rng: (rng.normal(size=(64, 8)), rng.normal(size=(64, 8))),
    # Identical rows: kernel of ones, eigenvalues (0, ..., 0, B).
    "identical_rows": lambda rng: (np.ones((16, 32)), np.ones((16, 32))),
    "fake_rows_identical": lambda rng: (rng.normal(size=(16, 32)), np.tile(rng.normal(size=(1, 32)), (16, 1))),
    "identical_rows_batch_larger": lambda rng: (np.tile(rng.normal(size=(1, 4)), (32, 1)), rng.normal(size=(32, 4))),
    # Orthonormal rows: identity kernel, all eigenvalues 1 (the min == max guard).
    "all_equal_eigenvalues": lambda rng: (np.eye(16, 32), np.eye(16, 32)[::-1]),
    # Zero features (a dead ReLU layer): l2_normalize keeps them 0, the kernel is 0.
    "zero_features": lambda rng: (np.zeros((16, 32)), rng.normal(size=(16, 32))),
    # Repeated clusters: 4-fold degenerate nonzero eigenvalues.
    "repeated_clusters": lambda rng: (np.repeat(np.eye(4, 32), 4, axis=0), np.repeat(np.eye(4, 32)[::-1], 4, axis=0)),
    # Nearly degenerate (gaps ~1e-6): the exact eigenvector gradient (1 / gap) reaches ~1e6 here.
    "nearly_repeated_clusters": lambda rng: (
        np.repeat(np.eye(4, 32), 4, axis=0) + 1e-6 * rng.normal(size=(16, 32)),
        np.repeat(np.eye(4, 32)[::-1], 4, axis=0) + 1e-6 * rng.normal(size=(16, 32)),
    ),
    "fake_nearly_orthonormal": lambda rng: (rng.normal(size=(16, 32)), np.eye(16, 32) + 1e-6 * rng.normal(size=(16, 32))),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("compute_dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_gdpp_loss_and_gradients_finite_on_degenerate_spectra(case, compute_dtype, variant):
    real, fake = DEGENERATE[case](np.random.default_rng(0))
    eigenvalue_term, centre_features = variant
    loss, real_grad, fake_grad = _loss_and_grads(real, fake, compute_dtype, eigenvalue_term=eigenvalue_term,
                                                 centre_features=centre_features)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(real_grad)) and np.all(np.isfinite(fake_grad))
    # Bounded as well as finite: the damping caps the eigenvector pair factor (undamped: up to 1e6).
    assert np.abs(fake_grad).max() < 1e3 and np.abs(real_grad).max() < 1e3


def test_gdpp_rejects_bad_shapes_and_single_sample_batches():
    with pytest.raises(ConfigError, match="same shape"):
        losses.gdpp_loss(np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(ConfigError, match="same shape"):
        losses.gdpp_loss(np.zeros((4, 3, 2)), np.zeros((4, 3, 2)))
    with pytest.raises(ConfigError, match="at least 2"):
        losses.gdpp_loss(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(ConfigError, match="compute_dtype"):
        losses.gdpp_loss(np.ones((2, 3)), np.ones((2, 3)), "float16")
    with pytest.raises(ConfigError, match="eigenvalue_term must be 'authors_code'.*'paper_sum'"):
        losses.gdpp_loss(np.ones((2, 3)), np.ones((2, 3)), eigenvalue_term="paper")
    with pytest.raises(ConfigError, match="centre_features must be true or false"):
        losses.gdpp_loss(np.ones((2, 3)), np.ones((2, 3)), centre_features="yes")


def test_gdpp_takes_integer_features_and_refuses_non_numbers():
    # Issue 34 item 12: integer arrays gave a raw TensorFlow error (IsFinite has no int kernel).
    rng = np.random.default_rng(3)
    real, fake = rng.integers(-5, 5, size=(6, 4)), rng.integers(-5, 5, size=(6, 4))
    expected = _reference_gdpp(real, fake)
    assert float(losses.gdpp_loss(real.astype(np.int32), fake.astype(np.int64))) == pytest.approx(expected, abs=1e-6)
    assert float(losses.gdpp_loss(real.tolist(), fake.astype(np.float32))) == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ConfigError, match="real-valued features .* fake_features has dtype bool"):
        losses.gdpp_loss(real.astype(np.float32), fake > 0)
    with pytest.raises(ConfigError, match="real_features has dtype string"):
        losses.gdpp_loss([["a", "b"], ["c", "d"]], fake[:2, :2].astype(np.float32))


def test_gdpp_is_zero_with_zero_gradients_on_a_dynamic_batch_of_one():
    loss = tf.function(lambda r, f: losses.gdpp_loss(r, f), input_signature=[tf.TensorSpec([None, 3], tf.float32)] * 2)
    one, fake = tf.constant([[1.0, 2.0, 3.0]]), tf.Variable([[3.0, 1.0, 0.5]])
    with tf.GradientTape() as tape:
        value = loss(one, fake)
    assert float(value) == 0.0
    np.testing.assert_array_equal(tape.gradient(value, fake).numpy(), 0.0)
    rows = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    assert float(loss(rows, rows[::-1])) == pytest.approx(float(losses.gdpp_loss(rows, rows[::-1])))


def test_gdpp_works_under_xla_and_float16_inputs():
    rng = np.random.default_rng(1)
    real = tf.constant(rng.normal(size=(32, 8)), tf.float16)
    fake = tf.Variable(rng.normal(size=(32, 8)), dtype=tf.float16)

    @tf.function(jit_compile=True)
    def step():
        with tf.GradientTape() as tape:
            loss = losses.gdpp_loss(real, fake)
        return loss, tape.gradient(loss, fake)

    loss, grad = step()
    assert loss.dtype == tf.float32
    assert float(loss) == pytest.approx(_reference_gdpp(real.numpy(), fake.numpy()), abs=1e-4)
    assert np.all(np.isfinite(grad.numpy()))


def test_adversarial_losses():
    zeros = tf.zeros([4, 1])
    assert float(losses.discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert float(losses.generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    # One-sided smoothing moves only the real target: BCE(0.9, logit) at logit 0 is still log 2, at
    # a confident real logit it no longer goes to 0.
    confident = tf.fill([4, 1], 10.0)
    smoothed = float(losses.discriminator_loss(confident, -confident, label_smoothing=0.1))
    assert smoothed == pytest.approx(0.1 * 10.0 + math.log1p(math.exp(-10.0)) + math.log1p(math.exp(-10.0)), rel=1e-4)
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-2.0], [0.5]])
    assert float(losses.discriminator_loss(real, fake, "hinge")) == pytest.approx((0 + 0.5) / 2 + (0 + 1.5) / 2)
    assert float(losses.generator_loss(fake, "hinge")) == pytest.approx(0.75)
    with pytest.raises(ConfigError, match="adversarial loss"):
        losses.generator_loss(fake, "least_squares")
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.discriminator_loss(real, fake, "hinge", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.discriminator_loss(real, fake, label_smoothing=1.0)


def _bce(target, logit):
    """Binary cross-entropy of one logit against a soft target, in closed form."""
    return -target * math.log(1 / (1 + math.exp(-logit))) - (1 - target) * math.log(1 / (1 + math.exp(logit)))


def test_two_sided_label_smoothing_matches_the_closed_form():
    # The GDPP Stacked-MNIST code: D targets 0.9 (real) / 0.1 (fake), G target 0.9.
    real, fake = tf.constant([[3.0], [-1.0]]), tf.constant([[-2.0], [0.5]])
    expected_d = (_bce(0.9, 3.0) + _bce(0.9, -1.0)) / 2 + (_bce(0.1, -2.0) + _bce(0.1, 0.5)) / 2
    got_d = float(losses.discriminator_loss(real, fake, label_smoothing=0.1, two_sided=True))
    assert got_d == pytest.approx(expected_d, rel=1e-6)
    one_sided = (_bce(0.9, 3.0) + _bce(0.9, -1.0)) / 2 + (_bce(0.0, -2.0) + _bce(0.0, 0.5)) / 2
    assert float(losses.discriminator_loss(real, fake, label_smoothing=0.1)) == pytest.approx(one_sided, rel=1e-6)
    expected_g = (_bce(0.9, -2.0) + _bce(0.9, 0.5)) / 2
    assert float(losses.generator_loss(fake, label_smoothing=0.1)) == pytest.approx(expected_g, rel=1e-6)
    # A 0.9 target is met exactly at logit log(9): the generator stops pushing there.
    at_target = tf.Variable([[math.log(9.0)]])
    with tf.GradientTape() as tape:
        loss = losses.generator_loss(at_target, label_smoothing=0.1)
    assert abs(float(tape.gradient(loss, at_target)[0, 0])) < 1e-6
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.generator_loss(fake, "hinge", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.generator_loss(fake, label_smoothing=-0.1)


def test_vae_terms_match_numpy():
    rng = np.random.default_rng(2)
    images = rng.uniform(-1, 1, size=(3, 4, 4, 1)).astype(np.float32)
    logits = rng.normal(size=images.shape).astype(np.float32)
    target = (images + 1) / 2
    probs = 1 / (1 + np.exp(-logits))
    bce = -(target * np.log(probs) + (1 - target) * np.log(1 - probs))
    assert float(losses.vae_reconstruction_loss(images, logits)) == pytest.approx(bce.sum(axis=(1, 2, 3)).mean(), rel=1e-5)
    gaussian = 0.5 * ((images - np.tanh(logits)) / 0.5) ** 2
    assert float(losses.vae_reconstruction_loss(images, logits, "gaussian", scale=0.5)) == pytest.approx(
        gaussian.sum(axis=(1, 2, 3)).mean(), rel=1e-5
    )
    mean, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    kl = 0.5 * (mean**2 + np.exp(logvar) - logvar - 1).sum(axis=1).mean()
    assert float(losses.gaussian_kl(mean, logvar)) == pytest.approx(kl, rel=1e-5)
    assert float(losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)))) == 0.0
    with pytest.raises(ConfigError, match="reconstruction loss"):
        losses.vae_reconstruction_loss(images, logits, "laplace")
    with pytest.raises(ConfigError, match="scale"):
        losses.vae_reconstruction_loss(images, logits, "gaussian", scale=0.0)


@pytest.mark.parametrize("batch, dims", [(8, 16), (16, 4)])
def test_gdpp_turns_non_finite_features_into_a_nan_loss(batch, dims):
    # A diverging run must reach the NaN stop with a NaN loss, not abort inside the eigensolver.
    real = np.random.default_rng(0).normal(size=(batch, dims)).astype("float32")
    fake = real.copy()
    fake[0, 0] = np.nan
    fake[1] = np.inf
    loss = tf.function(losses.gdpp_loss)(tf.constant(real), tf.constant(fake))
    assert np.isnan(float(loss))
    assert np.isfinite(float(losses.gdpp_loss(real, real)))
