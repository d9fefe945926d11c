"""Evaluation: the GDPP and NP papers' metrics and protocols, exact (float64) and streamed.

Pure functions on arrays (NumPy/SciPy, no TensorFlow import):

- :func:`fid`, :class:`FeatureStatistics`, :func:`frechet_distance` (:mod:`zoo.metrics.fid`)
- :func:`kid`, :func:`polynomial_mmd2` (:mod:`zoo.metrics.kid`)
- :func:`inception_score` (:mod:`zoo.metrics.inception_score`)
- :func:`precision_recall` (k=3), :func:`density_coverage` (k=5) (:mod:`zoo.metrics.prdc`)
- :func:`synthetic_modes`, :func:`stacked_modes`, :func:`triplet_labels` (:mod:`zoo.metrics.modes`)

Models and images (TensorFlow, imported on use): feature extractors (:mod:`zoo.metrics.features`),
the zoo's digit classifier (:mod:`zoo.metrics.classifier`), the mid-point protocol
(:mod:`zoo.metrics.midpoint`) and :func:`evaluate` (:mod:`zoo.metrics.evaluate`), which backs
``zoo evaluate``.
"""

from zoo.metrics.evaluate import METRICS, check_settings, default_metrics, evaluate, format_table, metric_names
from zoo.metrics.features import DigitFeatures, FeatureExtractor, InceptionFeatures, get_extractor
from zoo.metrics.fid import FeatureStatistics, fid, fid_from_statistics, frechet_distance
from zoo.metrics.inception_score import inception_score
from zoo.metrics.kid import kid, polynomial_mmd2
from zoo.metrics.modes import stacked_modes, synthetic_modes, triplet_labels
from zoo.metrics.prdc import density_coverage, precision_recall

__all__ = [
    "METRICS", "DigitFeatures", "FeatureExtractor", "FeatureStatistics", "InceptionFeatures",
    "check_settings", "default_metrics", "density_coverage", "evaluate", "fid", "fid_from_statistics", "format_table",
    "frechet_distance", "get_extractor", "inception_score", "kid", "metric_names", "polynomial_mmd2",
    "precision_recall", "stacked_modes", "synthetic_modes", "triplet_labels",
]
