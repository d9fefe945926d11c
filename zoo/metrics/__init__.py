"""Evaluation: the GDPP and NP papers' metrics and protocols, exact (float64) and streamed.

Pure functions on arrays (NumPy/SciPy, no TensorFlow import):

- :func:`fid`, :class:`FeatureStatistics`, :func:`frechet_distance` (:mod:`zoo.metrics.fid`)
- :func:`kid`, :func:`polynomial_mmd2` (:mod:`zoo.metrics.kid`)
- :func:`inception_score` (:mod:`zoo.metrics.inception_score`)
- :func:`precision_recall` (k=3), :func:`density_coverage` (k=5) (:mod:`zoo.metrics.prdc`)
- :func:`synthetic_modes`, :func:`stacked_modes`, :func:`triplet_labels` (:mod:`zoo.metrics.modes`)
- :func:`ndb`, :class:`NDBBins`, :func:`detectable_difference` (:mod:`zoo.metrics.ndb`)

Models and images (TensorFlow, imported on use): :func:`ivo` and :func:`fit_latents` (inference via
optimisation, :mod:`zoo.metrics.ivo`), feature extractors (:mod:`zoo.metrics.features`),
the zoo's digit classifier (:mod:`zoo.metrics.classifier`), the mid-point protocol
(:mod:`zoo.metrics.midpoint`) and :func:`evaluate` (:mod:`zoo.metrics.evaluate`), which backs
``zoo evaluate``.
"""

from zoo.metrics.evaluate import METRICS, check_settings, default_metrics, evaluate, format_table, metric_names
from zoo.metrics.features import DigitFeatures, FeatureExtractor, InceptionFeatures, get_extractor
from zoo.metrics.fid import FeatureStatistics, fid, fid_from_statistics, frechet_distance
from zoo.metrics.inception_score import inception_score
from zoo.metrics.ivo import fit_latents, ivo
from zoo.metrics.kid import kid, polynomial_mmd2
from zoo.metrics.modes import stacked_modes, synthetic_modes, triplet_labels
from zoo.metrics.ndb import NDBBins, detectable_difference, ndb
from zoo.metrics.prdc import density_coverage, precision_recall

__all__ = [
    "METRICS", "DigitFeatures", "FeatureExtractor", "FeatureStatistics", "InceptionFeatures", "NDBBins",
    "check_settings", "default_metrics", "density_coverage", "detectable_difference", "evaluate", "fid",
    "fid_from_statistics", "fit_latents", "format_table", "frechet_distance", "get_extractor", "inception_score",
    "ivo", "kid", "metric_names", "ndb", "polynomial_mmd2", "precision_recall", "stacked_modes", "synthetic_modes",
    "triplet_labels",
]
