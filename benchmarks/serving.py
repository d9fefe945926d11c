"""Served signatures against their honest baselines, and REST response sizes.

Each model is exported with :func:`exports.savedmodel.write_saved_model` and loaded back with
``tf.saved_model.load`` (what a server-side runtime runs, without the network). In one process and
run, each timing the median of repeated calls after a warm-up, outputs materialised as NumPy:

* ``serving_default`` (``z`` -> images) against a plain ``tf.function(model.latents_to_images)`` on the same
  weights (the lower bound; ``generator.predict`` is shown too, a weak baseline that builds a
  tf.data pipeline per call);
* ``sample`` (per-row seeds, the prior drawn inside the graph) against ``serving_default``;
* REST response bytes per image: ``sample`` (float images, uint8 images and ``z`` as JSON numbers,
  floats written as the shortest text that round-trips float32) against ``sample_png`` (PNG
  bytes, base64 in ``{"b64": ...}``, and ``z``), row format.

``--precision float16`` adds a column: ``serving_default`` of a float16 export of the same model
(no target; float16 pays off on a GPU, a CPU emulates much of it).

Targets (printed with met / NOT met): sample / serving_default <= 1.15x at batch 512 for every
model; signature / tf.function >= 0.9x (speed) at batch 1 and 64; sample_png >= 10x smaller.

    python benchmarks/serving.py                     # DCGAN 32x32x3 latent 100, and 28x28x1 latent 16
    python benchmarks/serving.py --source runs/NAME  # a trained model (.keras, run dir or preset)
    python benchmarks/serving.py --precision float16 # also time a float16 export
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import time

import numpy as np

from zoo._tf import tf

from zoo import models
from exports import savedmodel
from exports.cli import load_source

SAMPLE_RATIO_TARGET = 1.15  # sample time / serving_default time, batch 512
BASELINE_TARGET = 0.9  # tf.function time / signature time, batch 1 and 64
SIZE_TARGET = 10.0  # sample bytes / sample_png bytes
MODELS = {"32x32x3-latent100": (32, 3, 100), "28x28x1-latent16": (28, 1, 16)}


def _median_seconds(call, repeats: int) -> float:
    call()  # warm-up: tracing, allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _interleaved(calls: dict, repeats: int) -> dict:
    """Median seconds of each call, the calls taking turns so load on a shared machine hits all alike."""
    for call in calls.values():
        call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _json_number(x) -> str:
    return np.format_float_positional(np.float32(x), unique=True, trim="-")


def _json_value(value) -> str:
    """TF Serving's JSON for one output row: numbers, or {"b64": ...} for bytes."""
    if isinstance(value, bytes):
        return json.dumps({"b64": base64.b64encode(value).decode()})
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _json_value(value.item())
        return "[" + ",".join(_json_value(item) for item in value) + "]"
    if isinstance(value, (float, np.floating)):
        return _json_number(value)
    return str(int(value))


def rest_bytes(outputs: dict) -> int:
    """Bytes of the row-format REST answer ``{"predictions": [{name: value}, ...]}``."""
    count = len(next(iter(outputs.values())))
    rows = [
        "{" + ",".join(f'"{key}":{_json_value(value[i])}' for key, value in outputs.items()) + "}"
        for i in range(count)
    ]
    return len('{"predictions":[' + ",".join(rows) + "]}")


def _model(args, image_size, channels, latent_dim):
    if args.source:
        return load_source(args.source)
    generator = models.dcgan_generator(image_size, channels, latent_dim, width=args.width)
    discriminator = models.dcgan_discriminator(image_size, channels, width=args.width)
    return models.DCGAN(generator, discriminator, prior=args.prior)


def measure(model, batches, seconds, with_predict, precision="float32"):
    """Timing rows and response sizes of one model (``precision="float16"`` adds a float16 export's time)."""
    plain = tf.function(lambda z: model.latents_to_images(z))
    rows = []
    with tempfile.TemporaryDirectory() as directory, tempfile.TemporaryDirectory() as half_directory:
        savedmodel.write_saved_model(model, directory)
        loaded = tf.saved_model.load(directory)
        if precision == "float16":
            savedmodel.write_saved_model(model, half_directory, precision="float16")
            half = tf.saved_model.load(half_directory).signatures["serving_default"]
        serve, sample, png = (loaded.signatures[name] for name in ("serving_default", "sample", "sample_png"))
        rng = np.random.default_rng(0)
        for batch in batches:
            z = tf.constant(rng.uniform(-1, 1, (batch, model.latent_dim)).astype(np.float32))
            seeds = tf.constant(np.stack([np.zeros(batch), np.arange(batch)], axis=1).astype(np.int32))
            once = time.perf_counter()
            serve(z=z)["images"].numpy()
            repeats = max(5, min(200, int(seconds / max(time.perf_counter() - once, 1e-4))))
            calls = {
                "function": lambda: plain(z).numpy(),
                "signature": lambda: serve(z=z)["images"].numpy(),
                "sample": lambda: sample(seed=seeds)["images"].numpy(),
            }
            if precision == "float16":
                calls["float16"] = lambda: half(z=z)["images"].numpy()
            times = _interleaved(calls, repeats)
            if with_predict:
                times["predict"] = _median_seconds(
                    lambda: model.image_network().predict(z, batch_size=batch, verbose=0), repeats)
            np.testing.assert_allclose(serve(z=z)["images"].numpy(), plain(z).numpy(), atol=1e-4)
            rows.append((batch, times))
        seeds = tf.constant([[0, i] for i in range(8)], tf.int32)
        full = {key: value.numpy() for key, value in sample(seed=seeds).items()}
        compact = {key: value.numpy() for key, value in png(seed=seeds).items()}
        sizes = (rest_bytes(full) / 8, rest_bytes(compact) / 8)
    return rows, sizes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a trained DCGAN (.keras file, run directory or preset); default: the "
                                         "untrained DCGANs of MODELS")
    parser.add_argument("--prior", default="nonparametric", help="prior of the untrained models (default: %(default)s)")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batches", default="1,64,512", help="comma-separated batch sizes (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="rough time budget per measurement")
    parser.add_argument("--predict", action="store_true", help="also time generator.predict (slow)")
    parser.add_argument("--precision", choices=("float32", "float16"), default="float32",
                        help="float16: also time serving_default of a float16 export (default: %(default)s)")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",")]
    configs = {args.source: None} if args.source else MODELS
    print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}, TensorFlow {tf.__version__}")
    verdicts = []
    for label, config in configs.items():
        model = _model(args, *config) if config else load_source(args.source)
        if not isinstance(model, models.GenerativeModel) or len(model.element_shape) != 3:
            raise SystemExit("benchmarks/serving.py times image models: pass a zoo image model (DCGAN, VAE, ...)")
        rows, (full_bytes, png_bytes) = measure(model, batches, args.seconds, args.predict, args.precision)
        half = args.precision == "float16"
        print(f"\n{label}: {type(model).__name__} {model.element_shape}, latent {model.latent_dim}, prior "
              f"{model.prior.kind}, {model.image_network().count_params():,} generator parameters")
        header = (f"{'batch':>6} {'tf.function ms':>15} {'signature ms':>13} {'sample ms':>10} "
                  f"{'signature vs tf.function':>25} {'sample / signature':>19}"
                  + (f" {'predict ms':>11}" if args.predict else "")
                  + (f" {'float16 ms':>11} {'float16 speed-up':>17}" if half else ""))
        print(header)
        print("-" * len(header))
        for batch, t in rows:
            speed = t["function"] / t["signature"]
            ratio = t["sample"] / t["signature"]
            print(f"{batch:>6} {t['function'] * 1e3:>15.2f} {t['signature'] * 1e3:>13.2f} {t['sample'] * 1e3:>10.2f} "
                  f"{speed:>24.2f}x {ratio:>18.2f}x" + (f" {t['predict'] * 1e3:>11.2f}" if args.predict else "")
                  + (f" {t['float16'] * 1e3:>11.2f} {t['signature'] / t['float16']:>16.2f}x" if half else ""))
            if batch == 512:
                verdicts.append((f"{label}: sample / serving_default at batch 512 <= {SAMPLE_RATIO_TARGET}x",
                                 ratio <= SAMPLE_RATIO_TARGET, f"{ratio:.2f}x"))
            if batch in (1, 64):
                verdicts.append((f"{label}: signature speed vs tf.function(generator) at batch {batch} >= "
                                 f"{BASELINE_TARGET}x", speed >= BASELINE_TARGET, f"{speed:.2f}x"))
        print(f"REST response bytes per image: sample {full_bytes:,.0f}, sample_png {png_bytes:,.0f} "
              f"({full_bytes / png_bytes:.1f}x smaller)")
        verdicts.append((f"{label}: sample_png response >= {SIZE_TARGET:.0f}x smaller than sample",
                         full_bytes / png_bytes >= SIZE_TARGET, f"{full_bytes / png_bytes:.1f}x"))
    print("\ntargets:")
    for text, met, value in verdicts:
        print(f"  {text}: {'met' if met else 'NOT met'} ({value})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
