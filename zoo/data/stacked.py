"""The stacked-digits recipe shared by ``stacked_digits`` and ``stacked_mnist``.

A stacked example is three single-digit images used as the R, G and B channels; its class is the
triplet ``100*c0 + 10*c1 + c2`` (1000 classes). Two class distributions are offered:

- ``"uniform"``: every class equally often (``num_examples // 1000`` copies each, the remainder
  spread over the first classes, then shuffled);
- ``"gdpp"``: the GDPP paper's Stacked-MNIST recipe (``generate_stackedMnist_data.py``): 30% of the
  examples cycle through the 1000 classes (15 copies each for 50,000 examples) and 70% draw their
  class from ``Normal(700, 200)``, rounded to the nearest integer and clipped to ``[0, 999]``.

Each channel's image is drawn uniformly at random among the source images of that digit.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from zoo.data import _checks
from zoo.data.spec import DatasetSpec
from zoo.errors import DataUnavailableError

NUM_CLASSES = 1000
DISTRIBUTIONS = ("gdpp", "uniform")
# 50,000 is the GDPP Stacked-MNIST size; the test split is smaller, as MNIST's is.
DEFAULT_NUM_EXAMPLES = {"train": 50_000, "test": 10_000}
GDPP_UNIFORM_FRACTION = 0.3
GDPP_MEAN = 700.0
GDPP_STD = 200.0


def settings(name: str, split: str, options: dict) -> tuple[str, int]:
    """``(distribution, num_examples)`` from a stacked dataset's options (``num_examples=None``: default)."""
    what = f"option 'distribution' of dataset {name!r}"
    distribution = _checks.choice(options["distribution"], what, DISTRIBUTIONS)
    num_examples = options["num_examples"]
    if num_examples is None:
        num_examples = DEFAULT_NUM_EXAMPLES[split]
    return distribution, _checks.positive_int(num_examples, f"option 'num_examples' of dataset {name!r}")


def spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    """Spec of a stacked set: ``[S, S, 3]`` images, 1000 classes, ``class_probs`` the recipe's law."""
    distribution, _ = settings(name, "train", options)
    return DatasetSpec(
        name=name,
        kind="images",
        element_shape=(image_size, image_size, 3),
        num_classes=NUM_CLASSES,
        class_probs=class_probs(distribution),
    )


def plan(num_examples: int, distribution: str, digit_labels: np.ndarray, rng: np.random.Generator):
    """``(labels [N] int64, sources [N, 3] int64)``: classes drawn with the recipe, and for each the
    indices of the single-digit pool images (labels ``digit_labels``) that become its channels."""
    labels = class_labels(num_examples, distribution, rng)
    return labels, source_indices(labels, digit_labels, rng)


def class_labels(num_examples: int, distribution: str, rng: np.random.Generator) -> np.ndarray:
    """``[num_examples]`` int64 triplet classes in ``[0, 999]`` drawn with the named recipe, shuffled."""
    if distribution == "uniform":
        labels = np.arange(num_examples) % NUM_CLASSES
    else:
        num_uniform = int(round(GDPP_UNIFORM_FRACTION * num_examples))
        normal = rng.normal(GDPP_MEAN, GDPP_STD, size=num_examples - num_uniform)
        labels = np.concatenate([np.arange(num_uniform) % NUM_CLASSES, np.clip(np.rint(normal), 0, NUM_CLASSES - 1)])
    return rng.permutation(labels.astype(np.int64))


def class_probs(distribution: str) -> np.ndarray:
    """``[1000]`` float64: the analytic class law of the recipe (the limit of many examples).

    For ``"gdpp"``: ``0.3 / 1000 + 0.7 * P(clip(round(N(700, 200)), 0, 999) = c)``. The law, not a
    generated histogram, because it does not depend on the seed or the number of examples, and it is
    positive on every class, so KL(generated || training) stays finite; the histogram of
    ``arrays(...)[1]`` differs from it only by sampling noise.
    """
    if distribution == "uniform":
        return np.full(NUM_CLASSES, 1.0 / NUM_CLASSES)
    edges = np.arange(NUM_CLASSES + 1, dtype=np.float64) - 0.5
    cdf = special.ndtr((edges - GDPP_MEAN) / GDPP_STD)
    # Rounding then clipping sends all the mass below 0 to class 0 and above 999 to class 999.
    cdf[0], cdf[-1] = 0.0, 1.0
    normal = np.diff(cdf)
    return GDPP_UNIFORM_FRACTION / NUM_CLASSES + (1.0 - GDPP_UNIFORM_FRACTION) * normal


def digits_of(labels: np.ndarray) -> np.ndarray:
    """``[N, 3]`` int64 digits ``(c0, c1, c2)`` of triplet classes ``[N]``."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.stack([labels // 100, (labels // 10) % 10, labels % 10], axis=1)


def source_indices(labels: np.ndarray, digit_labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``[N, 3]`` int64 indices into the single-digit pool whose digits spell each triplet class.

    ``digit_labels`` is ``[M]`` (0..9), the labels of the pool; every digit must occur in it.
    """
    wanted = digits_of(labels)
    sources = np.empty_like(wanted)
    for digit in range(10):
        pool = np.flatnonzero(digit_labels == digit)
        mask = wanted == digit
        if mask.any() and not len(pool):
            raise DataUnavailableError(
                f"cannot stack digit {digit}: the source split has no image of it ({len(digit_labels)} images)."
            )
        sources[mask] = pool[rng.integers(0, len(pool), size=int(mask.sum()))]
    return sources


def stack_numpy(pool: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """``[N, H, W, 3]`` from a ``[M, H, W]`` or ``[M, H, W, 1]`` pool and ``[N, 3]`` sources."""
    if pool.ndim == 4:
        pool = pool[..., 0]
    return np.stack([pool[sources[:, k]] for k in range(3)], axis=-1)
