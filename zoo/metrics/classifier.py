"""The zoo's digit classifiers: they score stacked-digit modes and give the "digits-FID"/"mnist-FID" features.

Three small CNNs, each trained on the ``train`` split of its dataset (28x28x1 in [-1, 1], labels
0..9) and scored on the held-out ``test`` split, which it never sees:

==========  ==============================  ==================================  ==========
name        trained on                      scores                              required
==========  ==============================  ==================================  ==========
``digits``  ``digits`` (scikit-learn 8x8,   ``digits``, ``stacked_digits``       98.0 %
            1,347 images)
``mnist``   ``mnist_5k`` (real MNIST,       ``mnist_5k``, ``stacked_mnist_5k``,  98.5 %
            4,000 images)                   ``mnist``, ``stacked_mnist``
``mnist2``  ``mnist_5k``, trained           a second opinion on ``mnist_5k``     97.5 %
            differently                     and ``mnist`` (``mnist2-*``)
==========  ==============================  ==================================  ==========

Each ships as package data (``zoo/metrics/data/<file>.keras``) with a ``.json`` card recording its
held-out accuracy and how it was made. Regenerate one with::

    python -m zoo.metrics.classifier --name mnist --write

All end in a ``features`` layer (dense 128, relu: the 128-d penultimate activations used by FID,
KID and precision/recall), dropout 0.3 and ``logits`` (dense 10). ``digits``: conv3x3(32), pool,
conv3x3(64), pool. ``mnist``: two conv3x3(32), pool, two conv3x3(64), pool, dropout 0.3: the
deeper net is what lifts 4,000 real digits past 98.5 %. Random shifts of up to 2 pixels and small
zooms (and, for ``mnist``, rotations up to 10 degrees) augment the training images so the
classifiers also read imperfect generated digits.

``mnist2`` is the second feature space of the prior comparison (a conclusion the zoo states holds in
both): another architecture, seed and training regime on the same 4,000 digits, so that where it
agrees with ``mnist`` the agreement is not an artefact of one network. One wider conv5x5 per
resolution, conv5x5(48), pool, conv5x5(96), pool, then the same head; trained without
augmentation, at a constant learning rate, for 15 epochs, from seed 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import pathlib
import time

from zoo.errors import ConfigError

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
IMAGE_SHAPE = (28, 28, 1)
FEATURES_LAYER = "features"
LOGITS_LAYER = "logits"


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    name: str
    dataset: str
    file_stem: str
    required_accuracy: float
    epochs: int
    conv_layers: int  # convolutions per resolution
    rotation_degrees: float
    cosine_decay: bool
    # The datasets it reads; a dataset's default classifier (its "family") is the first listing it.
    scored_datasets: tuple[str, ...]
    widths: tuple[int, ...] = (32, 64)  # filters per resolution, each followed by 2x2 max pooling
    kernel_size: int = 3
    augment: bool = True  # random shifts, zooms (and rotations) of the training images
    seed: int = 0  # the training seed its --write uses

    @property
    def weights_file(self) -> pathlib.Path:
        return DATA_DIR / f"{self.file_stem}.keras"

    @property
    def card_file(self) -> pathlib.Path:
        return DATA_DIR / f"{self.file_stem}.json"


CLASSIFIERS = {
    "digits": ClassifierSpec(
        "digits", "digits", "digit_classifier", 0.98, 60, 1, 0.0, False, ("digits", "stacked_digits")
    ),
    "mnist": ClassifierSpec(
        "mnist", "mnist_5k", "mnist_classifier", 0.985, 40, 2, 10.0, True,
        ("mnist_5k", "stacked_mnist_5k", "mnist", "stacked_mnist"),
    ),
    "mnist2": ClassifierSpec(
        "mnist2", "mnist_5k", "mnist2_classifier", 0.975, 15, 1, 0.0, False, ("mnist_5k", "mnist"),
        widths=(48, 96), kernel_size=5, augment=False, seed=1,
    ),
}
# Kept for callers of the single-classifier API.
WEIGHTS_FILE = CLASSIFIERS["digits"].weights_file
CARD_FILE = CLASSIFIERS["digits"].card_file
REQUIRED_ACCURACY = CLASSIFIERS["digits"].required_accuracy


def get_spec(name: str) -> ClassifierSpec:
    if name not in CLASSIFIERS:
        raise ConfigError(f"unknown digit classifier {name!r}; valid names: {', '.join(CLASSIFIERS)}.")
    return CLASSIFIERS[name]


def for_dataset(dataset: str) -> str:
    """The classifier that scores ``dataset``'s digits: ``"mnist"`` for the MNIST sets, else ``"digits"``.

    ``mnist2`` is never a default: it is asked for by name (``mnist2-fid``, ...)."""
    for spec in CLASSIFIERS.values():
        if dataset in spec.scored_datasets:
            return spec.name
    return "digits"


def build_classifier(name: str = "digits"):
    """An untrained classifier: ``[B, 28, 28, 1]`` in [-1, 1] -> ``[B, 10]`` logits."""
    from zoo._tf import tf  # noqa: F401  (quiet TensorFlow import before Keras)
    import keras
    from keras import layers

    spec = get_spec(name)
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = inputs
    if spec.augment:
        x = layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", fill_value=-1.0)(x)
        if spec.rotation_degrees:
            x = layers.RandomRotation(spec.rotation_degrees / 360, fill_mode="constant", fill_value=-1.0)(x)
        x = layers.RandomZoom(0.1, fill_mode="constant", fill_value=-1.0)(x)
    for filters in spec.widths:
        for _ in range(spec.conv_layers):
            x = layers.Conv2D(filters, spec.kernel_size, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    if spec.conv_layers > 1:
        x = layers.Dropout(0.3)(x)
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(x)
    logits = layers.Dense(10, name=LOGITS_LAYER)(x)
    return keras.Model(inputs, logits, name=f"{spec.file_stem}")


def train(name: str = "digits", *, epochs: int | None = None, seed: int | None = None, verbose: int = 0):
    """Train a fresh classifier on its dataset's train split; returns ``(model, test_accuracy)``.

    ``seed``: ``None`` is the classifier's own (``ClassifierSpec.seed``). Runs with TensorFlow's op
    determinism on (restored afterwards), so the same seed and libraries give the same weights.
    """
    from zoo._tf import tf
    # TensorFlow exports enable_op_determinism only; its counterpart lives in the same module.
    from tensorflow.python.framework.config import disable_op_determinism, is_op_determinism_enabled

    spec = get_spec(name)
    epochs = spec.epochs if epochs is None else epochs
    seed = spec.seed if seed is None else seed

    was_deterministic = is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        return _fit(spec, epochs, seed, verbose)
    finally:
        if not was_deterministic:
            disable_op_determinism()


def _fit(spec: ClassifierSpec, epochs: int, seed: int, verbose: int):
    import keras
    import numpy as np

    from zoo import data

    keras.utils.set_random_seed(seed)
    x_train, y_train = data.arrays(spec.dataset, split="train")
    x_test, y_test = data.arrays(spec.dataset, split="test")
    model = build_classifier(spec.name)
    batch_size = 64
    learning_rate = 1e-3
    if spec.cosine_decay:
        learning_rate = keras.optimizers.schedules.CosineDecay(1e-3, epochs * -(-len(x_train) // batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose, shuffle=True)
    predictions = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1)
    return model, float(np.mean(predictions == y_test))


@functools.lru_cache(maxsize=3)
def load_classifier(name: str = "digits"):
    """The shipped classifier ``name`` (a ``keras.Model`` giving logits); raises if its file is missing."""
    from zoo._tf import tf  # noqa: F401
    import keras

    from zoo.errors import DataUnavailableError

    spec = get_spec(name)
    if not spec.weights_file.exists():
        raise DataUnavailableError(
            f"the {name} classifier {spec.weights_file} is missing from this installation; "
            f"recreate it with `python -m zoo.metrics.classifier --name {name} --write`."
        )
    return keras.saving.load_model(spec.weights_file)


def card(name: str = "digits") -> dict:
    """What the classifier's card records: held-out accuracy, sizes, the command that made it."""
    return json.loads(get_spec(name).card_file.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.classifier",
        description="Train one of the zoo's digit classifiers and report its held-out accuracy.",
    )
    parser.add_argument("--name", choices=sorted(CLASSIFIERS), default="digits")
    parser.add_argument("--write", action="store_true", help=f"save the model and card into {DATA_DIR}")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: the classifier's own (digits 60, mnist 40, mnist2 12)")
    parser.add_argument("--seed", type=int, default=None, help="default: the classifier's own (mnist2 1, else 0)")
    args = parser.parse_args(argv)
    spec = get_spec(args.name)
    epochs = spec.epochs if args.epochs is None else args.epochs
    args.seed = spec.seed if args.seed is None else args.seed
    start = time.perf_counter()
    model, accuracy = train(args.name, epochs=epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    from zoo import data

    x_train, _ = data.arrays(spec.dataset, split="train")
    x_test, _ = data.arrays(spec.dataset, split="test")
    print(f"held-out accuracy on {spec.dataset}/test ({len(x_test)} images): {accuracy:.4f}  ({seconds:.0f} s)")
    if accuracy < spec.required_accuracy:
        print(f"below the required {spec.required_accuracy:.1%}: not written; try another --seed or more --epochs")
        return 1
    if args.write:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        model.save(spec.weights_file)
        command = "python -m zoo.metrics.classifier" + f" --name {args.name}" * (args.name != "digits") + " --write" + (
            f" --epochs {epochs}" * (epochs != spec.epochs) + f" --seed {args.seed}" * (args.seed != spec.seed)
        )
        spec.card_file.write_text(
            json.dumps(
                {
                    "test_accuracy": accuracy,
                    "test_split": f"zoo.data {spec.dataset}, split='test' ({len(x_test):,} images, never trained on)",
                    "train_split": f"zoo.data {spec.dataset}, split='train' ({len(x_train):,} images)",
                    "epochs": epochs,
                    "seed": args.seed,
                    "seconds": round(seconds),
                    "command": command,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {spec.weights_file} and {spec.card_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
