"""Input-pipeline throughput of zoo.data next to the training step that consumes it.

For ``digits``, ``stacked_digits`` and ``ring`` at batch 64 and 512 this prints the pipeline's
batches/s and examples/s and, measured in the same run on the same machine, how many examples/s a
training step consumes: a DCGAN (``zoo.models.build_model({"model": "dcgan", ...})`` at the data's
image shape) for the image sets and the GDPP synthetic MLP GAN for ``ring``; ``ratio`` is
pipeline / consumer (target: >= 20, so the input pipeline is never what limits training).

    python benchmarks/data.py            # about two minutes on 2 CPU cores
    python benchmarks/data.py --seconds 1 --train-steps 3
"""

from __future__ import annotations

import argparse
import time
import warnings

from zoo._tf import tf  # before keras: quiet TensorFlow start-up

import keras

from zoo import data, models

DATASETS = ("digits", "stacked_digits", "ring")
TARGET_RATIO = 20.0


def pipeline_rate(name: str, batch_size: int, seconds: float) -> float:
    """Batches per second pulled from ``data.load(name)`` (after a warm-up), over ``seconds``."""
    iterator = iter(data.load(name, batch_size=batch_size, seed=0).repeat())
    for _ in range(5):
        next(iterator)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        next(iterator)
        count += 1
    return count / elapsed


def consumer(name: str):
    """(description, model) of the training step that consumes dataset ``name``."""
    spec = data.spec(name)
    if spec.kind == "points":
        return "synthetic MLP GAN", models.build_model({"model": "synthetic_gan"})
    size, _, channels = spec.element_shape
    model = models.build_model({"model": "dcgan", "image_size": size, "channels": channels})
    return f"DCGAN {size}x{size}x{channels}", model


def training_rate(model, element_shape, batch_size: int, steps: int) -> float:
    """Training steps per second of ``model.fit`` on an in-memory batch (no input cost)."""
    batch = keras.random.uniform((batch_size, *element_shape), -1.0, 1.0, seed=0)
    fixed = tf.data.Dataset.from_tensors(batch).repeat()
    # fit's default shuffle=True does not apply to datasets; Keras says so once per fit.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    model.fit(fixed, steps_per_epoch=2, epochs=1, verbose=0)  # traces the train step
    start = time.perf_counter()
    model.fit(fixed, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing window per pipeline measurement")
    parser.add_argument("--train-steps", type=int, default=5, help="timed training steps per measurement")
    args = parser.parse_args(argv)

    header = (
        f"{'dataset':<15}{'batch':>6}{'batches/s':>11}{'examples/s':>12}  "
        f"{'consumer':<22}{'examples/s':>11}{'ratio':>9}"
    )
    print(header)
    print("-" * len(header))
    slowest = float("inf")
    for name in DATASETS:
        description, model = consumer(name)
        for batch_size in args.batch_sizes:
            batches = pipeline_rate(name, batch_size, args.seconds)
            steps = training_rate(model, data.spec(name).element_shape, batch_size, args.train_steps)
            ratio = batches / steps
            slowest = min(slowest, ratio)
            print(
                f"{name:<15}{batch_size:>6}{batches:>11.1f}{batches * batch_size:>12.0f}  "
                f"{description:<22}{steps * batch_size:>11.0f}{ratio:>8.1f}x"
            )
    verdict = "meets" if slowest >= TARGET_RATIO else "MISSES"
    print(f"\nslowest pipeline/consumer ratio: {slowest:.1f}x ({verdict} the {TARGET_RATIO:.0f}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
