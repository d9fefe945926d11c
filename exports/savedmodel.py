"""A zoo model as a SavedModel with stable, batchable, self-validating serving signatures.

Signatures (every input shares dimension 0, so the server may batch requests together; every
output is a dict entry; ``D`` = latent_dim, images ``[H, W, C]``; float images are in [-1, 1] and
``images_uint8 = round((images + 1) * 127.5)``):

================  ====================================  =====================================================
signature         inputs                                outputs
================  ====================================  =====================================================
serving_default   ``z`` float32 [N, D]                  ``images`` float32 [N, H, W, C], ``images_uint8`` uint8
sample            ``seed`` int32 [N, 2]                 ``images``, ``images_uint8``, ``z`` float32 [N, D]
sample_png        ``seed`` int32 [N, 2]                 ``png_bytes`` string [N] (one PNG per image), ``z``
interpolate       ``z0``, ``z1`` float32 [N, D]         ``images`` float32 [N, S, H, W, C], ``images_uint8``,
                                                        ``z`` float32 [N, S, D]; S fixed at export (default 8)
decode (VAE)      ``z`` float32 [N, D]                  ``images``, ``images_uint8``
encode (VAE)      ``images`` float32 [N, H, W, C]       ``mean``, ``logvar`` float32 [N, D]
reconstruct (VAE) ``images`` float32 [N, H, W, C]       ``images``, ``images_uint8``
================  ====================================  =====================================================

The first four are every export's; ``decode``, ``encode`` and ``reconstruct`` are the VAE's own
(a model adds signatures through ``GenerativeModel.serving_signatures``).

``sample`` draws row ``i`` of ``z`` from the model's prior with the stateless seed ``seed[i]``
(``LatentPrior.sample_per_row``), so the non-parametric prior lives in the graph and clients never
handle latents; the same seed gives the same image on every call and every server. ``sample_png``
is the compact ``sample``: the ``images_uint8`` encoded as PNG. TF Serving's REST API returns a
string output whose name ends in ``_bytes`` base64-encoded (``{"b64": "..."}``), about 20x fewer
bytes than JSON numbers for a 28x28 image (``benchmarks/serving.py``); ``exports.client`` decodes
it. ``interpolate``
walks the straight line from ``z0[i]`` to ``z1[i]`` in ``S`` evenly spaced points, both ends included
(the path of ``zoo.latent.interpolate(..., method="linear")``, along which the non-parametric prior
is matched), or, exported with ``interpolation="matched"`` (``zoo export --interpolation matched``),
that line mapped coordinate-wise back onto the model's prior (``method="matched"``, from the same
constants: :class:`zoo.priors.transport.MatchedPath`), so every served point is distributed as the
prior; the info file records which. ``S`` and the path are constants of the export
(``--interpolation-steps``) because a per-request step count would give rows of different lengths,
which a batching server cannot merge; a client wanting another path (slerp, more steps) computes
the latents with ``zoo.latent.interpolate`` and calls ``serving_default``.

Bad requests fail inside the graph with an ``InvalidArgument`` status the server returns to the
client: ``EnsureShape`` names the input and the expected shape (a latent of the wrong width, a seed
that is not ``[N, 2]``), ``CheckNumerics`` rejects NaN or infinite latents and images, an ``Assert``
refuses images outside [-1, 1] (0..255 pixels sent to ``encode``/``reconstruct``), an ``Assert``
refuses more rows than the export's ``max_batch_size`` (default 1024: memory grows with the rows,
100,000 seeds took 7.5 GB; the repository's ``batching_parameters.txt`` uses the same limit); a wrong dtype
or a missing input is refused by the runtime before the graph runs. No function is XLA-compiled
(TF Serving runs with XLA off) and :mod:`exports.opcheck` proves every op is core TensorFlow.

``precision="float16"`` (``zoo export --precision float16``, for GPU servers) runs a float16 clone of
the generator/decoder (float16 weights and layers) behind the same float32/uint8 interface: latents
are checked and drawn in float32 as above (the same rows, bit for bit) and cast at the network's
input, images are cast back to float32. Before anything is written the clone is compared with the
float32 network on the sample signature's seeds ``[0, 0] ... [0, 999]``; the largest differences go
into the info file (``float16_vs_float32``), and a model whose images are not finite or whose uint8
pixels move by more than :data:`FLOAT16_MAX_UINT8_LEVELS` levels is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo._tf import tf

import keras

from zoo import latent
from zoo._version import __version__
from zoo.errors import ConfigError, DiskFullError, first_line, is_disk_full
from zoo.models.base import PIXEL_TOLERANCE
from exports import opcheck, repository, warmup
from exports.errors import ExportError

DEFAULT_INTERPOLATION_STEPS = 8
#: Most images per interpolate path: every request renders this many per row, and so does the
#: server's warm-up at start-up (a longer path: zoo.latent.interpolate, then serving_default).
MAX_INTERPOLATION_STEPS = 256
INTERPOLATIONS = ("linear", "matched")  # the interpolate signature's path
DEFAULT_MAX_BATCH_SIZE = 1024
EXPORT_INFO = "zoo_export.json"  # in assets.extra/, next to the warm-up requests
#: The signatures of every export; a model adds its own (``GenerativeModel.serving_signatures``).
SAMPLING_SIGNATURES = ("serving_default", "sample", "sample_png", "interpolate")
PRECISIONS = ("float32", "float16")  # what the generator/decoder computes in; the interface is float32 either way
#: A float16 export is refused when, on the check's seeds, a uint8 pixel moves by more levels than this.
FLOAT16_MAX_UINT8_LEVELS = 4
FLOAT16_CHECK_SEEDS = 1000  # the seeds [0, 0] ... [0, 999] of the sample signature


def to_uint8(images):
    """float images in [-1, 1] -> uint8 pixels ``round((x + 1) * 127.5)`` clipped to [0, 255]."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


@dataclass(frozen=True)
class _Servable:
    """What the signatures need from a zoo model, checked once; also the toolkit a model's own
    signatures use (``GenerativeModel.serving_signatures``)."""

    model: keras.Model  # a zoo.models.GenerativeModel
    latent_dim: int
    image_shape: tuple[int, int, int]
    max_batch_size: int
    network: keras.Model | None = None  # float16: the clone of the model's image network the signatures run
    precision: str = "float32"

    def latents_to_images(self, z):
        """float32 latents ``[N, D]`` -> float32 images ``[N, H, W, C]`` in [-1, 1], computed in ``precision``."""
        if self.network is None:
            return self.model.latents_to_images(z)
        return self.model.outputs_to_images(self.network(tf.cast(z, self.precision), training=False))

    def check_latents(self, z, name):
        """``z`` once it is ``[N, latent_dim]``, at most ``max_batch_size`` rows and finite (else InvalidArgument)."""
        return _latent(z, self.latent_dim, name, self.max_batch_size)

    def check_images(self, images):
        """``images`` once they are ``[N, H, W, C]``, at most ``max_batch_size`` rows and finite."""
        return _image_batch(images, self.image_shape, self.max_batch_size)

    @staticmethod
    def pixels(images):
        """``{"images": images, "images_uint8": to_uint8(images)}``."""
        return _pixels(images)


def _servable(model, precision: str = "float32", max_batch_size: int = DEFAULT_MAX_BATCH_SIZE) -> _Servable:
    """Check that ``model`` is a zoo model making images and return what the exporter uses."""
    from zoo.models import GenerativeModel

    name = type(model).__name__
    if not isinstance(model, GenerativeModel):
        raise ExportError(
            f"only zoo models (zoo.models.GenerativeModel: DCGAN, VAE, ...) export; got a {name}; "
            "export a model built with zoo.models"
        )
    shape = tuple(model.element_shape)
    if len(shape) != 3:
        raise ExportError(
            f"{name} makes samples of shape {shape}, not images [H, W, C]; only image models export "
            "(the synthetic 2-D GANs are for the mode-coverage experiments)"
        )
    if shape[-1] not in (1, 3, 4):
        raise ExportError(f"{name} makes images with {shape[-1]} channels; exported images need 1, 3 or 4")
    network = _float16_clone(model.image_network()) if precision == "float16" else None
    return _Servable(model, int(model.latent_dim), tuple(int(d) for d in shape), max_batch_size, network, precision)


def _float16_clone(network: keras.Model) -> keras.Model:
    """``network`` with a float16 input, float16 variables (its weights rounded) and float16 layers.

    Every matmul, convolution and activation then runs in float16. Keras computes a float16
    BatchNormalization in float32 (it casts the per-channel statistics, then the result back), a few
    small casts per layer that keep the normalisation from overflowing.
    """

    def float16_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float16"
        return layer.__class__.from_config(config)

    try:
        inputs = keras.Input(tuple(network.inputs[0].shape[1:]), dtype="float16", name="z")
        clone = keras.models.clone_model(network, input_tensors=inputs, clone_function=float16_layer)
    except (AttributeError, TypeError, ValueError) as error:
        raise ExportError(
            f"precision float16 needs {network.name} as a functional Keras model (as zoo.models builds it), "
            f"but cloning it failed ({error}); export with precision float32 (zoo export --precision float32)"
        ) from None
    with np.errstate(over="ignore"):  # a weight beyond float16's range becomes Inf, which the check refuses
        clone.set_weights([np.asarray(weight, np.float16) for weight in network.get_weights()])
    return clone


def _float16_differences(model, half: _Servable) -> dict:
    """Measure how far ``half``'s images are from the float32 model's on the check seeds; refuse a bad model.

    Rows are drawn as the ``sample`` signature draws them (float32 latents, then cast), so the
    numbers describe exactly what a client sees. Returns ``seeds``, ``max_abs_diff_images`` (float
    images in [-1, 1]) and ``max_diff_uint8_levels``; raises :class:`ExportError` when an image is
    not finite or a uint8 pixel moves by more than :data:`FLOAT16_MAX_UINT8_LEVELS`.
    """
    reference = _servable(model, max_batch_size=half.max_batch_size)
    seeds = np.stack([np.zeros(FLOAT16_CHECK_SEEDS), np.arange(FLOAT16_CHECK_SEEDS)], axis=1).astype(np.int32)
    float_diff, level_diff, non_finite = 0.0, 0, 0
    for start in range(0, FLOAT16_CHECK_SEEDS, 200):  # chunks bound the memory of large generators
        z = tf.cast(model.prior.sample_per_row(seeds[start:start + 200]), tf.float32)
        want, got = reference.latents_to_images(z).numpy(), half.latents_to_images(z).numpy()
        finite = np.isfinite(got).reshape(len(got), -1).all(axis=1)
        non_finite += int((~finite).sum())
        want, got = want[finite], got[finite]
        if len(got):
            float_diff = max(float_diff, float(np.abs(got - want).max()))
            levels = np.abs(to_uint8(got).numpy().astype(np.int16) - to_uint8(want).numpy().astype(np.int16))
            level_diff = max(level_diff, int(levels.max()))
    seeds = f"the {FLOAT16_CHECK_SEEDS} seeds [0, 0] ... [0, {FLOAT16_CHECK_SEEDS - 1}]"
    fallback = "export with precision float32 (zoo export --precision float32, the default)"
    if non_finite:
        raise ExportError(
            f"in float16 this model makes images that are not finite (NaN or Inf) for {non_finite} of {seeds}: "
            f"its weights or activations overflow float16's range (65504); {fallback}"
        )
    if level_diff > FLOAT16_MAX_UINT8_LEVELS:
        raise ExportError(
            f"float16 moves this model's uint8 pixels by up to {level_diff} levels on {seeds} (largest float "
            f"difference {float_diff:.4f}), more than the {FLOAT16_MAX_UINT8_LEVELS} levels allowed; {fallback}"
        )
    return {"seeds": FLOAT16_CHECK_SEEDS, "max_abs_diff_images": float_diff, "max_diff_uint8_levels": level_diff,
            "max_allowed_uint8_levels": FLOAT16_MAX_UINT8_LEVELS}


def _prepared(model, precision: str, max_batch_size: int, warmup_batch_sizes) -> tuple[_Servable, dict | None]:
    """The servable for ``precision`` and, for float16, its measured differences (refusing a model that
    degrades, or one whose signatures would need more warm-up requests than the server reads)."""
    servable = _servable(model, precision, max_batch_size)
    signatures = len(SAMPLING_SIGNATURES) + len(model.serving_signatures(servable))
    if len(tuple(warmup_batch_sizes)) * signatures > warmup.MAX_RECORDS:
        raise ExportError(f"{len(tuple(warmup_batch_sizes))} warm-up batch sizes for {signatures} signatures make "
                          f"too many warm-up requests (the server reads {warmup.MAX_RECORDS})")
    return servable, (_float16_differences(model, servable) if precision == "float16" else None)


def _rows(x, name, max_batch_size):
    """``x`` once its dimension 0 is at most ``max_batch_size`` (else InvalidArgument naming both)."""
    check = tf.debugging.assert_less_equal(
        tf.shape(x)[0],
        max_batch_size,
        message=f"{name} has more rows than this export serves at once ({max_batch_size}); split the request",
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _latent(x, latent_dim, name, max_batch_size):
    x = _rows(tf.ensure_shape(x, [None, latent_dim], name=f"check_{name}_shape"), name, max_batch_size)
    return tf.debugging.assert_all_finite(x, f"{name} must hold finite numbers (no NaN or Inf)")


def _image_batch(x, image_shape, max_batch_size):
    x = _rows(tf.ensure_shape(x, [None, *image_shape], name="check_images_shape"), "images", max_batch_size)
    x = tf.debugging.assert_all_finite(x, "images must hold finite numbers (no NaN or Inf)")
    # The natural REST mistake is 0..255 pixels; the model would encode them without complaint.
    check = tf.debugging.assert_less_equal(
        tf.reduce_max(tf.abs(x)), 1.0 + PIXEL_TOLERANCE,
        message="images must be float pixels in [-1, 1]: send x / 127.5 - 1 for 0..255 pixels, 2 * x - 1 for 0..1 ones",
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _pixels(images):
    return {"images": images, "images_uint8": to_uint8(images)}


def _path_weights(steps: int):
    """``[1, steps, 2]`` weights of ``z0`` and ``z1`` along the library's linear path.

    The linear path is linear in its end points, so interpolating the unit vectors with
    ``zoo.latent.interpolate`` gives its coefficients: the graph then needs two multiplies, and the
    served path stays the library's path by construction.
    """
    weights = latent.interpolate(np.array([1.0, 0.0]), np.array([0.0, 1.0]), steps, method="linear")
    return tf.constant(weights[None], tf.float32)


def _matched_path(servable: _Servable, steps: int):
    """The transport maps of the model's prior for the export's ``steps`` path parameters."""
    from zoo.priors.transport import MatchedPath

    try:
        return MatchedPath(servable.model.prior, np.linspace(0.0, 1.0, steps))
    except ConfigError as error:
        raise ExportError(f"interpolation='matched' is not available for this model: {error}; export with "
                          "interpolation='linear' (zoo export --interpolation linear)") from None


def _png(images_uint8):
    """uint8 ``[N, H, W, C]`` -> string ``[N]`` of PNG files (a loop of core ``EncodePng`` ops)."""
    return tf.map_fn(tf.io.encode_png, images_uint8, fn_output_signature=tf.TensorSpec([], tf.string))


def _endpoints(servable: _Servable, steps: int, interpolation: str) -> dict:
    """name -> (function, input signature): the sampling signatures, then the model's own
    (``serving_signatures``). The functions take keyword tensors and return dicts."""
    d, image_shape, limit = servable.latent_dim, servable.image_shape, servable.max_batch_size
    prior = servable.model.prior
    z_spec = tf.TensorSpec([None, d], tf.float32, name="z")
    weights = _path_weights(steps)
    matched = _matched_path(servable, steps) if interpolation == "matched" else None

    def serving_default(z):
        return _pixels(servable.latents_to_images(servable.check_latents(z, "z")))

    def _sampled(seed):
        seed = _rows(tf.ensure_shape(seed, [None, 2], name="check_seed_shape"), "seed", limit)
        z = tf.cast(prior.sample_per_row(seed), tf.float32)
        return servable.latents_to_images(z), z

    def sample(seed):
        images, z = _sampled(seed)
        return {**_pixels(images), "z": z}

    def sample_png(seed):
        images, z = _sampled(seed)
        return {"png_bytes": _png(to_uint8(images)), "z": z}

    def interpolate(z0, z1):
        z0, z1 = servable.check_latents(z0, "z0"), servable.check_latents(z1, "z1")
        path = weights[..., :1] * z0[:, None, :] + weights[..., 1:] * z1[:, None, :]  # [N, steps, D]
        if matched is not None:
            path = matched.apply_tf(path)
        flat = tf.reshape(path, [-1, d])
        images = tf.reshape(servable.latents_to_images(flat), [-1, steps, *image_shape])
        return {**_pixels(images), "z": path}

    endpoints = {
        "serving_default": (serving_default, [z_spec]),
        "sample": (sample, [tf.TensorSpec([None, 2], tf.int32, name="seed")]),
        "sample_png": (sample_png, [tf.TensorSpec([None, 2], tf.int32, name="seed")]),
        "interpolate": (
            interpolate,
            [tf.TensorSpec([None, d], tf.float32, name="z0"), tf.TensorSpec([None, d], tf.float32, name="z1")],
        ),
    }
    own = servable.model.serving_signatures(servable)
    clash = sorted(set(own) & set(endpoints))
    if clash:
        raise ExportError(f"{type(servable.model).__name__}.serving_signatures redefines {', '.join(clash)}; "
                          "a model adds signatures, it does not replace the sampling ones")
    return {**endpoints, **own}


def _check_options(interpolation_steps, warmup_batch_sizes, interpolation="linear",
                   max_batch_size=DEFAULT_MAX_BATCH_SIZE, precision="float32") -> None:
    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
        raise ExportError(f"the max batch size must be a positive integer, got {max_batch_size!r}")
    if isinstance(interpolation_steps, bool) or not isinstance(interpolation_steps, int) or \
            not 2 <= interpolation_steps <= MAX_INTERPOLATION_STEPS:
        raise ExportError(
            f"interpolation steps must be an integer from 2 to {MAX_INTERPOLATION_STEPS} (both ends included), got "
            f"{interpolation_steps!r}: every interpolate request renders that many images per row, and so does the "
            "server's warm-up; for longer paths compute the latents with zoo.latent.interpolate and call serving_default"
        )
    if interpolation not in INTERPOLATIONS:
        raise ExportError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
    sizes = tuple(warmup_batch_sizes)
    if not sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in sizes):
        raise ExportError(f"warm-up batch sizes must be positive integers, got {warmup_batch_sizes!r}")
    if max(sizes) > max_batch_size:
        raise ExportError(f"warm-up batch size {max(sizes)} exceeds the max batch size {max_batch_size}")
    if len(sizes) * len(SAMPLING_SIGNATURES) > warmup.MAX_RECORDS:
        raise ExportError(f"{len(sizes)} warm-up batch sizes make too many warm-up requests (the server reads {warmup.MAX_RECORDS})")


def write_saved_model(
    model,
    directory: str | os.PathLike,
    *,
    model_name: str = "model",
    interpolation_steps: int = DEFAULT_INTERPOLATION_STEPS,
    interpolation: str = "linear",
    warmup_batch_sizes: tuple[int, ...] = (1,),
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    precision: str = "float32",
) -> dict:
    """Write ``model`` as a SavedModel into the empty or new ``directory`` and return its export info.

    Adds ``assets.extra/tf_serving_warmup_requests`` (one request per signature and warm-up batch
    size, named for ``model_name``) and ``assets.extra/zoo_export.json``, then checks the ops
    (:func:`exports.opcheck.check`). ``interpolation``: the ``interpolate`` signature's path,
    ``"linear"`` or ``"matched"`` (i.i.d. priors only). ``precision``: what the generator/decoder
    computes in, ``"float32"`` or ``"float16"`` (inputs and outputs stay float32/uint8; the prior is
    drawn in float32 and cast): a float16 model is first compared with the float32 one on
    :data:`FLOAT16_CHECK_SEEDS` seeds, and refused, before anything is written, when an image is not
    finite or a uint8 pixel moves by more than :data:`FLOAT16_MAX_UINT8_LEVELS` levels; the info file
    records the differences. Raises :class:`ExportError` for a model that cannot be served.
    """
    _check_options(interpolation_steps, warmup_batch_sizes, interpolation, max_batch_size, precision)
    servable, differences = _prepared(model, precision, max_batch_size, warmup_batch_sizes)
    return _write(servable, differences, directory, model_name=model_name, interpolation_steps=interpolation_steps,
                  interpolation=interpolation, warmup_batch_sizes=warmup_batch_sizes, max_batch_size=max_batch_size)


def _write(servable: _Servable, differences: dict | None, directory, *, model_name, interpolation_steps,
           interpolation, warmup_batch_sizes, max_batch_size) -> dict:
    """:func:`write_saved_model` for a checked servable; ``differences``: the float16 measurements."""
    model = servable.model
    directory = Path(directory)

    # No archive.track(model): the endpoints capture exactly the variables they read, so a GAN's
    # discriminator and the training state stay out, and tracking would also store every tracked
    # variable a second time (Keras 3.15 keeps two variable lists): less than half the size.
    archive = keras.export.ExportArchive()
    functions = {}
    # serving_default is registered by name (ExportArchive would otherwise alias the first
    # endpoint): TF Serving calls it when a request names no signature.
    for name, (fn, spec) in _endpoints(servable, interpolation_steps, interpolation).items():
        functions[name] = archive.add_endpoint(name, fn, input_signature=spec)
    archive.write_out(str(directory), verbose=False)

    requests = [
        (name, warmup.example_inputs(_input_specs(function), batch))
        for name, function in functions.items()
        for batch in warmup_batch_sizes
    ]
    warmup.write_warmup_requests(directory, model_name, requests)
    info = {
        "zoo_version": __version__,
        "tensorflow_version": tf.__version__,
        "model_class": type(model).__name__,
        "prior": model.prior.kind,
        "latent_dim": servable.latent_dim,
        "image_shape": list(servable.image_shape),
        "interpolation_steps": interpolation_steps,
        "interpolation": interpolation,
        "max_batch_size": max_batch_size,
        "precision": servable.precision,
        "signatures": list(functions),
    }
    if differences is not None:
        info["float16_vs_float32"] = differences
    (directory / "assets.extra" / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n")
    opcheck.check(directory)
    return info


def _input_specs(function) -> dict[str, tf.TensorSpec]:
    # ExportArchive endpoints are tf.functions whose input signature is a flat list of named specs.
    return {spec.name: spec for spec in function.input_signature}


def check_arguments(base, name: str, *, version=None, interpolation_steps=DEFAULT_INTERPOLATION_STEPS,
                    warmup_batch_sizes=(1,), serving_root=repository.DEFAULT_SERVING_ROOT,
                    interpolation="linear", max_batch_size=DEFAULT_MAX_BATCH_SIZE, batching=None,
                    precision="float32") -> None:
    """Everything :func:`export` refuses about its arguments (not the model), checked without writing.

    That includes a ``models.config`` the export could not extend (damaged, not UTF-8, configuring
    models with ``custom_model_config``): refused here, before a version is published, so fixing
    or deleting it and exporting again leaves one new version, not two.
    """
    repository.check_model_dir(base, name)
    repository.check_version(version)
    repository.check_serving_root(serving_root)
    _check_models_config(base, name, serving_root)
    _check_options(interpolation_steps, warmup_batch_sizes, interpolation, max_batch_size, precision)
    merged = batching.max_batch_size if batching is not None else repository.read_max_batch_size(base)
    if merged is not None and merged > max_batch_size:
        raise ExportError(
            f"the server would merge requests into batches of up to {merged} rows "
            f"({repository.BATCHING_PARAMETERS}), more than this export's max batch size {max_batch_size}; "
            f"export with a max batch size >= {merged} or lower the batching max_batch_size"
        )


def _check_models_config(base, name: str, serving_root: str) -> None:
    """Refuse (``ExportError``) when ``base/models.config`` could not be extended with ``name``."""
    path = Path(base) / repository.MODELS_CONFIG
    if not path.is_file():
        return
    try:
        repository.merge_models_config(path.read_text(encoding="utf-8"), [name], serving_root, source=str(path))
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not UTF-8 text; fix it or delete it (the next export writes a new one); "
                          "nothing was exported") from None
    except ConfigError as error:
        raise ExportError(f"{error}; nothing was exported") from None


def export(
    model,
    base: str | os.PathLike,
    name: str,
    *,
    version: int | None = None,
    interpolation_steps: int = DEFAULT_INTERPOLATION_STEPS,
    interpolation: str = "linear",
    warmup_batch_sizes: tuple[int, ...] = (1,),
    serving_root: str = repository.DEFAULT_SERVING_ROOT,
    batching: repository.BatchingParameters | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    precision: str = "float32",
) -> Path:
    """Export ``model`` to ``base/name/<version>/`` atomically and refresh the repository files.

    ``version`` defaults to the next integer; an existing version is never overwritten. Afterwards
    ``base/models.config`` lists every model under ``base``, and ``base/batching_parameters.txt`` is
    written from ``batching`` when given, or with ``max_batch_size`` when the file does not exist yet
    (an edited file is kept). The server merges requests into batches of up to the file's
    ``max_batch_size``, so it may not exceed any export's ``max_batch_size`` (the signatures refuse
    larger batches): such a ``batching`` or existing file is refused before anything is written.
    ``precision`` as in :func:`write_saved_model`; a float16 model that degrades is refused before
    anything is written. Returns the version directory.
    """
    # Refuse before creating anything.
    check_arguments(base, name, version=version, interpolation_steps=interpolation_steps,
                    warmup_batch_sizes=warmup_batch_sizes, serving_root=serving_root, interpolation=interpolation,
                    max_batch_size=max_batch_size, batching=batching, precision=precision)
    servable, differences = _prepared(model, precision, max_batch_size, warmup_batch_sizes)
    if interpolation == "matched":
        _matched_path(servable, interpolation_steps)
    merged = batching.max_batch_size if batching is not None else repository.read_max_batch_size(base)
    def write(staging):
        _write(servable, differences, staging, model_name=name, interpolation_steps=interpolation_steps,
               interpolation=interpolation, warmup_batch_sizes=warmup_batch_sizes, max_batch_size=max_batch_size)

    try:
        target = repository.publish(base, name, write, version=version)
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(
            f"the disk holding {base} is full ({first_line(error)}): nothing was published (the partly written "
            "version was removed). Free some space and export again."
        ) from None
    try:
        repository.write_models_config(base, serving_root)
        if batching is not None or merged is None:
            repository.write_batching_parameters(
                base, batching or repository.BatchingParameters(max_batch_size=max_batch_size)
            )
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(
            f"the disk holding {base} is full ({first_line(error)}): {target} was published, but "
            f"{repository.MODELS_CONFIG} and {repository.BATCHING_PARAMETERS} may not list it yet. Free some space "
            "and export again (the next version updates both files)."
        ) from None
    return target
