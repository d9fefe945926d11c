"""Image sets read through tensorflow-datasets: mnist, fashion_mnist, cifar10, celeb_a, stacked_mnist.

Nothing is downloaded unless asked: a set that is not prepared in the TFDS data directory raises
:class:`zoo.errors.DataUnavailableError` saying where it looked and how to provide it, instead of
starting a download that hangs on an offline machine. ``download=True`` lets TFDS fetch and prepare
it first.

- ``mnist``, ``fashion_mnist`` (28x28x1), ``cifar10`` (32x32x3): resized only when ``image_size``
  differs from the native size.
- ``celeb_a``: the centred 108x108 crop of the 218x178 aligned faces, resized to ``image_size``
  (default 64), as in the DCGAN papers. (TFDS downloads CelebA from Google Drive, which often fails
  on quota; the ``folder`` dataset reads the same JPEG files from a directory.)
- ``stacked_mnist``: the GDPP Stacked-MNIST protocol (:mod:`zoo.data.stacked`) on the MNIST split of
  the same name: ``num_examples`` (default 50,000 for ``train``, 10,000 for ``test``) triplets with
  the ``distribution`` recipe (default ``"gdpp"``), each channel a random MNIST image of its digit.

Resizing uses antialiased bilinear filtering; decoded images are kept as uint8 for caching and
scaled to [-1, 1] per batch.
"""

from __future__ import annotations

import dataclasses
import os

from zoo.data import _checks, stacked
from zoo.data.spec import DatasetSpec
from zoo.errors import ConfigError, DataUnavailableError

_STACKED_STREAM = {"train": 20, "test": 21}


@dataclasses.dataclass(frozen=True)
class TfdsImages:
    tfds_name: str
    native_size: int
    channels: int
    default_image_size: int
    splits: tuple[str, ...]
    crop: int | None = None


IMAGE_SETS = {
    "mnist": TfdsImages("mnist", 28, 1, 28, ("train", "test")),
    "fashion_mnist": TfdsImages("fashion_mnist", 28, 1, 28, ("train", "test")),
    "cifar10": TfdsImages("cifar10", 32, 3, 32, ("train", "test")),
    "celeb_a": TfdsImages("celeb_a", 218, 3, 64, ("train", "validation", "test"), crop=108),
}


def _searched(data_dir) -> str:
    if data_dir is not None:
        return str(data_dir)
    return os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def _unavailable(tfds_name: str, data_dir, reason: str) -> DataUnavailableError:
    where = _searched(data_dir)
    hint = ""
    if tfds_name == "celeb_a":
        hint = (
            " (TFDS fetches CelebA from Google Drive, which often fails on quota: load('folder', "
            "data_dir=<the img_align_celeba directory>) reads the JPEG files directly.)"
        )
    return DataUnavailableError(
        f"TFDS dataset {tfds_name!r} is not available: {reason} (data_dir searched: {where}). To provide it, "
        f"run `tfds build {tfds_name} --data_dir DIR` on a machine with internet access and copy DIR/{tfds_name} "
        f"into {where} (or pass data_dir=DIR, or set TFDS_DATA_DIR); or pass download=True to let TFDS "
        "download and prepare it here." + hint
    )


def _check_download(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"option 'download' of dataset {name!r} must be True or False, got {value!r}.")
    return value


def _split_examples(tfds_name: str, split: str, data_dir, download):
    """The TFDS examples of one split (feature dicts in file order) and its size (None if unknown)."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(tfds_name, data_dir=None if data_dir is None else os.fspath(data_dir))
    if download:
        try:
            builder.download_and_prepare()
        except Exception as error:  # network, checksum, quota: all mean "not here"
            reason = f"download_and_prepare failed with {type(error).__name__}: {error}"
            raise _unavailable(tfds_name, data_dir, reason) from error
    try:
        examples = builder.as_dataset(split=split, shuffle_files=False)
    except AssertionError as error:  # TFDS's own "could not find data in DIR"
        raise _unavailable(tfds_name, data_dir, "it is not prepared there") from error
    try:
        num_examples = builder.info.splits[split].num_examples
    except KeyError:  # no split metadata (tfds.testing.mock_data): fall back to the dataset's own count
        cardinality = int(examples.cardinality())
        num_examples = cardinality if cardinality >= 0 else None
    return examples, num_examples


def image_spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    _checks.check_cache(options["cache"], name)
    _check_download(options["download"], name)
    return DatasetSpec(name=name, kind="images", element_shape=(image_size, image_size, IMAGE_SETS[name].channels))


def image_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    from zoo.data import pipeline

    source = IMAGE_SETS[name]
    cache = _checks.check_cache(options["cache"], name)
    download = _check_download(options["download"], name)
    examples, num_examples = _split_examples(source.tfds_name, split, data_dir, download)
    needs_resize = source.crop is not None or image_size != source.native_size

    def decode(example):
        image = example["image"]
        return pipeline.centre_crop_resize(image, image_size, source.crop) if needs_resize else image

    images = examples.map(decode, num_parallel_calls=pipeline.AUTOTUNE)
    return pipeline.image_batches(
        images,
        num_examples=num_examples,
        element_shape=(image_size, image_size, source.channels),
        batch_size=batch_size,
        seed=seed,
        cache=cache,
        name=name,
        split=split,
    )


def stacked_spec(name: str, image_size: int, options: dict) -> DatasetSpec:
    _check_download(options["download"], name)
    return stacked.spec(name, image_size, options)


def stacked_load(name: str, split: str, batch_size: int, image_size: int, seed, data_dir, options: dict):
    import tensorflow_datasets as tfds

    from zoo.data import pipeline

    download = _check_download(options["download"], name)
    distribution, num_examples = stacked.settings(name, split, options)
    examples, _ = _split_examples("mnist", split, data_dir, download)
    mnist = tfds.as_numpy(examples.batch(1 << 30).get_single_element())
    pool, digit_labels = mnist["image"], mnist["label"]
    if image_size != 28:
        pool = pipeline.resize_many(pool, image_size)
    _, sources = stacked.plan(num_examples, distribution, digit_labels, _checks.rng(seed, _STACKED_STREAM[split]))
    return pipeline.stacked_from_pool(pool, sources, batch_size=batch_size, seed=seed, name=name, split=split)
