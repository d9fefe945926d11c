"""Datasets for every experiment, as tf.data pipelines and (embedded sets) NumPy arrays.

``names()`` lists them; ``load(name, batch_size=...)`` gives shuffled float32 batches (images in
[-1, 1] NHWC, points ``[B, 2]``); ``spec(name)`` gives what evaluation needs (mode centres and std,
number of classes, the training class distribution); ``arrays(name, split=...)`` gives the embedded
sets (ring, grid, digits, stacked_digits, and the real MNIST digits mnist_5k, stacked_mnist_5k)
with their labels. Bad arguments raise
:class:`zoo.errors.ConfigError`, missing data :class:`zoo.errors.DataUnavailableError`.
"""

from zoo.data.registry import arrays, load, names, spec
from zoo.data.spec import DatasetSpec

__all__ = ["DatasetSpec", "arrays", "load", "names", "spec"]
