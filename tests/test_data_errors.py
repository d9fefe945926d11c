"""zoo.data bad input: every mistake is a ConfigError raised at the call, never from inside tf.data."""

import pytest

from zoo import data
from zoo.errors import ConfigError, ZooError


def test_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(ConfigError) as error:
        data.load("rign", batch_size=8)
    message = str(error.value)
    assert "Did you mean 'ring'" in message and all(name in message for name in data.names())
    for call in (lambda: data.spec("mnsit"), lambda: data.arrays("nope"), lambda: data.load(None, batch_size=8)):
        with pytest.raises(ConfigError, match="unknown dataset"):
            call()


@pytest.mark.parametrize("size", [0, -4, 2.5, "28", True, 4096])
def test_bad_image_size(size):
    with pytest.raises(ConfigError, match="image_size"):
        data.load("digits", batch_size=8, image_size=size)
    with pytest.raises(ConfigError, match="image_size"):
        data.spec("cifar10", image_size=size)


def test_image_size_is_unsupported_for_points():
    with pytest.raises(ConfigError, match="points"):
        data.arrays("ring", image_size=28)


@pytest.mark.parametrize("name, split", [("digits", "val"), ("ring", "validation"), ("folder", "test"), ("mnist", "")])
def test_bad_split(name, split):
    with pytest.raises(ConfigError, match="split"):
        data.load(name, batch_size=8, split=split, data_dir="unused")


def test_bad_option_name_lists_accepted_and_suggests():
    with pytest.raises(ConfigError) as error:
        data.load("ring", batch_size=8, num_point=10)
    assert "Did you mean 'num_points'" in str(error.value) and "official_centres" in str(error.value)
    with pytest.raises(ConfigError, match="accepts: none"):
        data.arrays("digits", distribution="uniform")
    with pytest.raises(ConfigError, match="official_centres"):
        data.spec("grid", official_centres=True)


@pytest.mark.parametrize(
    "name, options",
    [
        ("stacked_digits", {"distribution": "normal"}),
        ("stacked_digits", {"num_examples": 0}),
        ("stacked_mnist", {"num_examples": 1.5}),
        ("stacked_mnist", {"download": "yes"}),
        ("ring", {"num_points": -1}),
        ("ring", {"official_centres": "yes"}),
        ("cifar10", {"cache": 3}),
        ("mnist", {"download": 1}),
        ("folder", {"grayscale": 1}),
    ],
)
def test_bad_option_values(name, options):
    with pytest.raises(ConfigError, match="|".join(options)):
        data.spec(name, **options)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, None, "64"])
def test_bad_batch_size(batch_size):
    with pytest.raises(ConfigError, match="batch_size"):
        data.load("ring", batch_size=batch_size)


def test_batch_larger_than_the_split_is_an_error_not_an_empty_dataset():
    with pytest.raises(ConfigError, match="450 examples"):
        data.load("digits", split="test", batch_size=512)
    with pytest.raises(ConfigError, match="fewer than batch_size"):
        data.load("stacked_digits", batch_size=64, num_examples=10)


@pytest.mark.parametrize("seed", ["abc", (1, 2, 3), 2**40, 1.5, (0.5, 1.0)])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed"):
        data.load("ring", batch_size=8, seed=seed)


def test_arrays_only_for_embedded_sets():
    with pytest.raises(ConfigError, match="embedded"):
        data.arrays("mnist")


def test_errors_are_zoo_and_value_errors():
    with pytest.raises(ZooError):
        data.load("digits", batch_size=0)
    with pytest.raises(ValueError):
        data.spec("nope")
