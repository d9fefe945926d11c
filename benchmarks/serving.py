"""Served signature vs ``keras.Model.predict``: latency at batch 1, throughput at batch 64 and 512.

Exports a generator with :func:`exports.savedmodel.write_saved_model`, loads it back with
``tf.saved_model.load`` (what a server-side runtime runs, without the network) and times, in the same
process and run, the ``serving_default`` signature (``z`` -> ``images`` and ``images_uint8``) and
``sample`` (per-row seeds, prior inside the graph) against ``generator.predict(z)`` on the same
weights. Each timing is the median over repeated calls after a warm-up call; outputs are
materialised as NumPy in both cases. The target: the signature at least 2x faster than ``predict``
at batch 1 (``predict`` builds a tf.data pipeline and a step function wrapper on every call).

    python benchmarks/serving.py                       # DCGAN 32x32x3, latent 100, width 32 (untrained)
    python benchmarks/serving.py --image-size 64 --width 64   # the papers' DCGAN size
    python benchmarks/serving.py --source runs/NAME     # a trained model (.keras, run dir or preset)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from zoo._tf import tf

from zoo import models
from exports import savedmodel
from exports.cli import load_source

TARGET_SPEEDUP = 2.0


def _median_seconds(call, repeats: int) -> float:
    call()  # warm-up: tracing, allocation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _model(args):
    if args.source:
        return load_source(args.source)
    generator = models.dcgan_generator(args.image_size, 3, args.latent_dim, width=args.width)
    discriminator = models.dcgan_discriminator(args.image_size, 3, width=args.width)
    return models.DCGAN(generator, discriminator, prior="nonparametric")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a trained model (.keras file, run directory or preset); default: untrained DCGAN")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batches", default="1,64,512", help="comma-separated batch sizes (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=3.0, help="rough time budget per measurement")
    args = parser.parse_args(argv)

    model = _model(args)
    if not hasattr(model, "generator"):
        raise SystemExit("benchmarks/serving.py compares generator.predict with the signature: pass a DCGAN")
    network = model.generator
    with tempfile.TemporaryDirectory() as directory:
        savedmodel.write_saved_model(model, directory)
        loaded = tf.saved_model.load(directory)
        serve, sample = loaded.signatures["serving_default"], loaded.signatures["sample"]

        print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}, TensorFlow {tf.__version__}, "
              f"model {type(model).__name__} {model.output_shape_} latent {model.latent_dim}, "
              f"{network.count_params():,} generator parameters")
        header = (f"{'batch':>6} {'predict ms':>11} {'signature ms':>13} {'sample ms':>10} "
                  f"{'predict img/s':>14} {'signature img/s':>16} {'speed-up':>9}")
        print(header)
        print("-" * len(header))
        speedups = {}
        rng = np.random.default_rng(0)
        for batch in (int(b) for b in args.batches.split(",")):
            z = rng.uniform(-1, 1, (batch, model.latent_dim)).astype(np.float32)
            seeds = np.stack([np.zeros(batch), np.arange(batch)], axis=1).astype(np.int32)
            z_tensor, seed_tensor = tf.constant(z), tf.constant(seeds)
            once = time.perf_counter()
            network.predict(z, batch_size=batch, verbose=0)
            repeats = max(3, min(200, int(args.seconds / max(time.perf_counter() - once, 1e-4))))
            t_predict = _median_seconds(lambda: network.predict(z, batch_size=batch, verbose=0), repeats)
            t_signature = _median_seconds(lambda: serve(z=z_tensor)["images"].numpy(), repeats)
            t_sample = _median_seconds(lambda: sample(seed=seed_tensor)["images"].numpy(), repeats)
            np.testing.assert_allclose(serve(z=z_tensor)["images"].numpy(), network.predict(z, verbose=0), atol=1e-4)
            speedups[batch] = t_predict / t_signature
            print(f"{batch:>6} {t_predict * 1e3:>11.2f} {t_signature * 1e3:>13.2f} {t_sample * 1e3:>10.2f} "
                  f"{batch / t_predict:>14.1f} {batch / t_signature:>16.1f} {speedups[batch]:>8.2f}x")
    if 1 in speedups:
        verdict = "met" if speedups[1] >= TARGET_SPEEDUP else "NOT met"
        print(f"target: signature >= {TARGET_SPEEDUP:.0f}x faster than predict at batch 1: {verdict} ({speedups[1]:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
