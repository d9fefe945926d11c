"""zoo.losses: GDPP against a NumPy transcription of the authors' code, degenerate spectra, GAN/VAE terms."""

import math

import numpy as np
import pytest

from zoo._tf import tf
from zoo import losses
from zoo.errors import ConfigError


def _reference_gdpp(real, fake):
    """The authors' ``compute_diversity`` + loss (papers.md 2.2) in float64 NumPy, on the full B x B kernel.

    Plus the two documented determinisations: eigenvector signs fixed by the largest-magnitude
    component of ``v``, and the min == max guard.
    """

    def spectrum(h):
        h = h / np.linalg.norm(h, axis=1, keepdims=True)
        values, vectors = np.linalg.eigh(h @ h.T)
        pivots = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
        return values, vectors * np.where(pivots < 0, -1.0, 1.0)

    real_values, real_vectors = spectrum(np.asarray(real, np.float64))
    fake_values, fake_vectors = spectrum(np.asarray(fake, np.float64))
    magnitude = 1e-4 * np.mean((real_values - fake_values) ** 2)
    low, high = real_values.min(), real_values.max()
    weights = real_values if high - low < 1e-10 else (real_values - low) / (high - low)
    return magnitude - np.sum(weights * np.sum(fake_vectors * real_vectors, axis=0))


def _loss_and_grads(real, fake, compute_dtype="float64"):
    real = tf.constant(real, tf.float32)
    fake = tf.constant(fake, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([real, fake])
        loss = losses.gdpp_loss(real, fake, compute_dtype)
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


def test_gdpp_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(6, 10))
    fake = rng.normal(size=(6, 10))
    direction = rng.normal(size=fake.shape)
    _, _, fake_grad = _loss_and_grads(real, fake)
    step = 1e-3
    plus = _reference_gdpp(real, fake + step * direction)
    minus = _reference_gdpp(real, fake - step * direction)
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


@pytest.mark.parametrize("compute_dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_gdpp_loss_and_gradients_finite_on_degenerate_spectra(case, compute_dtype):
    real, fake = DEGENERATE[case](np.random.default_rng(0))
    loss, real_grad, fake_grad = _loss_and_grads(real, fake, compute_dtype)
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
        losses.generator_loss(fake, "wasserstein")
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
