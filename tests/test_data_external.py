"""zoo.data sets read from outside the package: TFDS (through tfds.testing.mock_data) and folders."""

import numpy as np
import pytest
from PIL import Image

from zoo import data
from zoo.errors import ConfigError, DataUnavailableError

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.fixture
def mock_tfds():
    with tfds.testing.mock_data(num_examples=48):
        yield


@pytest.mark.parametrize(
    "name, shape",
    [
        ("mnist", (8, 28, 28, 1)),
        ("fashion_mnist", (8, 28, 28, 1)),
        ("cifar10", (8, 32, 32, 3)),
        ("celeb_a", (8, 64, 64, 3)),
        ("stacked_mnist", (8, 28, 28, 3)),
    ],
)
def test_tfds_sets_yield_scaled_float_batches(mock_tfds, tmp_path, name, shape):
    ds = data.load(name, batch_size=8, data_dir=tmp_path, seed=1)
    assert tuple(ds.element_spec.shape) == shape
    batch = next(iter(ds)).numpy()
    assert batch.dtype == np.float32 and batch.shape == shape
    assert -1.0 <= batch.min() < batch.max() <= 1.0
    assert data.spec(name).element_shape == shape[1:]


def test_tfds_resize_and_epoch_length(mock_tfds, tmp_path):
    batches = list(data.load("mnist", batch_size=8, image_size=16, data_dir=tmp_path))
    assert len(batches) == 48 // 8 and batches[0].shape == (8, 16, 16, 1)
    celeb = next(iter(data.load("celeb_a", batch_size=4, image_size=32, split="validation", data_dir=tmp_path)))
    assert celeb.shape == (4, 32, 32, 3)


def test_tfds_load_is_deterministic_under_a_seed(mock_tfds, tmp_path):
    def first(seed):
        return next(iter(data.load("cifar10", batch_size=16, seed=seed, data_dir=tmp_path))).numpy()

    np.testing.assert_array_equal(first(3), first(3))
    assert not np.array_equal(first(3), first(4))


def test_stacked_mnist_uses_the_shared_recipe(mock_tfds, tmp_path):
    s = data.spec("stacked_mnist")
    assert s.num_classes == 1000
    np.testing.assert_array_equal(s.class_probs, data.spec("stacked_digits").class_probs)
    ds = data.load("stacked_mnist", batch_size=10, num_examples=100, image_size=14, data_dir=tmp_path)
    batches = list(ds)
    assert len(batches) == 10 and batches[0].shape == (10, 14, 14, 3)


def test_missing_tfds_set_names_dataset_directory_and_remedy(tmp_path):
    with pytest.raises(DataUnavailableError) as error:
        data.load("mnist", batch_size=8, data_dir=tmp_path)
    message = str(error.value)
    assert "'mnist'" in message and str(tmp_path) in message and "tfds build mnist" in message
    with pytest.raises(DataUnavailableError, match="stacked|mnist"):
        data.load("stacked_mnist", batch_size=8, data_dir=tmp_path)


def test_failed_download_is_reported_not_raised_raw(monkeypatch, tmp_path):
    def offline(self, *args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DataUnavailableError, match="ConnectionError: no route to host") as error:
        data.load("fashion_mnist", batch_size=8, data_dir=tmp_path, download=True)
    assert str(tmp_path) in str(error.value)


def _write(path, size, colour=(200, 30, 60), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    _write(root / "a.png", (40, 30))
    _write(root / "b.jpg", (17, 64))
    _write(root / "nested" / "deeper" / "c.JPEG", (64, 64), fmt="JPEG")
    _write(root / "nested" / "d.PNG", (9, 12))
    for i in range(4):
        _write(root / f"more{i}.png", (20 + i, 33))
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_reads_every_image_recursively(image_folder):
    ds = data.load("folder", batch_size=4, image_size=16, data_dir=image_folder)
    batches = [b.numpy() for b in ds]
    assert len(batches) == 2 and batches[0].shape == (4, 16, 16, 3) and batches[0].dtype == np.float32
    everything = np.concatenate(batches)
    assert -1.0 <= everything.min() and everything.max() <= 1.0
    # Solid-colour files stay that colour after cropping and resizing (JPEG: within compression error).
    np.testing.assert_allclose(everything.mean(axis=(0, 1, 2)), np.array([200, 30, 60]) / 127.5 - 1, atol=0.03)


def test_folder_crops_the_centred_square(tmp_path):
    image = np.zeros((20, 60, 3), np.uint8)
    image[:, 20:40] = 255  # white centre square between black side bands
    for i in range(2):
        Image.fromarray(image).save(tmp_path / f"wide{i}.png")
    batch = next(iter(data.load("folder", batch_size=2, image_size=8, data_dir=tmp_path))).numpy()
    np.testing.assert_allclose(batch, 1.0)


def test_folder_grayscale_and_determinism(image_folder):
    def batches(seed):
        ds = data.load("folder", batch_size=4, image_size=8, data_dir=image_folder, grayscale=True, seed=seed)
        return [b.numpy() for b in ds]

    first = batches(1)
    assert first[0].shape == (4, 8, 8, 1)
    for a, b in zip(first, batches(1)):
        np.testing.assert_array_equal(a, b)
    assert data.spec("folder", grayscale=True, image_size=8).element_shape == (8, 8, 1)


def test_folder_skips_undecodable_files(image_folder):
    (image_folder / "broken.jpg").write_bytes(b"definitely not a jpeg")
    images = np.concatenate([b.numpy() for b in data.load("folder", batch_size=1, image_size=8, data_dir=image_folder)])
    assert len(images) == 8


def test_empty_or_missing_folder_says_what_was_searched(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataUnavailableError) as error:
        data.load("folder", batch_size=2, data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and ".jpg" in message and ".png" in message and ".txt" in message
    with pytest.raises(DataUnavailableError, match="does not exist"):
        data.load("folder", batch_size=2, data_dir=tmp_path / "nowhere")
    with pytest.raises(DataUnavailableError, match="not a directory"):
        data.load("folder", batch_size=2, data_dir=tmp_path / "readme.txt")
    with pytest.raises(ConfigError, match="data_dir"):
        data.load("folder", batch_size=2)
