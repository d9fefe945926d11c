"""GDPP paper, Table 1 (papers.md 2.3/2.4): GDPP-GAN recovers every mode of ring and grid; the GAN does not.

Paper settings: the synthetic MLPs, z ~ N(0, I) 256-d, Adam D 1e-4 / G 1e-3 (beta_1 0.5, eps 1e-8),
batch 512, 25,000 iterations, 2,500 evaluation samples, a mode counts with >= 1 sample within 3 std
of its centre. About 5-10 minutes per model on two CPU cores. Run with ``pytest -m slow -s``.

Two of the paper's claims are not reproduced per seed here and are marked ``xfail`` with what was
measured (``python benchmarks/gdpp_synthetic.py --seeds 0 1 2``; README, "Reproducing the papers'
tables"); they still run and print their numbers.
"""

import keras
import pytest

from zoo import data, metrics, models

ITERATIONS = 25_000
BATCH_SIZE = 512
EVAL_SAMPLES = 2_500


def _train_and_count(name, diversity_weight, seed=0):
    keras.utils.set_random_seed(seed)  # the weight initialisers draw from Keras' global generator
    model = models.build_model({"model": "synthetic_gan", "diversity_weight": diversity_weight, "seed": seed})
    dataset = data.load(name, batch_size=BATCH_SIZE, seed=seed).repeat()
    model.fit(dataset, steps_per_epoch=ITERATIONS, epochs=1, verbose=0)
    spec = data.spec(name)
    result = metrics.synthetic_modes(model.generate(EVAL_SAMPLES, seed=(seed, 1)), spec.centres, spec.std)
    print(f"{name} diversity_weight={diversity_weight}: {result}")
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    "ring",
    pytest.param("grid", marks=pytest.mark.xfail(
        strict=False, reason="not every seed: the benchmark found 25, 25, 19 of 25 modes over seeds 0-2 at 25k "
        "iterations (the paper's mean is 24.8)")),
])
def test_gdpp_gan_recovers_all_modes(name):
    result = _train_and_count(name, models.GDPP_GAN_WEIGHT)
    assert result["modes"] == result["max_modes"], result


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param("ring", marks=pytest.mark.xfail(
        strict=False, reason="not reproduced: the benchmark's plain ring GAN keeps all 8 modes at 4-9 % high "
        "quality over seeds 0-2 (the paper's collapsed to 1)")),
    "grid",
])
def test_plain_gan_misses_modes(name):
    result = _train_and_count(name, 0.0)
    assert result["modes"] < result["max_modes"], result
