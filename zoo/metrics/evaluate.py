"""``evaluate(model, ...)``: the papers' metrics for a trained zoo model (DCGAN, VAE, ...), as one dict.

Which metrics apply depends on the dataset kind (``zoo.data.spec``):

==========  ==========================================  ==========================
kind        metrics                                      defaults
==========  ==========================================  ==========================
points      modes (modes, high_quality_pct)             modes
digits      digits-fid, digits-kid, digits-is,          F-fid, precision-recall,
            mnist-fid, mnist-kid, mnist-is,             density-coverage (prior
            mnist2-fid, mnist2-kid, mnist2-is,          and mid-point)
            precision-recall, density-coverage,
            inception-fid, inception-kid
stacked     modes (modes, kl), inception-*              modes
images      inception-fid, inception-kid,               inception-fid (prior and
            precision-recall, density-coverage          mid-point)
==========  ==========================================  ==========================

Every image kind (digits, stacked, images) also has ``ndb`` (NDB/K on K-means bins of the
training pixels, :mod:`zoo.metrics.ndb`; one result ``ndb-kK`` per K of ``ndb_bins``) and ``ivo``
(inference via optimisation on held-out images, :mod:`zoo.metrics.ivo`), on request only: the
K-means and the L-BFGS fits take minutes on a CPU.

One-channel digit sets and stacked sets are read by the classifier of their family F
(:func:`zoo.metrics.classifier.for_dataset`): ``mnist`` for ``mnist_5k``, ``stacked_mnist_5k``,
``mnist`` and ``stacked_mnist``, ``digits`` otherwise; it gives the default FID, the features of
precision/recall and density/coverage, and the per-channel digits of the stacked mode count.
``precision-recall`` always brings ``density-coverage`` with it: precision alone is fooled by a
collapsed generator (one constant grey image scores precision 1.0 on digits; docs/evaluation.md).

Models that encode (``encodes``: the VAE) add ``reconstruction`` (per-pixel MSE of the images
decoded from the posterior means of held-out images) and
``posterior-kl`` (mean KL(q(z|x) || prior), analytic for a normal prior, else a one-draw Monte-Carlo
estimate) to their defaults. Sample metrics run on ``samples`` generated samples; with
``midpoint=True`` also on as many mid-points (:mod:`zoo.metrics.midpoint`). Reference statistics
come from the dataset's ``train`` split (at most 50,000 samples, read from ``data_dir`` for the
sets that need one, such as ``folder``; their features are cached per process and directory).
Generated samples are processed ``batch_size`` at a time: only features (and, for points, the
points) are kept.

Batch norm. By default (``batch_norm="moving"``) the generator samples as ``generate`` does, its
batch-norm layers normalising with their moving statistics. ``batch_norm="batch"`` is the GDPP
authors' protocol (their tflib batch norm always uses the current batch's statistics, and their
evaluation draws the prior in batches of 64): the generator runs in training mode on batches of
exactly ``batch_norm_batch_size`` latents (a last partial batch is completed with the set's first
latents, whose samples are dropped), and every weight and moving statistic is restored bit for bit
afterwards. The latents are the same under both protocols.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time

import numpy as np

from zoo.errors import ConfigError
from zoo.metrics.classifier import CLASSIFIERS, for_dataset as classifier_for

#: metric name -> (dataset kinds it applies to, one-line description)
METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "modes": (("points", "stacked"), "GDPP mode count; % high quality (points) or KL to the training labels (stacked)"),
    "digits-fid": (("digits",), "FID on the zoo digit classifier's 128-d features"),
    "digits-kid": (("digits",), "KID (cubic kernel, subsets of 1000) on digit-classifier features"),
    "digits-is": (("digits",), "Inception Score (whole-set variant) from the digit classifier's logits"),
    "mnist-fid": (("digits",), "FID on the zoo MNIST classifier's 128-d features"),
    "mnist-kid": (("digits",), "KID (cubic kernel, subsets of 1000) on MNIST-classifier features"),
    "mnist-is": (("digits",), "Inception Score (whole-set variant) from the MNIST classifier's logits"),
    "mnist2-fid": (("digits",), "FID on the second MNIST classifier's 128-d features (another net, seed, training)"),
    "mnist2-kid": (("digits",), "KID (cubic kernel, subsets of 1000) on second-MNIST-classifier features"),
    "mnist2-is": (("digits",), "Inception Score (whole-set variant) from the second MNIST classifier's logits"),
    "precision-recall": (("digits", "images"), "improved precision/recall, k=3 (density/coverage come with it)"),
    "density-coverage": (("digits", "images"), "density/coverage, k=5"),
    "inception-fid": (("digits", "stacked", "images"), "Keras-InceptionV3 FID (needs ImageNet weights)"),
    "inception-kid": (("digits", "stacked", "images"), "Keras-InceptionV3 KID (needs ImageNet weights)"),
    # "vae": models that encode (GenerativeModel.encodes), the VAE among the zoo's.
    "ndb": (("digits", "stacked", "images"), "NDB/K: share of K-means bins of the training pixels whose share "
            "differs (z-test, 0.05); K from ndb_bins (default 100)"),
    "ivo": (("digits", "stacked", "images"), "inference via optimisation: [0, 1]-pixel MSE of the best of 3 "
            "L-BFGS(25) fits of z to held-out images"),
    "reconstruction": (("vae",), "VAE per-pixel MSE of reconstructions of held-out data"),
    "posterior-kl": (("vae",), "VAE mean KL(q(z|x) || prior) on held-out data"),
}
_VAE_METRICS = ("reconstruction", "posterior-kl")
_MODEL_METRICS = _VAE_METRICS + ("ivo",)  # measured on held-out images, not on generated samples
_DEFAULTS = {
    "points": ["modes"],
    "digits": ["digits-fid", "precision-recall", "density-coverage"],
    "stacked": ["modes"],
    "images": ["inception-fid"],
}
_MIDPOINT_BY_DEFAULT = {"points": False, "digits": True, "stacked": False, "images": True}
_KID_SUBSET = 1000
_KID_SUBSETS = 100
_REFERENCE_LIMIT = 50_000
IVO_IMAGES = 2_000  # held-out images IvO fits at most (the GDPP paper's 2,000 targets)


def metric_names() -> list[str]:
    return list(METRICS)


def dataset_kind(spec) -> str:
    """``points``, ``stacked`` (1000 triplet classes), ``digits`` (one-channel images) or ``images``."""
    if spec.kind == "points":
        return "points"
    if spec.num_classes == 1000:
        return "stacked"
    return "digits" if spec.element_shape[-1] == 1 else "images"


def default_metrics(kind: str, vae: bool = False, family: str = "digits") -> list[str]:
    """The defaults of a dataset kind; ``family``: the dataset's classifier (``digits`` or ``mnist``)."""
    defaults = [f"{family}-fid" if m == "digits-fid" else m for m in _DEFAULTS[kind]]
    return defaults + (list(_VAE_METRICS) if vae else [])


def _check_metrics(metrics, kind: str, vae: bool) -> list[str]:
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; valid metrics: {', '.join(METRICS)}.")
    kinds = {kind} | ({"vae"} if vae else set())
    wrong = [m for m in metrics if not kinds & set(METRICS[m][0])]
    if wrong:
        valid = [m for m in METRICS if kinds & set(METRICS[m][0])]
        raise ConfigError(
            f"metric(s) {', '.join(wrong)} do not apply to a {'VAE on ' if vae else ''}{kind} dataset; "
            f"use: {', '.join(valid)}."
        )
    if not metrics:
        raise ConfigError(f"no metrics given; valid metrics: {', '.join(METRICS)}.")
    metrics = list(dict.fromkeys(metrics))
    # Precision alone reads 1.0 for a generator stuck on one image that falls inside a single real
    # sample's k-NN ball (docs/evaluation.md); density and coverage expose it, so they come with it.
    if "precision-recall" in metrics and "density-coverage" not in metrics:
        metrics.insert(metrics.index("precision-recall") + 1, "density-coverage")
    return metrics


def infer_dataset(model) -> str:
    """The dataset a model's sample shape implies, when that is unambiguous (one channel -> digits)."""
    shape = tuple(model.element_shape)
    if len(shape) == 3 and shape[-1] == 1:
        return "digits"
    raise ConfigError(
        f"cannot tell which dataset a model with samples of shape {shape} was trained on; pass it "
        "(evaluate(..., dataset='ring'), `zoo evaluate ... --dataset ring`)."
    )


_CLASSIFIER_PREFIXES = tuple(CLASSIFIERS)


def _extractor_for(metric: str, kind: str, family: str) -> str | None:
    prefix = metric.split("-")[0]
    if prefix in _CLASSIFIER_PREFIXES + ("inception",):
        return prefix
    if metric in ("precision-recall", "density-coverage"):
        return family if kind == "digits" else "inception"
    return None


@functools.lru_cache(maxsize=4)
def _extractor(name: str, options_json: str):
    from zoo.metrics.features import get_extractor

    return get_extractor(name, **json.loads(options_json))


@dataclasses.dataclass
class _Collected:
    """What is kept of one sample set: features/logits per extractor, points, triplet labels."""

    features: dict = dataclasses.field(default_factory=dict)
    logits: dict = dataclasses.field(default_factory=dict)
    points: list = dataclasses.field(default_factory=list)
    triplets: list = dataclasses.field(default_factory=list)
    ndb_counts: dict = dataclasses.field(default_factory=dict)  # K -> per-bin sample counts

    def add(self, samples, extractors: dict, kind: str, want_modes: bool, family: str, ndb_bins: dict):
        for bins, binning in ndb_bins.items():
            self.ndb_counts[bins] = self.ndb_counts.get(bins, 0) + binning.counts(samples)
        for name, extractor in extractors.items():
            features, logits = extractor(samples)
            self.features.setdefault(name, []).append(features)
            if logits is not None:
                self.logits.setdefault(name, []).append(logits)
        if want_modes and kind == "points":
            self.points.append(np.asarray(samples, np.float32))
        if want_modes and kind == "stacked":
            self.triplets.append(_classify_triplets(samples, family))

    def finish(self):
        join = lambda parts: np.concatenate(parts) if parts else None  # noqa: E731
        self.features = {k: join(v) for k, v in self.features.items()}
        self.logits = {k: join(v) for k, v in self.logits.items()}
        self.points, self.triplets = join(self.points), join(self.triplets)
        return self


def _classify_triplets(images, family: str) -> np.ndarray:
    from zoo.metrics.modes import triplet_labels

    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ConfigError(f"stacked-digit samples must be [B, H, W, 3] images, got shape {images.shape}.")
    channels = np.moveaxis(images, -1, 1).reshape(-1, *images.shape[1:3], 1)
    _, logits = _extractor(family, "{}")(channels)
    return triplet_labels(np.argmax(logits, axis=1).reshape(-1, 3))


def _reference(dataset: str, data_dir: str | None, options_json: str, image_size, split: str, limit: int):
    """Real samples of a dataset (at most ``limit``), as float32 NumPy; ``data_dir`` as in ``data.load``."""
    from zoo import data

    options = json.loads(options_json)
    try:
        x, _ = data.arrays(dataset, split=split, image_size=image_size, **options)
        return x[:limit]
    except ConfigError as error:
        if "arrays() covers" not in str(error):  # not an embedded set: stream it through load()
            raise
    # Loaded one image per batch and regrouped, so a folder smaller than the reading batch still serves
    # every image (data.load refuses a batch_size larger than the set and drops a partial last batch).
    images = data.load(dataset, batch_size=1, image_size=image_size, split=split, data_dir=data_dir, **options)
    batches, total = [], 0
    for batch in images.unbatch().batch(min(256, limit)):
        batches.append(np.asarray(batch))
        total += len(batches[-1])
        if total >= limit:
            break
    return np.concatenate(batches)[:limit]


@functools.lru_cache(maxsize=4)
def _reference_features(dataset: str, data_dir: str | None, options_json: str, image_size, extractor: str,
                        extractor_json: str):
    """``(features, logits)`` of the dataset's train split (up to 50,000 samples), cached per process."""
    reference = _reference(dataset, data_dir, options_json, image_size, "train", _REFERENCE_LIMIT)
    return _extractor(extractor, extractor_json)(reference)


@functools.lru_cache(maxsize=8)
def _reference_bins(dataset: str, data_dir: str | None, options_json: str, image_size, bins: int, seed: int):
    """:class:`zoo.metrics.ndb.NDBBins` of the dataset's train split pixels, cached per process."""
    from zoo.metrics.ndb import NDBBins

    reference = _reference(dataset, data_dir, options_json, image_size, "train", _REFERENCE_LIMIT)
    return NDBBins(reference, bins, seed=seed)


def _kmeans_seed(seed) -> int:
    """The K-means seed of ``evaluate``'s seed: both int32 words mixed into one 32-bit int."""
    from zoo.priors.seeds import as_seed

    words = np.asarray(as_seed(seed)).astype(np.int64) & 0xFFFFFFFF
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1)[0])


def _sample_metrics(metrics, collected: _Collected, real: _Collected, spec, kind: str, family: str,
                    ndb_bins: dict) -> dict:
    from zoo.metrics.fid import fid
    from zoo.metrics.inception_score import inception_score
    from zoo.metrics.kid import kid
    from zoo.metrics.modes import stacked_modes, synthetic_modes
    from zoo.metrics.prdc import density_coverage, precision_recall

    values = {}
    for metric in metrics:
        source = _extractor_for(metric, kind, family)
        fake_f = collected.features.get(source)
        real_f = real.features.get(source)
        label = source if source in _CLASSIFIER_PREFIXES else "Keras-InceptionV3"
        if metric == "modes" and kind == "points":
            result = synthetic_modes(collected.points, spec.centres, spec.std)
            values.update(modes=result["modes"], high_quality_pct=100.0 * result["high_quality"])
        elif metric == "modes":
            result = stacked_modes(collected.triplets, spec.class_probs)
            values.update(modes=result["modes"], kl=result["kl"])
        elif metric.endswith("-fid"):
            values[f"{label}-FID"] = fid(real_f, fake_f)
        elif metric.endswith("-kid"):
            subset = min(_KID_SUBSET, len(real_f), len(fake_f))
            mean, std = kid(real_f, fake_f, subset_size=subset, subsets=_KID_SUBSETS)
            values.update({f"{label}-KID": mean, f"{label}-KID-std": std})
        elif metric.endswith("-is"):
            values[f"{source}-IS"] = inception_score(collected.logits[source])[0]
        elif metric == "precision-recall":
            values.update(precision_recall(real_f, fake_f, k=3))
        elif metric == "density-coverage":
            values.update(density_coverage(real_f, fake_f, k=5))
        elif metric == "ndb":
            for bins, binning in ndb_bins.items():
                values[f"ndb-k{bins}"] = binning.test(counts=collected.ndb_counts[bins])["ndb_k"]
    return values


def _model_metrics(model, metrics, held_out: np.ndarray, seed, batch_size: int) -> dict:
    from zoo._tf import tf
    from zoo.losses import gaussian_kl
    from zoo.priors.seeds import as_seed

    values = {}
    if "ivo" in metrics:
        from zoo.metrics.ivo import ivo

        values["ivo-mse"] = ivo(model, held_out[:IVO_IMAGES], seed=seed, batch_size=batch_size)
    metrics = [m for m in metrics if m in _VAE_METRICS]
    if not metrics:
        return values
    squared_error, kl_sum = 0.0, 0.0
    noise_seed = as_seed(seed)
    for start in range(0, len(held_out), batch_size):
        x = held_out[start : start + batch_size]
        mean, logvar = model.encode(x)
        if "reconstruction" in metrics:
            squared_error += float(np.sum((_images(model, mean) - x).astype(np.float64) ** 2))
        if "posterior-kl" in metrics:
            if model.prior.kind == "normal":
                kl_sum += float(gaussian_kl(mean, logvar, dtype=tf.float64)) * len(x)
            else:
                noise = tf.random.stateless_normal(mean.shape, noise_seed + start)
                z = mean + np.exp(0.5 * logvar) * noise.numpy()
                log_q = -0.5 * np.sum(logvar + (z - mean) ** 2 * np.exp(-logvar) + np.log(2 * np.pi), axis=1)
                log_p = model.prior.distribution().log_prob(z).numpy()
                kl_sum += float(np.sum(log_q - log_p))
    if "reconstruction" in metrics:
        values["reconstruction-mse"] = squared_error / held_out.size
    if "posterior-kl" in metrics:
        values["posterior-kl"] = kl_sum / len(held_out)
    return values


#: ``evaluate``'s batch-norm protocols (module docstring).
BATCH_NORM_PROTOCOLS = ("moving", "batch")


def _images(model, z) -> np.ndarray:
    """``model.latents_to_images(z)`` as float32 NumPy."""
    from zoo._tf import tf  # noqa: F401
    import keras

    return keras.ops.convert_to_numpy(model.latents_to_images(z)).astype(np.float32)


def _decode_in_batches(model, z, begin, end, batch_norm_batch_size):
    """Samples of ``z[begin:end]``, made in training mode (batch statistics) ``batch_norm_batch_size``
    latents per generator call; a call past the end of ``z`` wraps around to its first latents."""
    from zoo._tf import tf  # noqa: F401
    import keras

    outputs = []
    for start in range(begin, end, batch_norm_batch_size):
        index = np.arange(start, start + batch_norm_batch_size) % len(z)
        out = model.latents_to_images(z[index], training=True)
        outputs.append(keras.ops.convert_to_numpy(out).astype(np.float32)[: min(end, start + batch_norm_batch_size) - start])
    return np.concatenate(outputs)


@dataclasses.dataclass(frozen=True)
class Settings:
    """``evaluate``'s arguments, checked and completed (what :func:`check_settings` returns)."""

    dataset: str
    data_dir: str | None
    data_options: dict
    image_size: int | None
    spec: object
    kind: str
    family: str  # the digit classifier of the dataset: "digits" or "mnist"
    metrics: list
    midpoint: bool
    sample_metrics: list
    extractors: dict
    extractor_json: dict
    batch_norm: str
    batch_norm_batch_size: int
    ndb_bins: tuple  # the K of each NDB/K (empty without the ndb metric)


def check_settings(model, metrics=None, *, samples: int = 10_000, dataset: str | None = None,
                   data_dir=None, data_options: dict | None = None, midpoint: bool | None = None,
                   batch_size: int = 500, extractor_options: dict | None = None, batch_norm: str = "moving",
                   batch_norm_batch_size: int = 64, ndb_bins=100) -> Settings:
    """Check :func:`evaluate`'s arguments for ``model`` without generating anything.

    Raises the ``ConfigError`` (or ``DataUnavailableError`` for missing feature weights) that
    ``evaluate`` would, so a training run can refuse bad ``eval.*`` settings before it trains.
    ``data_dir`` is normalised to a string here, not read: ``evaluate`` reads it before it generates.
    """
    from zoo import data

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ConfigError(f"samples must be an int >= 2, got {samples!r}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be an int >= 1, got {batch_size!r}.")
    from zoo.models.base import GenerativeModel

    if not isinstance(model, GenerativeModel):
        raise ConfigError(
            f"evaluate takes a zoo model (a zoo.models.GenerativeModel: DCGAN, VAE, ...), not a {type(model).__name__}."
        )
    if batch_norm not in BATCH_NORM_PROTOCOLS:
        raise ConfigError(
            f"batch_norm must be 'moving' (the moving statistics, as generate samples) or 'batch' (each "
            f"batch's own statistics, the GDPP authors' protocol), got {batch_norm!r}."
        )
    if (isinstance(batch_norm_batch_size, bool) or not isinstance(batch_norm_batch_size, (int, np.integer))
            or batch_norm_batch_size < 2):
        raise ConfigError(
            f"batch_norm_batch_size must be an int >= 2 (a batch of one has no variance), got {batch_norm_batch_size!r}."
        )
    ndb_bins = _check_ndb_bins(ndb_bins)
    dataset = dataset or infer_dataset(model)
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise ConfigError(f"data_dir must be a directory path (str or os.PathLike) or None, got {data_dir!r}.")
    data_dir = None if data_dir is None else os.fspath(data_dir)
    data_options = dict(data_options or {})
    shape = tuple(model.element_shape)
    image_size = shape[0] if len(shape) == 3 else None
    spec = data.spec(dataset, image_size=image_size, **data_options)
    if len(shape) != len(spec.element_shape) or shape[-1] != spec.element_shape[-1]:
        raise ConfigError(
            f"the model makes samples of shape {shape} but dataset {dataset!r} has elements of shape "
            f"{spec.element_shape}; pass the dataset the model was trained on."
        )
    kind, vae = dataset_kind(spec), bool(model.encodes)
    family = classifier_for(dataset)
    metrics = _check_metrics(default_metrics(kind, vae, family) if metrics is None else metrics, kind, vae)
    midpoint = _MIDPOINT_BY_DEFAULT[kind] if midpoint is None else bool(midpoint)
    sample_metrics = [m for m in metrics if m not in _MODEL_METRICS]
    extractor_options = extractor_options or {}
    extractor_names = sorted({e for m in sample_metrics if (e := _extractor_for(m, kind, family))})
    extractor_json = {name: json.dumps(extractor_options.get(name, {}), sort_keys=True) for name in extractor_names}
    extractors = {name: _extractor(name, extractor_json[name]) for name in extractor_names}
    for metric in sample_metrics:
        source = _extractor_for(metric, kind, family)
        if metric.endswith("-fid") and samples <= extractors[source].feature_dim:
            raise ConfigError(
                f"{metric} needs more samples than its {extractors[source].feature_dim} feature dimensions "
                f"(the covariance is singular otherwise); evaluate at least {extractors[source].feature_dim + 1} "
                "samples (10,000+ for reported numbers)."
            )

    return Settings(dataset, data_dir, data_options, image_size, spec, kind, family, metrics, midpoint,
                    sample_metrics, extractors, extractor_json, batch_norm, int(batch_norm_batch_size),
                    ndb_bins if "ndb" in metrics else ())


def _check_ndb_bins(ndb_bins) -> tuple:
    """``ndb_bins`` (an int, a sequence of ints or a comma-separated string) as a tuple of K >= 2."""
    values = ndb_bins.split(",") if isinstance(ndb_bins, str) else ndb_bins
    if isinstance(values, (int, np.integer)):
        values = [values]
    try:
        checked = tuple(dict.fromkeys(int(v) for v in values))
    except (TypeError, ValueError):
        checked = ()
    if not checked or min(checked) < 2 or any(isinstance(v, (bool, float)) for v in values):
        raise ConfigError(f"ndb_bins must be one or more ints >= 2 (e.g. 100 or [100, 200, 300]), got {ndb_bins!r}.")
    return checked


def evaluate(
    model,
    metrics=None,
    *,
    samples: int = 10_000,
    seed=0,
    dataset: str | None = None,
    data_dir=None,
    data_options: dict | None = None,
    midpoint: bool | None = None,
    midpoint_method: str = "linear",
    batch_size: int = 500,
    extractor_options: dict | None = None,
    ndb_bins=100,
    progress: bool = False,
    batch_norm: str = "moving",
    batch_norm_batch_size: int = 64,
) -> dict:
    """Measure ``metrics`` of a zoo model (``zoo.models.GenerativeModel``: DCGAN, VAE, ...).

    Args:
      model: a ``GenerativeModel``: its ``prior``, ``element_shape`` and ``latents_to_images`` make the
        samples; a model that ``encodes`` also gets the reconstruction metrics.
      metrics: names from :data:`METRICS` (list or comma-separated string); ``None``: the dataset
        kind's defaults.
      samples: generated samples per set (prior, and mid-point when enabled); >= 2, and more than
        the feature size for FID (128 for digits-fid, 2048 for inception-fid).
      seed: int or int32 pair; fixes the prior draws (and so every number).
      dataset: ``zoo.data`` name the model was trained on; ``None`` infers one-channel images as
        ``digits`` and refuses otherwise. ``data_options``: that dataset's options.
      data_dir: where that dataset's real images are, as ``zoo.data.load(..., data_dir=)``: the image
        directory of ``folder`` (required there), the TFDS data directory of the TFDS sets (``None``:
        TFDS' default); the embedded sets ignore it. Reference statistics and held-out images come
        from it.
      midpoint: also measure mid-points of prior pairs; ``None``: on for digits and images.
      midpoint_method: ``"linear"`` (the NP paper's ``(z_a + z_b) / 2``) or ``"matched"`` (moved back
        onto the prior, ``zoo.latent.midpoint``; i.i.d. priors). Same draws either way.
      batch_size: samples generated and featurised at a time (memory bound).
      extractor_options: ``{"inception": {"weights": ...}}`` etc., passed to the extractors.
      ndb_bins: K of the ``ndb`` metric: an int or several (``[100, 200, 300]``, GDPP's Table 7);
        each gives a result ``ndb-kK``. The bins are K-means of the train split's pixels, seeded by
        ``seed``, cached per process.
      progress: show a progress bar (Keras ``Progbar``) over the generated batches.
      batch_norm: ``"moving"`` (default: the generator's batch norm uses its moving statistics, as
        ``generate``) or ``"batch"`` (each generator call normalises with its own batch's statistics,
        the GDPP authors' evaluation; the model is restored bit for bit afterwards). See the module
        docstring.
      batch_norm_batch_size: latents per generator call under ``batch_norm="batch"`` (the authors':
        64), int >= 2. Ignored under ``"moving"``.

    Returns:
      ``{"model", "dataset", "data_dir", "data_options", "samples", "seed", "midpoint", "midpoint_method",
      "batch_norm", "batch_norm_batch_size", "metrics", "results": {name: {"prior": v[, "midpoint": v,
      "ratio": mid/prior]} or {"value": v}}, "seconds", "samples_per_second"}`` (JSON-serialisable;
      ``batch_norm_batch_size`` is None under ``"moving"``).
    """
    from zoo.metrics.midpoint import combine, prior_and_midpoint_latents
    from zoo.priors.seeds import as_seed

    start_time = time.perf_counter()
    plan = check_settings(model, metrics, samples=samples, dataset=dataset, data_dir=data_dir,
                          data_options=data_options, midpoint=midpoint, batch_size=batch_size,
                          extractor_options=extractor_options, batch_norm=batch_norm,
                          batch_norm_batch_size=batch_norm_batch_size, ndb_bins=ndb_bins)
    dataset, data_dir, data_options, image_size = plan.dataset, plan.data_dir, plan.data_options, plan.image_size
    spec, kind = plan.spec, plan.kind
    family = plan.family
    metrics, midpoint, sample_metrics, extractors = plan.metrics, plan.midpoint, plan.sample_metrics, plan.extractors
    extractor_json = plan.extractor_json
    if midpoint_method not in ("linear", "matched"):
        raise ConfigError(f"midpoint_method must be 'linear' or 'matched', got {midpoint_method!r}.")
    if midpoint and midpoint_method == "matched":
        from zoo.priors.transport import MatchedPath

        MatchedPath(model.prior, [0.5])  # refuses a radial prior before any work
    options_json = json.dumps(data_options, sort_keys=True)

    real = _Collected()
    for name in extractors:
        real.features[name], real.logits[name] = _reference_features(
            dataset, data_dir, options_json, image_size, name, extractor_json[name]
        )

    kmeans_seed = _kmeans_seed(seed)
    ndb_binnings = {
        bins: _reference_bins(dataset, data_dir, options_json, image_size, bins, kmeans_seed) for bins in plan.ndb_bins
    }

    sets = {"prior": None, "midpoint": None}
    if sample_metrics:
        z_prior, z_mid = prior_and_midpoint_latents(model.prior, int(samples), seed, method=midpoint_method)
        latents = {"prior": z_prior, "midpoint": z_mid} if midpoint else {"prior": z_prior}
        bn_batch = plan.batch_norm_batch_size
        # Under batch statistics a step holds whole generator calls, so every call sees bn_batch latents.
        step = batch_size if plan.batch_norm == "moving" else max(1, batch_size // bn_batch) * bn_batch
        bar = None
        if progress:
            from zoo._tf import tf  # noqa: F401
            import keras

            batches = sum(-(-len(z) // step) for z in latents.values())
            bar = keras.utils.Progbar(batches, unit_name="batch")
        protocol = contextlib.nullcontext()
        if plan.batch_norm == "batch":
            from zoo.models.batch_norm import batch_statistics

            protocol = batch_statistics(model.image_network())
        with protocol:
            for name, z in latents.items():
                collected = _Collected()
                z = np.asarray(z)
                for begin in range(0, len(z), step):
                    end = min(begin + step, len(z))
                    images = (_images(model, z[begin:end]) if plan.batch_norm == "moving"
                              else _decode_in_batches(model, z, begin, end, bn_batch))
                    collected.add(images, extractors, kind, "modes" in metrics, family, ndb_binnings)
                    if bar is not None:
                        bar.add(1)
                sets[name] = _sample_metrics(sample_metrics, collected.finish(), real, spec, kind, family, ndb_binnings)

    results = combine(sets["prior"], sets["midpoint"]) if sample_metrics else {}
    model_metrics = [m for m in metrics if m in _MODEL_METRICS]
    if model_metrics:
        try:
            held_out = _reference(dataset, data_dir, options_json, image_size, "test", int(samples))
        except ConfigError:
            held_out = _reference(dataset, data_dir, options_json, image_size, "train", int(samples))
        for name, value in _model_metrics(model, model_metrics, held_out, seed, batch_size).items():
            results[name] = {"value": value}

    seconds = time.perf_counter() - start_time
    generated = int(samples) * (2 if midpoint else 1) if sample_metrics else 0
    return {
        "model": type(model).__name__,
        "prior": getattr(model.prior, "kind", None),
        "dataset": dataset,
        "data_dir": data_dir,
        "data_options": data_options,
        "samples": int(samples),
        "seed": [int(v) for v in np.asarray(as_seed(seed))],
        "midpoint": midpoint,
        "midpoint_method": midpoint_method,
        "batch_norm": plan.batch_norm,
        "batch_norm_batch_size": plan.batch_norm_batch_size if plan.batch_norm == "batch" else None,
        "metrics": metrics,
        "results": results,
        "seconds": seconds,
        "samples_per_second": generated / seconds if generated else None,
    }


def format_table(report: dict) -> str:
    """A plain-text table of ``evaluate``'s ``results``: metric, prior (or value), mid-point, ratio."""
    header = ["metric", "prior", "mid-point", "mid/prior"] if report.get("midpoint") else ["metric", "value"]
    rows = []
    for name, entry in report["results"].items():
        cells = [name, _fmt(entry.get("prior", entry.get("value")))]
        if report.get("midpoint"):
            ratio = entry.get("ratio")
            cells += [_fmt(entry.get("midpoint")), "-" if ratio is None else f"{ratio:.3f}"]
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    protocol = (f", batch statistics in batches of {report['batch_norm_batch_size']}"
                if report.get("batch_norm") == "batch" else "")
    title = (
        f"{report['model']} ({report['prior']} prior) on {report['dataset']}: {report['samples']} samples, "
        f"seed {report['seed']}{protocol}, {report['seconds']:.1f} s"
    )
    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.4g}"
