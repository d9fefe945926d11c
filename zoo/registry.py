"""The zoo's lists of choices, one registry each: model kinds and priors.

The command line and the recipe schema (``training.config``) read their choices from here, so a
model kind or a prior registered once (``zoo.models.register_model_kind``,
``zoo.priors.register_prior``) is accepted everywhere. This module needs only the standard
library: ``zoo train --list`` and config errors stay instant. The built-in entries are listed by
name with the module that registers them; that module is imported (with TensorFlow) the first
time one of them is looked up, never to list the names.
"""

from __future__ import annotations

import difflib
import importlib

from zoo.errors import ConfigError


class Registry:
    """Names mapped to entries (what an entry is depends on the registry).

    Args:
        what: what one entry is, for messages ("model kind").
        module: the module whose import registers the built-in entries.
        builtin: the names that module registers.
    """

    def __init__(self, what: str, module: str, builtin: tuple[str, ...]):
        self.what = what
        self._module = module
        self._builtin = tuple(builtin)
        self._entries: dict[str, object] = {}

    def register(self, name: str, entry, *, replace: bool = False) -> None:
        """Add ``entry`` as ``name``; ``ConfigError`` when the name is taken (``replace=True`` replaces it)."""
        if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
            raise ConfigError(f"a {self.what} name must be a lower-case identifier, got {name!r}.")
        if name in self._entries and not replace:
            raise ConfigError(f"{self.what} {name!r} is registered already; pass replace=True to replace it.")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a registered entry; built-in ones cannot be removed)."""
        if name in self._builtin:
            raise ConfigError(f"{self.what} {name!r} is built in and cannot be removed.")
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Every name, built-in and registered, sorted (imports nothing)."""
        return sorted({*self._builtin, *self._entries})

    def __contains__(self, name) -> bool:
        return name in self._builtin or name in self._entries

    def get(self, name: str):
        """The entry registered as ``name``; ``ConfigError`` naming the choices when there is none."""
        if name in self._builtin and name not in self._entries:
            importlib.import_module(self._module)
        if name not in self._entries:
            close = difflib.get_close_matches(str(name), self.names(), n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ConfigError(f"unknown {self.what} {name!r}.{hint} Choose one of {', '.join(self.names())}.")
        return self._entries[name]


#: ``zoo.models.ModelKind`` entries: what ``build_model({"model": name, ...})`` builds.
MODELS = Registry("model kind", "zoo.models", ("dcgan", "gdpp_stacked_mnist_dcgan", "synthetic_gan", "synthetic_wgan_gp", "vae",
                                                "wgan_gp"))
#: ``zoo.priors.LatentDistribution`` subclasses by their ``kind``.
PRIORS = Registry("prior", "zoo.priors", ("cauchy", "gamma", "nonparametric", "normal", "uniform"))
