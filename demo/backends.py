"""The models behind the page: SavedModels in this process, or a running TF Serving.

Either way the page calls a model's serving signatures (``sample``, ``serving_default``) by name
with NumPy inputs and gets ``{output: array}`` back, so what it shows is what a model server
returns:

- :class:`LocalModel`: an export directory, or a preset exported once into the cache
  (:class:`demo.cache.Cache`), loaded with ``tf.saved_model.load`` and called through
  ``loaded.signatures[name]``: TensorFlow alone, no Keras model, the graph TF Serving runs.
- :class:`ServedModel`: a model on a TF Serving instance (``--serving-url``), through
  :class:`exports.client.RestClient` (``http://``, ``https://``) or
  :class:`exports.client.GrpcClient` (``grpc://host:port``).

Loading and exporting happen on first use, under a lock, so the page starts at once.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from zoo.errors import ConfigError, DataUnavailableError

from demo.cache import SAVED_MODEL, Cache

SERVING_SCHEMES = ("http://", "https://", "grpc://")


def _first_line(message: str) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else "no message"


def is_point_preset(name: str) -> bool:
    """Whether shipped preset ``name`` makes points rather than images: its card's data set has 1-D elements.

    Point presets are not exportable; the Diversity tab runs them with Keras.
    """
    import zoo.presets
    from zoo import data

    card = zoo.presets.card(name)
    dataset = card.get("evaluation", {}).get("dataset") or card.get("config", {}).get("data", {}).get("name")
    return dataset is not None and len(data.spec(dataset).element_shape) == 1


def image_presets() -> list[str]:
    """The shipped presets that make images (the ones an export serves), sorted by name."""
    import zoo.presets

    return [name for name in zoo.presets.presets() if not is_point_preset(name)]


class Model:
    """A model the page can call. ``preset``: the preset behind it (name or directory), if known."""

    def __init__(self, name: str, preset: str | os.PathLike | None = None):
        self.name = name
        self.preset = preset
        self._lock = threading.Lock()
        self._prior = None

    def run(self, signature: str, inputs: dict) -> dict[str, np.ndarray]:
        """Call ``signature`` with ``{input: array}``; ServingError/ConfigError with a readable message."""
        raise NotImplementedError

    def facts(self) -> dict:
        """``latent_dim``, ``image_shape``, ``max_batch_size`` (None when unknown), ``signatures``, ``where``."""
        raise NotImplementedError

    def prior(self):
        """The preset's :class:`zoo.priors.LatentPrior` (for the matched path and the card's draws)."""
        if self.preset is None:
            raise ConfigError(
                f"{self.name} is an export, not a preset, so the demo does not know its prior exactly (the "
                "export records only the prior's family); choose the linear or slerp path"
            )
        with self._lock:
            if self._prior is None:
                import zoo.presets

                self._prior = zoo.presets.load(self.preset).prior
        return self._prior


class LocalModel(Model):
    """A SavedModel loaded in this process: ``version_dir`` given, or ``preset`` exported through ``cache``."""

    def __init__(self, name: str, *, version_dir: str | os.PathLike | None = None, preset=None,
                 cache: Cache | None = None):
        super().__init__(name, preset)
        if (version_dir is None) == (preset is None):
            raise ValueError("give exactly one of version_dir and preset")
        self._version_dir = None if version_dir is None else Path(version_dir)
        self._cache = cache or Cache()
        self._loaded = None
        self._info = None

    def version_dir(self) -> Path:
        """The export directory (exporting the preset into the cache first when needed)."""
        with self._lock:
            if self._version_dir is None:
                self._version_dir = self._cache.preset_export(self.preset, self.name)
            return self._version_dir

    def info(self) -> dict:
        """The export's ``assets.extra/zoo_export.json``."""
        from exports.savedmodel import EXPORT_INFO

        if self._info is None:
            path = self.version_dir() / "assets.extra" / EXPORT_INFO
            try:
                self._info = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise DataUnavailableError(
                    f"{path} is missing or unreadable ({error}); {self.name} is not an export written by "
                    "zoo export, so the demo cannot serve it: export the model again with zoo export"
                ) from None
        return self._info

    def _signatures(self):
        directory = self.version_dir()
        with self._lock:
            if self._loaded is None:
                from zoo._tf import tf

                self._loaded = tf.saved_model.load(str(directory))
            return self._loaded.signatures

    def run(self, signature, inputs):
        from zoo._tf import tf
        from exports.errors import ServingError

        signatures = self._signatures()
        if signature not in signatures:
            raise ConfigError(f"{self.name} has no signature {signature!r}; it has {sorted(signatures)}")
        function = signatures[signature]
        specs = function.structured_input_signature[1]
        if set(specs) != set(inputs):
            raise ConfigError(f"signature {signature!r} takes inputs {sorted(specs)}, got {sorted(inputs)}")
        tensors = {key: tf.constant(np.asarray(value), dtype=specs[key].dtype) for key, value in inputs.items()}
        try:
            outputs = function(**tensors)
        except tf.errors.OpError as error:  # the graph's own checks (row limit, shapes, finite values)
            raise ServingError(f"{self.name} refused the request: {_first_line(error.message)}",
                               status=type(error).__name__) from None
        return {key: value.numpy() for key, value in outputs.items()}

    def facts(self):
        info = self.info()
        return {
            "latent_dim": int(info["latent_dim"]),
            "image_shape": tuple(int(d) for d in info["image_shape"]),
            "max_batch_size": int(info.get("max_batch_size", 0)) or None,
            "signatures": list(info.get("signatures", [])),
            "where": "in this process (tf.saved_model.load)",
            "info": info,
        }


class ServedModel(Model):
    """A model on a running TF Serving, through an :mod:`exports.client` client."""

    def __init__(self, name: str, client, url: str, preset=None):
        super().__init__(name, preset)
        self.client = client
        self.url = url

    def run(self, signature, inputs):
        return self.client.predict(inputs, signature)

    def facts(self):
        signatures = self.client.signatures()
        sample = signatures.get("sample")
        if sample is None or "images" not in sample.outputs or "z" not in sample.outputs:
            raise ConfigError(
                f"{self.name} on {self.url} has no 'sample' signature with images and z; serve a model "
                "exported by zoo export"
            )
        return {
            "latent_dim": int(sample.outputs["z"].shape[-1]),
            "image_shape": tuple(int(d) for d in sample.outputs["images"].shape[1:]),
            "max_batch_size": None,  # the server refuses larger requests itself
            "signatures": sorted(signatures),
            "where": f"TF Serving at {self.url}",
            "info": {},
        }


class Models:
    """The models the page lists (in order), and shipped presets it may also need (Diversity)."""

    def __init__(self, listed: list[Model], make_preset_model):
        names = [model.name for model in listed]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"two models are named {', '.join(duplicates)}; give each source once")
        if not listed:
            raise ConfigError("no models to show; name presets or export directories")
        self._listed = {model.name: model for model in listed}
        self._make_preset_model = make_preset_model
        self._extra: dict[str, Model] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self._listed)

    def get(self, name) -> Model:
        """The listed model ``name``; ConfigError naming the choices for anything else."""
        if not isinstance(name, str) or name not in self._listed:
            shown = name if isinstance(name, str) else type(name).__name__
            raise ConfigError(f"unknown model {shown[:80]!r}; choose one of {', '.join(self._listed)}")
        return self._listed[name]

    def preset(self, preset: str) -> Model:
        """The model serving shipped preset ``preset``: the listed one, or one made on first use."""
        if preset in self._listed:
            return self._listed[preset]
        with self._lock:
            if preset not in self._extra:
                self._extra[preset] = self._make_preset_model(preset)
            return self._extra[preset]


def _export_dir(path: Path) -> tuple[str, Path] | None:
    """``(model name, version directory)`` for a version directory or a model directory, else None."""
    if (path / SAVED_MODEL).is_file():
        return (path.resolve().parent.name if path.name.isdigit() else path.resolve().name), path
    versions = [p for p in path.iterdir() if p.name.isdigit() and (p / SAVED_MODEL).is_file()]
    if versions:
        return path.resolve().name, max(versions, key=lambda p: int(p.name))
    return None


def local_models(sources: list[str], cache: Cache) -> Models:
    """Models for ``sources`` (preset names, preset directories, export directories), in this process."""
    import zoo.presets

    listed = []
    for source in sources or image_presets():
        path = Path(source)
        if path.is_dir():
            found = _export_dir(path)
            if found is not None:
                listed.append(LocalModel(found[0], version_dir=found[1], cache=cache))
                continue
            zoo.presets.preset_dir(path)  # a preset directory, or an error saying what the directory lacks
            listed.append(LocalModel(path.resolve().name, preset=path, cache=cache))
            continue
        zoo.presets.preset_dir(source)  # an unknown name fails here, with the closest names
        if is_point_preset(source):
            raise ConfigError(
                f"{source} makes 2-D points, which no export serves; the Diversity tab shows it. "
                "Name image presets or exports"
            )
        listed.append(LocalModel(source, preset=source, cache=cache))
    return Models(listed, lambda preset: LocalModel(preset, preset=preset, cache=cache))


def make_client(url: str, model: str):
    """A REST client for ``http(s)://host:port``, a gRPC client for ``grpc://host:port``."""
    from exports.client import GrpcClient, RestClient

    if not url.startswith(SERVING_SCHEMES):
        raise ConfigError(
            f"--serving-url must start with {', '.join(SERVING_SCHEMES)} (REST: http://localhost:8501, gRPC: "
            f"grpc://localhost:8500), got {url!r}"
        )
    if url.startswith("grpc://"):
        return GrpcClient(url[len("grpc://"):].rstrip("/"), model)
    return RestClient(url, model)


def served_models(sources: list[str], url: str) -> Models:
    """Models named ``sources`` on the TF Serving at ``url`` (default: the shipped image presets' names)."""
    import zoo.presets

    shipped = set(zoo.presets.presets())

    def served(name):
        return ServedModel(name, make_client(url, name), url, preset=name if name in shipped else None)

    for source in sources:
        if os.sep in source or source.startswith("."):
            raise ConfigError(f"with --serving-url, name models as the server knows them, not paths: {source!r}")
    return Models([served(name) for name in sources or image_presets()], served)
