"""``import zoo`` is enough for ``keras.saving.load_model`` on a zoo ``.keras`` file.

Keras finds a saved class by its registered name (``"zoo>DCGAN"``) in its table of registered
objects, which a class enters when its module is imported: after a bare ``import zoo`` (which must
not import TensorFlow or Keras) the table holds none of the zoo's classes, and loading fails with
"Could not locate class 'DCGAN'". So ``import zoo`` puts a lookup hook on that table: the first
time Keras asks for a ``zoo>`` name it does not hold, ``zoo.models`` is imported, which registers
every zoo class (models, priors, training-noise layers). When Keras is not imported yet, the hook is
installed as Keras' registration module loads (an import hook that waits for that one module).

Only the standard library is used here. The hook relies on Keras keeping its table as the module
attribute ``GLOBAL_CUSTOM_OBJECTS`` of ``keras.src.saving.object_registration`` (true from Keras 3.0
to 3.15); if that moves, loading falls back to needing ``import zoo.models`` first, and
``tests/test_package.py`` says so.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

_REGISTRY_MODULE = "keras.src.saving.object_registration"
_PREFIX = "zoo>"
_REGISTERING_MODULE = "zoo.models"


class _ZooObjects(dict):
    """Keras' table of registered objects; looking up a missing ``zoo>`` name imports ``zoo.models`` first."""

    def __contains__(self, name):
        if not dict.__contains__(self, name) and isinstance(name, str) and name.startswith(_PREFIX):
            importlib.import_module(_REGISTERING_MODULE)
        return dict.__contains__(self, name)


def _hook(module) -> None:
    table = getattr(module, "GLOBAL_CUSTOM_OBJECTS", None)
    if isinstance(table, dict) and not isinstance(table, _ZooObjects):
        module.GLOBAL_CUSTOM_OBJECTS = _ZooObjects(table)


class _HookingLoader(importlib.abc.Loader):
    """Keras' own loader of its registration module, hooking the table once the module has run."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _hook(module)

    def __getattr__(self, name):  # get_source, get_code, ... as the wrapped loader has them
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of Keras' registration module when it is imported."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _REGISTRY_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HookingLoader(spec.loader)
        return spec


def install() -> None:
    """Hook Keras' table now if Keras is imported, else when it is."""
    module = sys.modules.get(_REGISTRY_MODULE)
    if module is not None:
        _hook(module)
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
