"""latent-zoo: Keras 3 generative models whose latent space behaves.

Non-parametric latent priors (Singh et al., ICML 2019) and the GDPP diversity loss (Elfeki et al.,
ICML 2019) as Keras models trained with ``model.fit``, TFP priors and TF Serving exports.

Submodules are imported on first use so ``import zoo`` (and the ``zoo`` command line) stays fast;
``keras.saving.load_model`` nonetheless finds the zoo's classes in any ``.keras`` file once ``zoo``
is imported.
"""

from __future__ import annotations

import importlib

from zoo import _keras_objects
from zoo._version import __version__

# keras.saving.load_model finds the zoo's classes after a bare `import zoo` (see zoo._keras_objects).
_keras_objects.install()

_SUBMODULES = ("data", "priors", "latent", "losses", "models", "metrics", "presets")
# Public callables re-exported from submodules: name -> "module:attribute".
# (``zoo.presets`` is the submodule; it is callable, so ``zoo.presets()`` lists the presets too.)
_EXPORTS: dict[str, str] = {"load": "presets:load"}

__all__ = ["__version__", *_SUBMODULES, *_EXPORTS]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"zoo.{name}")
        globals()[name] = module
        return module
    if name in _EXPORTS:
        module_name, attribute = _EXPORTS[name].split(":")
        value = getattr(importlib.import_module(f"zoo.{module_name}"), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
