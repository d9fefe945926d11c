"""The table of datasets and the public entry points ``names``, ``spec``, ``arrays`` and ``load``.

Each dataset is one :class:`Entry`: its splits, accepted options with their defaults, default image
size (``None`` for point sets) and the functions of its concept module. Arguments are checked here,
once, before any concept module or tf.data sees them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from zoo.data import _checks, digits, folder, mnist5k, stacked, synthetic, tfds_sets
from zoo.data.spec import DatasetSpec
from zoo.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    splits: tuple[str, ...]
    options: Mapping[str, object]
    default_image_size: int | None
    spec: Callable[..., DatasetSpec]
    load: Callable
    arrays: Callable | None = None


def _synthetic(name: str) -> Entry:
    options = {"num_points": synthetic.DEFAULT_NUM_POINTS}
    if name == "ring":
        options["official_centres"] = False
    return Entry(name, ("train", "test"), options, None, synthetic.spec, synthetic.load, synthetic.arrays)


_STACKED_OPTIONS = {"distribution": "gdpp", "num_examples": None}
_TFDS_OPTIONS = {"download": False, "cache": None}

_ENTRIES: dict[str, Entry] = {
    e.name: e
    for e in (
        _synthetic("ring"),
        _synthetic("grid"),
        Entry(
            "digits",
            ("train", "test"),
            {},
            digits.DEFAULT_IMAGE_SIZE,
            digits.digits_spec,
            digits.digits_load,
            digits.digits_arrays,
        ),
        Entry(
            "stacked_digits",
            ("train", "test"),
            _STACKED_OPTIONS,
            digits.DEFAULT_IMAGE_SIZE,
            stacked.spec,
            digits.stacked_load,
            digits.stacked_arrays,
        ),
        Entry(
            "mnist_5k",
            ("train", "test"),
            {},
            mnist5k.NATIVE_SIZE,
            mnist5k.mnist_spec,
            mnist5k.mnist_load,
            mnist5k.mnist_arrays,
        ),
        Entry(
            "stacked_mnist_5k",
            ("train", "test"),
            _STACKED_OPTIONS,
            mnist5k.NATIVE_SIZE,
            stacked.spec,
            mnist5k.stacked_load,
            mnist5k.stacked_arrays,
        ),
        *(
            Entry(
                name,
                source.splits,
                _TFDS_OPTIONS,
                source.default_image_size,
                tfds_sets.image_spec,
                tfds_sets.image_load,
            )
            for name, source in tfds_sets.IMAGE_SETS.items()
        ),
        Entry(
            "stacked_mnist",
            ("train", "test"),
            {**_STACKED_OPTIONS, "download": False},
            28,
            tfds_sets.stacked_spec,
            tfds_sets.stacked_load,
        ),
        Entry(
            "folder",
            ("train",),
            {"grayscale": False, "cache": None},
            folder.DEFAULT_IMAGE_SIZE,
            folder.spec,
            folder.load,
        ),
    )
}


def names() -> list[str]:
    """Sorted names accepted by :func:`load`, :func:`spec` and (embedded sets) :func:`arrays`."""
    return sorted(_ENTRIES)


def _entry(name) -> Entry:
    if not isinstance(name, str) or name not in _ENTRIES:
        raise ConfigError(
            f"unknown dataset {name!r}.{_checks.suggestion(name, _ENTRIES)} Valid names: {', '.join(names())}."
        )
    return _ENTRIES[name]


def _split(entry: Entry, split) -> str:
    return _checks.choice(split, f"split of dataset {entry.name!r}", entry.splits)


def spec(name: str, *, image_size: int | None = None, **options) -> DatasetSpec:
    """The :class:`DatasetSpec` of dataset ``name`` in this configuration (loads no images).

    Examples: ``spec("ring").centres`` is ``[8, 2]``; ``spec("stacked_digits").class_probs`` is the
    ``[1000]`` training class law of the GDPP recipe.
    """
    entry = _entry(name)
    size = _checks.image_size(image_size, name, entry.default_image_size)
    return entry.spec(name, size, _checks.options(name, options, entry.options))


def arrays(name: str, *, split: str = "train", image_size: int | None = None, seed=0, **options):
    """An embedded dataset as NumPy ``(x, labels)``.

    Returns:
        ``x``: float32, ``[N, 2]`` points (ring, grid) or ``[N, S, S, C]`` images in [-1, 1];
        ``labels``: int64 ``[N]``: mixture component (ring, grid), digit 0..9 (digits, mnist_5k) or triplet
        class ``100*c0 + 10*c1 + c2`` (stacked_digits, stacked_mnist_5k).
    """
    entry = _entry(name)
    if entry.arrays is None:
        embedded = ", ".join(n for n in names() if _ENTRIES[n].arrays is not None)
        raise ConfigError(f"arrays() covers the embedded datasets ({embedded}); use load({name!r}, ...) for {name!r}.")
    split = _split(entry, split)
    size = _checks.image_size(image_size, name, entry.default_image_size)
    _checks.seed_pair(seed)
    return entry.arrays(name, split, size, seed, _checks.options(name, options, entry.options))


def load(
    name: str,
    *,
    batch_size: int,
    image_size: int | None = None,
    split: str = "train",
    seed=0,
    data_dir=None,
    **options,
):
    """A ``tf.data.Dataset`` of float32 batches of dataset ``name`` (no labels).

    Batches are ``[batch_size, 2]`` points or ``[batch_size, S, S, C]`` images in [-1, 1], shuffled
    with ``seed`` (an int or an int32 pair; reshuffled each epoch under ``.repeat()``), remainder
    dropped, cached where it fits and prefetched. ``data_dir`` is the TFDS data directory for the
    TFDS sets and the image directory for ``folder``; the embedded sets ignore it.
    """
    entry = _entry(name)
    split = _split(entry, split)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    size = _checks.image_size(image_size, name, entry.default_image_size)
    _checks.seed_pair(seed)
    return entry.load(name, split, batch_size, size, seed, data_dir, _checks.options(name, options, entry.options))
