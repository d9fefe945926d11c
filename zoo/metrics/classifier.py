"""The zoo's digit classifier: scores stacked-digit modes and provides the "digits-FID" features.

A small CNN trained on ``zoo.data.arrays("digits", split="train")`` (28x28x1 in [-1, 1], labels
0..9) and scored on the held-out ``test`` split, which it never sees. The trained model ships as
package data (``zoo/metrics/data/digit_classifier.keras``) with ``digit_classifier.json`` recording
its held-out accuracy and how it was made. Regenerate both with::

    python -m zoo.metrics.classifier --write

Architecture: conv3x3(32)-relu, maxpool, conv3x3(64)-relu, maxpool, dense(128)-relu = the
``features`` layer (the 128-d penultimate activations used by digits-FID), dropout 0.3,
dense(10) = logits. Random shifts of up to 2 pixels and small zooms augment the 1,347 training
images so the classifier also reads imperfect generated digits.
"""

from __future__ import annotations

import argparse
import functools
import json
import pathlib
import time

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
WEIGHTS_FILE = DATA_DIR / "digit_classifier.keras"
CARD_FILE = DATA_DIR / "digit_classifier.json"
IMAGE_SHAPE = (28, 28, 1)
FEATURES_LAYER = "features"
LOGITS_LAYER = "logits"
REQUIRED_ACCURACY = 0.98


def build_classifier():
    """An untrained classifier: ``[B, 28, 28, 1]`` in [-1, 1] -> ``[B, 10]`` logits."""
    from zoo._tf import tf  # noqa: F401  (quiet TensorFlow import before Keras)
    import keras
    from keras import layers

    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", fill_value=-1.0)(inputs)
    x = layers.RandomZoom(0.1, fill_mode="constant", fill_value=-1.0)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(x)
    logits = layers.Dense(10, name=LOGITS_LAYER)(x)
    return keras.Model(inputs, logits, name="digit_classifier")


def train(*, epochs: int = 60, seed: int = 0, verbose: int = 0):
    """Train a fresh classifier on the digits train split; returns ``(model, test_accuracy)``."""
    from zoo._tf import tf  # noqa: F401
    import keras
    import numpy as np

    from zoo import data

    keras.utils.set_random_seed(seed)
    x_train, y_train = data.arrays("digits", split="train")
    x_test, y_test = data.arrays("digits", split="test")
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=verbose, shuffle=True)
    predictions = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=1)
    return model, float(np.mean(predictions == y_test))


@functools.lru_cache(maxsize=1)
def load_classifier():
    """The shipped classifier (a ``keras.Model`` giving logits); raises if its file is missing."""
    from zoo._tf import tf  # noqa: F401
    import keras

    from zoo.errors import DataUnavailableError

    if not WEIGHTS_FILE.exists():
        raise DataUnavailableError(
            f"the digit classifier {WEIGHTS_FILE} is missing from this installation; "
            "recreate it with `python -m zoo.metrics.classifier --write`."
        )
    return keras.saving.load_model(WEIGHTS_FILE)


def card() -> dict:
    """What ``digit_classifier.json`` records: held-out accuracy, sizes, the command that made it."""
    return json.loads(CARD_FILE.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.metrics.classifier",
        description="Train the zoo's digit classifier and report its held-out accuracy.",
    )
    parser.add_argument("--write", action="store_true", help=f"save the model and card into {DATA_DIR}")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, accuracy = train(epochs=args.epochs, seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"held-out accuracy on digits/test (450 images): {accuracy:.4f}  ({seconds:.0f} s)")
    if accuracy < REQUIRED_ACCURACY:
        print(f"below the required {REQUIRED_ACCURACY:.0%}: not written; try another --seed or more --epochs")
        return 1
    if args.write:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        model.save(WEIGHTS_FILE)
        command = "python -m zoo.metrics.classifier --write" + (
            f" --epochs {args.epochs}" * (args.epochs != 60) + f" --seed {args.seed}" * (args.seed != 0)
        )
        CARD_FILE.write_text(
            json.dumps(
                {
                    "test_accuracy": accuracy,
                    "test_split": "zoo.data digits, split='test' (450 images, never trained on)",
                    "train_split": "zoo.data digits, split='train' (1,347 images)",
                    "epochs": args.epochs,
                    "seed": args.seed,
                    "command": command,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {WEIGHTS_FILE} and {CARD_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
