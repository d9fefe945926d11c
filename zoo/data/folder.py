"""Any directory of images (how a user brings LSUN bedrooms, CelebA JPEGs, their own photos).

``load("folder", data_dir=DIR, batch_size=..., image_size=64)`` finds every ``.jpg``, ``.jpeg`` and
``.png`` file under ``DIR`` (recursively, case-insensitive extensions, sorted paths), decodes it as
RGB (``grayscale=True``: one channel), crops the largest centred square and resizes it to
``image_size`` (default 64) with antialiased bilinear filtering. A file that cannot be decoded is
skipped with a logged warning rather than stopping training; but before any batch is made, files are
decoded in order until one batch's worth decodes, and a folder where fewer than ``batch_size`` images
decode at all is refused, naming the first files that could not be read.
"""

from __future__ import annotations

import os
import pathlib

from zoo.data import _checks
from zoo.data.spec import DatasetSpec
from zoo.errors import ConfigError, DataUnavailableError

DEFAULT_IMAGE_SIZE = 64
EXTENSIONS = (".jpg", ".jpeg", ".png")


def _grayscale(options: dict) -> bool:
    value = options["grayscale"]
    if not isinstance(value, bool):
        raise ConfigError(f"option 'grayscale' of dataset 'folder' must be True or False, got {value!r}.")
    return value


# How each entry point takes the folder, for the messages below.
_PASS_DIR = "data_dir=DIR (`zoo train --set data.data_dir=DIR`, `zoo evaluate --data-dir DIR`)"


def image_files(directory) -> list[str]:
    """Sorted paths of the images under ``directory``; a clear error when there are none."""
    if directory is None:
        raise ConfigError(f"dataset 'folder' needs its directory of .jpg/.jpeg/.png images: pass {_PASS_DIR}.")
    root = pathlib.Path(os.fspath(directory)).expanduser()
    if not root.exists():
        raise DataUnavailableError(
            f"image folder {str(root)!r} does not exist; pass the directory of the images as {_PASS_DIR}."
        )
    if not root.is_dir():
        raise DataUnavailableError(f"data_dir {str(root)!r} is a file, not a directory of images.")
    files = [p for p in root.rglob("*") if p.is_file()]
    images = sorted(str(p) for p in files if p.suffix.lower() in EXTENSIONS)
    if not images:
        others = sorted({p.suffix.lower() or "(no extension)" for p in files})
        found = f"{len(files)} other file(s) ({', '.join(others)})" if files else "no files at all"
        raise DataUnavailableError(
            f"no images in {str(root)!r}: searched it recursively for {', '.join(EXTENSIONS)} "
            f"(any case) and found {found}. Put the images there, or pass another directory as {_PASS_DIR}."
        )
    return images


def check_decodable(files: list[str], decode, batch_size: int, directory, shown: int = 3) -> int:
    """Decode ``files`` in order until ``batch_size`` of them decode; returns how many did.

    Raises ``DataUnavailableError`` naming the first ``shown`` unreadable files when fewer than
    ``batch_size`` decode in the whole folder: training would otherwise run without a single batch.
    """
    from zoo._tf import tf

    decoded, failed = 0, []
    for path in files:
        try:
            decode(tf.constant(path))
        except tf.errors.OpError:
            failed.append(path)
            continue
        decoded += 1
        if decoded == batch_size:
            return decoded
    names = ", ".join(repr(os.path.relpath(f, os.fspath(directory))) for f in failed[:shown])
    more = f" and {len(failed) - shown} more" if len(failed) > shown else ""
    raise DataUnavailableError(
        f"only {decoded} of the {len(files)} image files in {str(directory)!r} could be decoded, fewer than "
        f"batch_size={batch_size}; unreadable: {names}{more}. Replace or remove the damaged files (truncated "
        "downloads, files renamed to .jpg/.png), or lower batch_size."
    )


def spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    _checks.check_cache(options["cache"], name)
    channels = 1 if _grayscale(options) else 3
    return DatasetSpec(name=name, kind="images", element_shape=(image_size, image_size, channels))


def load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo._tf import tf
    from zoo.data import pipeline

    channels = 1 if _grayscale(options) else 3
    cache = _checks.check_cache(options["cache"], name)
    files = image_files(data_dir)
    num_files = len(files)

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        return pipeline.centre_crop_resize(image, image_size)

    check_decodable(files, decode, batch_size, data_dir)

    # Shuffling the paths first spreads each shuffle-buffer window over the whole folder, which the
    # byte-capped buffer after decoding cannot do alone for a large uncached folder.
    paths = tf.data.Dataset.from_tensor_slices(files).shuffle(
        num_files, seed=_checks.shuffle_seed(seed), reshuffle_each_iteration=True
    )
    images = paths.map(decode, num_parallel_calls=pipeline.AUTOTUNE)
    return pipeline.image_batches(
        images.ignore_errors(log_warning=True),
        num_examples=num_files,
        element_shape=(image_size, image_size, channels),
        batch_size=batch_size,
        seed=seed,
        cache=cache,
        name=name,
        split=split,
    )
