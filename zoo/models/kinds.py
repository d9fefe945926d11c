"""Model kinds: what ``build_model(config)`` builds for ``config["model"]``, and how to add one.

A kind is a builder (a plain dict -> a :class:`~zoo.models.GenerativeModel`) with the dict keys it
accepts, registered in :data:`zoo.registry.MODELS`. Once registered, a kind trains with ``zoo
train`` / ``training.run.train`` (recipe ``model.kind``), evaluates, exports and loads like the
built-in ones::

    @keras.saving.register_keras_serializable(package="mine")
    class MyModel(zoo.models.GenerativeModel): ...

    zoo.models.register_model_kind("mine", lambda config: MyModel(...), keys=("width",))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from zoo.errors import ConfigError
from zoo.registry import MODELS

#: Keys every kind accepts: the kind, the latent size and prior, the training-noise seed, and
#: whether (and with which ``jit_compile``) the builder compiles the model with default optimizers.
COMMON_KEYS = frozenset({"model", "latent_dim", "prior", "seed", "compile", "jit_compile"})
#: The per-sample shape keys of each kind of data a model can train on (``zoo.data.spec().kind``).
DATA_KEYS = {"images": frozenset({"image_size", "channels"}), "points": frozenset({"data_dim"})}


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """A registered model kind (see :func:`register_model_kind`)."""

    name: str
    builder: Callable[[dict], object]
    keys: frozenset
    data: str
    description: str = ""

    def data_keys(self, element_shape: tuple[int, ...], dataset: str = "the dataset") -> dict:
        """The ``build_model`` keys of this kind for data of per-sample ``element_shape``."""
        element_shape = tuple(element_shape)
        if self.data == "images" and len(element_shape) == 3:
            return {"image_size": element_shape[0], "channels": element_shape[2]}
        if self.data == "points" and len(element_shape) == 1:
            return {"data_dim": element_shape[0]}
        others = [name for name in MODELS.names() if MODELS.get(name).data != self.data]
        raise ConfigError(
            f"model.kind {self.name!r} trains on {self.data} but {dataset} gives samples of shape "
            f"{element_shape}; use a model kind for {'points' if self.data == 'images' else 'images'} "
            f"({', '.join(others)})."
        )


def register_model_kind(name: str, builder: Callable[[dict], object], keys: Iterable[str] = (), *,
                        data: str = "images", description: str = "", replace: bool = False) -> ModelKind:
    """Make ``build_model({"model": name, ...})`` (and so recipes, ``zoo train``) build ``builder(config)``.

    Args:
        name: the kind's name (a lower-case identifier), recipe ``model.kind``.
        builder: ``config dict -> GenerativeModel``. The dict holds only accepted keys; the builder
            applies its defaults, and compiles the model with default optimizers unless
            ``config.get("compile", True)`` is false (pass ``jit_compile`` on to ``compile``).
        keys: the kind's own keys, beyond :data:`COMMON_KEYS` and the data's shape keys
            (:data:`DATA_KEYS`: ``image_size`` and ``channels`` for images, ``data_dim`` for points).
            Include ``diversity_weight`` only when the model supports GDPP.
        data: ``"images"`` or ``"points"``: what the model makes and trains on.
        description: one line for listings.
        replace: replace a kind registered under ``name`` (otherwise ``ConfigError``).

    Returns the :class:`ModelKind`.
    """
    if data not in DATA_KEYS:
        raise ConfigError(f"data must be one of {', '.join(DATA_KEYS)}, got {data!r}.")
    if not callable(builder):
        raise ConfigError(f"builder must be callable (config dict -> model), got {builder!r}.")
    keys = frozenset(keys)
    if not all(isinstance(key, str) for key in keys):
        raise ConfigError(f"keys must be strings, got {sorted(map(repr, keys))}.")
    kind = ModelKind(name, builder, COMMON_KEYS | DATA_KEYS[data] | keys, data, description)
    MODELS.register(name, kind, replace=replace)
    return kind


def model_kinds() -> list[str]:
    """The names ``build_model`` accepts as ``config["model"]``, sorted."""
    return MODELS.names()


def model_kind(name: str) -> ModelKind:
    """The registered :class:`ModelKind` ``name``; ``ConfigError`` naming the choices otherwise."""
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(f"config['model'] must be one of {tuple(model_kinds())}, got {name!r}.")
    return MODELS.get(name)


def build_model(config: dict):
    """Build (and by default compile) the model ``config["model"]`` names from a plain dict.

    The built-in kinds and their keys are listed in ``zoo.models`` (``help(zoo.models)``); any kind
    registered with :func:`register_model_kind` is built the same way.

    Raises:
        ConfigError: unknown ``model`` or key, or a bad value.
    """
    from zoo.models.base import GenerativeModel

    if not isinstance(config, dict):
        raise ConfigError(f"build_model takes a dict, got {type(config).__name__}.")
    kind = model_kind(config.get("model"))
    unknown = set(config) - kind.keys
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {sorted(unknown)} for model {kind.name!r}; accepted keys: {sorted(kind.keys)}."
        )
    model = kind.builder(dict(config))
    if not isinstance(model, GenerativeModel):
        raise ConfigError(
            f"the builder of model kind {kind.name!r} returned a {type(model).__name__}, not a "
            "zoo.models.GenerativeModel."
        )
    return model
