"""The demo's cache directory: each preset exported once, and the measurements the page shows.

Layout under the cache root (``--cache-dir``; default ``$XDG_CACHE_HOME/latent-zoo/demo``, else
``~/.cache/latent-zoo/demo``)::

    exports/<preset>-<digest>/<preset>/1/      a TF Serving repository per preset (exports.savedmodel.export)
    diversity/<file>.npz                       class histograms (demo.diversity)

``<digest>`` hashes the preset's ``model.keras`` and ``card.json`` with the zoo and TensorFlow
versions, so a rebuilt preset or another exporter is exported again, and the older export of that
preset is removed. Exports are written by :func:`exports.repository.publish` (staging directory,
then one rename), so a cut-off export leaves nothing half-written, and two demos starting at once
both end up with the one export that won.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from importlib import metadata
from pathlib import Path

from zoo.errors import ZooError

SAVED_MODEL = "saved_model.pb"


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/latent-zoo/demo``, or ``~/.cache/latent-zoo/demo`` when it is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "latent-zoo" / "demo"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


def preset_digest(preset: str | os.PathLike) -> str:
    """16 hex digits naming the content of a preset (a shipped name or a preset directory)."""
    import zoo.presets
    from zoo._version import __version__

    directory = zoo.presets.preset_dir(preset)
    digest = hashlib.sha256(f"latent-zoo {__version__}, tensorflow {_version('tensorflow')}\n".encode())
    for name in (zoo.presets.MODEL_FILE, zoo.presets.CARD_FILE):
        path = directory / name
        digest.update(f"{name}\n".encode())
        if path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


class Cache:
    """The cache root and what lives in it; nothing is created until something is written."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).expanduser() if root is not None else default_dir()

    def file(self, *parts: str) -> Path:
        """``root/parts...``, its parent directory created."""
        path = self.root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def preset_export(self, preset: str | os.PathLike, name: str) -> Path:
        """The version directory of ``preset`` exported under ``name``, exported now if it is not cached."""
        digest = preset_digest(preset)
        base = self.root / "exports" / f"{name}-{digest}"
        version_dir = base / name / "1"
        if (version_dir / SAVED_MODEL).is_file():
            return version_dir
        import zoo.presets
        from exports import savedmodel

        model = zoo.presets.load(preset)
        try:
            savedmodel.export(model, base, name, version=1)
        except ZooError:
            if not (version_dir / SAVED_MODEL).is_file():  # not another demo that exported it first
                raise
        self._drop_stale(name, keep=base.name)
        return version_dir

    def _drop_stale(self, name: str, keep: str) -> None:
        pattern = re.compile(re.escape(name) + r"-[0-9a-f]{16}")
        for path in (self.root / "exports").iterdir():
            if path.name != keep and pattern.fullmatch(path.name):
                shutil.rmtree(path, ignore_errors=True)
