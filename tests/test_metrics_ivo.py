"""Inference via optimisation (zoo.metrics.ivo): known answers, determinism, the model kinds."""

import numpy as np
import pytest

from zoo._tf import tf
from zoo.errors import ConfigError
from zoo.metrics.ivo import fit_latents, ivo
from zoo.priors import LatentPrior


class SmoothGenerator:
    """A 4-d latent through a fixed linear map and tanh to 6x6 images in (-1, 1): the images
    G(z*) of any z* are exactly reachable, and the fit is a smooth least-squares problem."""

    latent_dim = 4
    element_shape = (6, 6, 1)

    def __init__(self):
        self.prior = LatentPrior("normal", latent_dim=self.latent_dim)
        self.weights = tf.constant(np.random.default_rng(0).normal(size=(4, 36)).astype(np.float32) * 0.3)

    def latents_to_images(self, z, training=False):
        return tf.reshape(tf.tanh(z @ self.weights), [-1, *self.element_shape])


@pytest.fixture(scope="module")
def smooth():
    return SmoothGenerator()


def test_images_the_generator_can_make_are_fitted_to_zero(smooth):
    target_latents = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    images = smooth.latents_to_images(target_latents).numpy()
    latents, mse = fit_latents(smooth, images, seed=0)
    assert mse.shape == (40,) and latents.shape == (40, 4)
    assert mse.max() < 1e-10
    np.testing.assert_allclose(latents, target_latents, atol=1e-3)  # the map is injective


def test_deterministic_for_a_seed_whatever_the_batching(smooth):
    # Random images are not reachable: the fit stops at a non-zero, start-dependent error.
    images = np.random.default_rng(2).uniform(-1, 1, size=(30, 6, 6, 1)).astype(np.float32)
    first = ivo(smooth, images, seed=3)
    assert 0.05 < first < 0.5
    assert ivo(smooth, images, seed=3) == first
    assert ivo(smooth, images, seed=3, batch_size=7) == pytest.approx(first, rel=1e-5)
    # One start and one iteration fit worse than the defaults (3 starts, 25 iterations).
    assert ivo(smooth, images, seed=3, starts=1, iterations=1) > first


def test_dcgan_and_vae_decode_through_their_own_networks():
    from zoo import data
    from zoo.models import build_model

    images, _ = data.arrays("digits", split="test")
    images = images[:8]
    for kind in ("dcgan", "vae"):
        model = build_model({"model": kind, "image_size": 28, "channels": 1, "width": 8, "latent_dim": 8})
        latents, mse = fit_latents(model, images, iterations=3, seed=0)
        assert latents.shape == (8, 8) and np.all((mse >= 0) & (mse <= 1))
        # The reported error is that of the returned latents, on [0, 1] pixels.
        decoded = model.generator(latents) if kind == "dcgan" else model.decode(latents)
        expected = np.mean(((np.asarray(decoded) - images) / 2) ** 2, axis=(1, 2, 3))
        np.testing.assert_allclose(mse, expected, rtol=1e-4)


def test_bad_inputs_are_refused(smooth):
    with pytest.raises(ConfigError, match=r"\[N, 6, 6, 1\]"):
        ivo(smooth, np.zeros((3, 5, 5, 1), np.float32))
    with pytest.raises(ConfigError, match="NaN"):
        ivo(smooth, np.full((3, 6, 6, 1), np.nan, np.float32))
    with pytest.raises(ConfigError, match="starts must be an int >= 1"):
        ivo(smooth, np.zeros((3, 6, 6, 1), np.float32), starts=0)
