"""Model methods on edge-case batches: empty in, empty out (no internal TensorFlow error)."""

import numpy as np

from zoo import models


def test_vae_encode_decode_reconstruct_an_empty_batch():
    vae = models.build_model({"model": "vae", "image_size": 28, "channels": 1, "latent_dim": 4, "width": 4})
    mean, logvar = vae.encode(np.zeros((0, 28, 28, 1), np.float32))
    assert mean.shape == logvar.shape == (0, 4) and mean.dtype == np.float32
    assert vae.reconstruct(np.zeros((0, 28, 28, 1), np.float32)).shape == (0, 28, 28, 1)
    assert vae.encode(np.zeros((2, 28, 28, 1), np.float32))[0].shape == (2, 4)
