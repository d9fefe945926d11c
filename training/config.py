"""Recipes: load, resolve and validate the configuration of one training run.

A recipe is a small JSON file in ``training/recipes/`` holding only what differs from its parent:
``"extends"`` names another recipe (names starting with ``_`` are shared bases that are not listed),
and the chain ends at :data:`DEFAULTS`. Resolution merges the chain, applies ``--set key=value``
overrides (dotted keys, JSON values) and checks every value against :data:`SCHEMA`, so a typo or a
wrong type fails before anything is loaded or written. The ``model`` section is handed to
``zoo.models.build_model`` unchanged, which validates it further.

Only the standard library and :mod:`zoo.registry` (whose lists of model kinds and priors the
schema reads) are imported here: ``zoo train --list`` and config errors stay instant.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import pathlib
from collections.abc import Iterable, Mapping

from zoo import registry
from zoo._seeds import MAX_SEED
from zoo.errors import ConfigError

RECIPE_DIR = pathlib.Path(__file__).resolve().parent / "recipes"
# Bumped when a key changes meaning; recipes declare the version they were written for.
FORMAT_VERSION = 1
DEFAULT_RECIPE = "mnist_gdpp_dcgan_nonparametric"

_NUMBER = (int, float)


@dataclasses.dataclass(frozen=True)
class Field:
    """One configuration key: accepted JSON types, whether null is allowed, and a value check.

    ``choices``: the accepted values, or a :class:`zoo.registry.Registry` whose names are read at
    every check (so a model kind or prior registered at run time is accepted).
    """

    types: tuple[type, ...]
    nullable: bool = False
    choices: tuple | registry.Registry | None = None
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def allowed(self) -> tuple | None:
        """The accepted values now (``None``: any of the types)."""
        if isinstance(self.choices, registry.Registry):
            return tuple(self.choices.names())
        return self.choices

    def describe(self) -> str:
        names = "/".join("number" if t is float else t.__name__ for t in self.types)
        if self.allowed():
            names = " | ".join(map(str, self.allowed()))
        return names + (" or null" if self.nullable else "")

    def check(self, key: str, value):
        """``value`` converted to the field's type (int -> float where a float is expected)."""
        if value is None:
            if self.nullable:
                return None
            raise ConfigError(f"{key} must not be null; expected {self.describe()}.")
        accepted = (*self.types, int) if float in self.types else self.types
        ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in self.types)
        if not ok:
            raise ConfigError(
                f"{key} must be {self.describe()}, got {json.dumps(value)} ({type(value).__name__})."
                + (f" {self.help}" if self.help else "")
            )
        if float in self.types and int not in self.types and isinstance(value, int):
            value = float(value)
        choices = self.allowed()
        if choices is not None and value not in choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=2, cutoff=0.5)
            raise ConfigError(
                f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}."
                + (f" Did you mean {' or '.join(map(repr, hint))}?" if hint else "")
            )
        if isinstance(value, _NUMBER):
            if self.minimum is not None and value < self.minimum:
                raise ConfigError(f"{key} must be >= {self.minimum}, got {value}.")
            if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
                raise ConfigError(f"{key} must be > {self.exclusive_minimum}, got {value}.")
            if self.maximum is not None and value > self.maximum:
                raise ConfigError(f"{key} must be <= {self.maximum}, got {value}.")
        return value


# Every key a resolved config may hold. ``model.*`` keys are build_model's (see zoo.models).
SCHEMA: dict[str, Field] = {
    "version": Field((int,), minimum=1, help="The recipe format version."),
    "description": Field((str,)),
    "paper": Field((str,), help="Where the settings come from."),
    "seed": Field((int,), minimum=0, maximum=MAX_SEED),
    "data.name": Field((str,)),
    "data.batch_size": Field((int,), minimum=1),
    "data.image_size": Field((int,), nullable=True, minimum=8),
    "data.data_dir": Field((str,), nullable=True, help="Directory holding the dataset (image folders, TFDS data)."),
    "data.options": Field((dict,), help="Extra dataset options passed to zoo.data.load."),
    "model.kind": Field((str,), choices=registry.MODELS, help="A registered model kind (zoo.models.register_model_kind adds one)."),
    "model.latent_dim": Field((int,), minimum=1),
    "model.prior": Field((str,), choices=registry.PRIORS, help="A registered prior (zoo.priors.register_prior adds one)."),
    "model.prior_params": Field((dict,), help="Parameters of the prior (zoo.priors.get)."),
    "model.diversity_weight": Field((float,), minimum=0.0),
    "model.options": Field(
        (dict,), help="Further zoo.models.build_model keys (width, label_smoothing, generator_steps, kl_weight, ...)."
    ),
    "optimizer.learning_rate": Field((float,), exclusive_minimum=0.0),
    "optimizer.d_learning_rate": Field(
        (float,), nullable=True, exclusive_minimum=0.0, help="Discriminator rate; null: optimizer.learning_rate."
    ),
    "optimizer.beta_1": Field((float,), minimum=0.0, maximum=1.0),
    "optimizer.beta_2": Field((float,), minimum=0.0, maximum=1.0),
    "optimizer.epsilon": Field((float,), exclusive_minimum=0.0),
    "optimizer.decay": Field((str,), choices=("none", "linear"), help="linear: to 0 over the whole run."),
    "train.epochs": Field((int,), minimum=1),
    "train.steps_per_epoch": Field((int,), nullable=True, minimum=1, help="null: one pass over the data."),
    "train.ema": Field(
        (float,), nullable=True, exclusive_minimum=0.0, maximum=0.99999,
        help="Momentum of an exponential moving average of the generator weights; null: off.",
    ),
    "train.deterministic": Field(
        (bool,), help="Deterministic TensorFlow ops: same losses on re-runs, slower on GPUs, no --jit."
    ),
    "samples.grid": Field((int,), minimum=1, maximum=4096, help="Samples in the per-epoch grid (points: in the scatter plot)."),
    "samples.interpolation_pairs": Field((int,), minimum=1, maximum=16),
    "samples.interpolation_steps": Field((int,), minimum=3, maximum=33),
    "eval.metrics": Field((list,), nullable=True, help="Metric names for zoo.metrics.evaluate; null: its defaults."),
    "eval.samples": Field((int,), minimum=1),
    "eval.enabled": Field((bool,)),
}

DEFAULTS: dict = {
    "version": FORMAT_VERSION,
    "description": "",
    "paper": "",
    "seed": 0,
    "data": {"name": "digits", "batch_size": 64, "image_size": None, "data_dir": None, "options": {}},
    "model": {
        "kind": "dcgan",
        "latent_dim": 100,
        "prior": "uniform",
        "prior_params": {},
        "diversity_weight": 0.0,
        "options": {},
    },
    "optimizer": {
        "learning_rate": 2e-4,
        "d_learning_rate": None,
        "beta_1": 0.5,
        "beta_2": 0.999,
        "epsilon": 1e-7,
        "decay": "none",
    },
    "train": {"epochs": 10, "steps_per_epoch": None, "ema": None, "deterministic": False},
    "samples": {"grid": 64, "interpolation_pairs": 4, "interpolation_steps": 9},
    "eval": {"metrics": None, "samples": 2000, "enabled": True},
}


# Dict-valued keys whose entries are checked by the code they are passed to, not here; their
# entries can be set one at a time (``--set model.options.width=32``) and recipes merge into them.
OPEN_KEYS = ("data.options", "model.options")


def _open_parent(dotted: str) -> str | None:
    return next((key for key in OPEN_KEYS if dotted.startswith(key + ".")), None)


def flatten(config: Mapping, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; dict-valued schema keys (``*.options``) stay whole."""
    flat = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in SCHEMA:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def unflatten(flat: Mapping) -> dict:
    nested: dict = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _unknown_key(key: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, SCHEMA, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return ConfigError(
        f"unknown config key {key!r} in {where}.{hint} Valid keys: see `zoo train --keys`."
    )


def recipe_names() -> list[str]:
    """Names of the shipped recipes (without the ``_``-prefixed shared bases)."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.json") if not p.stem.startswith("_"))


def _recipe_path(name: str) -> pathlib.Path:
    path = pathlib.Path(name)
    if path.suffix == ".json" and path.is_file():
        return path
    shipped = RECIPE_DIR / f"{name}.json"
    if shipped.is_file():
        return shipped
    if path.suffix == ".json":
        raise ConfigError(f"recipe file {name} does not exist.")
    close = difflib.get_close_matches(name, recipe_names(), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ConfigError(f"unknown recipe {name!r}.{hint} List them with `zoo train --list`, or pass a .json file.")


def read_recipe(name: str) -> dict:
    """The raw JSON of recipe ``name`` (a shipped name or a path to a ``.json`` file)."""
    path = _recipe_path(name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"recipe {path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8 JSON."
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"recipe {path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path} must hold a JSON object, not {type(raw).__name__}.")
    return raw


def _merge(base: dict, override: Mapping, where: str) -> dict:
    merged = copy.deepcopy(base)
    for dotted, value in flatten(override).items():
        if dotted == "extends":
            continue
        if dotted not in SCHEMA:
            raise _unknown_key(dotted, where)
        parent = merged
        *parents, leaf = dotted.split(".")
        for part in parents:
            parent = parent.setdefault(part, {})
        if dotted in OPEN_KEYS and isinstance(value, Mapping) and isinstance(parent.get(leaf), dict):
            parent[leaf] = {**parent[leaf], **copy.deepcopy(value)}
        else:
            parent[leaf] = copy.deepcopy(value)
    return merged


def _chain(name: str, seen: tuple[str, ...] = ()) -> dict:
    if name in seen:
        raise ConfigError(f"recipe {name!r} extends itself through {' -> '.join(seen)}.")
    raw = read_recipe(name)
    parent = raw.get("extends")
    if isinstance(parent, str) and parent.endswith(".json") and not pathlib.Path(parent).is_absolute():
        parent = str((_recipe_path(name).parent / parent).resolve())  # relative to the extending file
    base = DEFAULTS if parent is None else _chain(str(parent), (*seen, name))
    return _merge(base, raw, f"recipe {name!r}")


def parse_overrides(pairs: Iterable[str]) -> dict:
    """``["train.epochs=3", "model.prior=normal"]`` -> ``{"train.epochs": 3, "model.prior": "normal"}``.

    Values are JSON (``3``, ``1e-4``, ``true``, ``null``, ``[1, 2]``, ``{"k": 1}``); anything that is not
    JSON is taken as a string, so ``model.prior=normal`` needs no quotes.
    """
    overrides = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r} (e.g. --set train.epochs=3).")
        if key not in SCHEMA and _open_parent(key) is None:
            raise _unknown_key(key, "--set")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        overrides[key] = value
    return overrides


def validate(config: Mapping) -> dict:
    """Check every key and value of a resolved config; returns it with numbers normalised."""
    flat = flatten(config)
    recipe = flat.pop("recipe", None)
    for key in flat:
        if key not in SCHEMA:
            raise _unknown_key(key, "the config")
    missing = sorted(set(SCHEMA) - set(flat))
    if missing:
        raise ConfigError(f"config is missing {', '.join(missing)}.")
    checked = {key: SCHEMA[key].check(key, value) for key, value in flat.items()}
    if checked["version"] > FORMAT_VERSION:
        raise ConfigError(
            f"recipe format version {checked['version']} is newer than this zoo understands "
            f"({FORMAT_VERSION}); upgrade latent-zoo."
        )
    metrics = checked["eval.metrics"]
    if metrics is not None and not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"eval.metrics must be a list of metric names, got {json.dumps(metrics)}.")
    resolved = unflatten(checked)
    if recipe is not None:
        resolved["recipe"] = recipe
    return resolved


def resolve(recipe: str, overrides: Iterable[str] = ()) -> dict:
    """The validated config of ``recipe`` with ``--set`` ``overrides`` applied, plus its ``recipe`` name."""
    merged = _merge(_chain(recipe), unflatten(parse_overrides(overrides)), "--set")
    config = validate(merged)
    config["recipe"] = pathlib.Path(recipe).stem if recipe.endswith(".json") else recipe
    return config


def describe_recipes() -> list[tuple[str, str]]:
    """``(name, description)`` of every listed recipe, for ``zoo train --list``."""
    return [(name, resolve(name)["description"]) for name in recipe_names()]


def diff(old: Mapping, new: Mapping) -> dict[str, tuple]:
    """Keys whose values differ between two configs: ``{key: (old, new)}``."""
    a, b = flatten(old), flatten(new)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
