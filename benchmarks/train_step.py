"""Training throughput of the zoo's ``train_step``s, and GDPP Table 6 (iteration time) as ratios.

Baselines measured in the same run:

* a minimal DCGAN ``train_step`` written here in the keras.io style ("Customizing what happens in
  fit()" / "DCGAN to generate face images": concatenated real+fake discriminator batch, BCE from
  logits, ``keras.random.normal`` with a ``SeedGenerator``, two tapes), on the *same* generator and
  discriminator networks and batch: target ``zoo DCGAN / reference >= 1.0``;
* Table 6: each method's iteration (one generator update with the discriminator updates that
  come with it) against the others, as the paper's ratios: GDPP-DCGAN / DCGAN (paper 1.107; target
  <= 1.10) and WGAN-GP / GDPP-DCGAN (paper 5.8; target >= 4); the plain VAE for the GDPP-VAE overhead
  (reported). ``--methods`` picks the rows. One WGAN-GP iteration is one generator update with its
  5 critic updates, each on a minibatch of ``--batch-size`` (it reads 5 batches a step, as the
  reference code does; images/s counts generated images).

Every configuration is timed ``--repeats`` times, interleaved (A B C D E, A B C D E, ...), and the
best time is reported (contention only adds time), with the process CPU time per step beside it.
``--jit off`` (default) compiles with Keras' ``"auto"`` (XLA on a GPU, not on a CPU), ``--jit on``
with XLA, ``--jit both`` interleaves each model with and without XLA and prints XLA / no-XLA.
``--parts`` times sub-graphs of the GDPP-DCGAN step compiled alone, with and without XLA (where
XLA's time goes on a CPU: docs/performance.md).

    python benchmarks/train_step.py                 # paper sizes: 28 px, 3 channels, width 64, batch 64
    python benchmarks/train_step.py --channels 1 --width 32 --latent-dim 16 --jit both   # the mnist recipes
    python benchmarks/train_step.py --channels 1 --width 32 --latent-dim 16 --parts
    python benchmarks/train_step.py --quick         # smaller smoke run
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from zoo._tf import tf

import keras

from zoo import models


class ReferenceDCGAN(keras.Model):
    """The keras.io DCGAN ``train_step``, reduced to what our DCGAN also does (no label noise).

    One change: ``training=True`` on every network call. keras.io omits it, which in Keras 3 leaves
    BatchNorm in inference mode inside ``train_step`` (moving statistics, no updates): a different,
    cheaper network than the DCGAN both papers train.
    """

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, jit_compile="auto"):
        super().compile(jit_compile=jit_compile)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        z = keras.random.uniform((batch_size, self.latent_dim), -1.0, 1.0, seed=self.seed_generator)
        generated = self.generator(z, training=True)
        combined = tf.concat([generated, real_images], axis=0)
        labels = tf.concat([tf.zeros((batch_size, 1)), tf.ones((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined, training=True)[0]
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.uniform((batch_size, self.latent_dim), -1.0, 1.0, seed=self.seed_generator)
        misleading = tf.ones((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(z, training=True), training=True)[0]
            g_loss = self.loss_fn(misleading, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def _adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def _sizes(args):
    return dict(image_size=args.image_size, channels=args.channels, width=args.width)


def _reference(args, jit):
    model = ReferenceDCGAN(
        models.dcgan_generator(latent_dim=args.latent_dim, **_sizes(args)), models.dcgan_discriminator(**_sizes(args)),
        args.latent_dim,
    )
    model.compile(_adam(), _adam(), jit_compile=jit)
    return model


def _zoo(kind, weight):
    def build(args, jit):
        return models.build_model({"model": kind, "latent_dim": args.latent_dim, "diversity_weight": weight,
                                   "jit_compile": jit, **_sizes(args)})
    return build


#: Table 6's rows: name -> (builder(args, jit) -> compiled model; the paper's seconds per
#: iteration on CIFAR-10, or None). One iteration is one train_step.
METHODS = {
    "reference DCGAN (keras.io style)": (_reference, None),
    "DCGAN": (_zoo("dcgan", 0.0), 0.0674),
    "GDPP-DCGAN": (_zoo("dcgan", models.GDPP_GAN_WEIGHT), 0.0746),
    "WGAN-GP": (_zoo("wgan_gp", 0.0), 0.4331),  # one generator update with its 5 critic updates
    "VAE": (_zoo("vae", 0.0), None),
    "GDPP-VAE": (_zoo("vae", models.GDPP_VAE_WEIGHT), None),
}
#: (slower, faster, paper ratio, target as (comparison, bound) or None)
RATIOS = [
    ("GDPP-DCGAN", "DCGAN", 1.107, ("<=", 1.10)),
    ("WGAN-GP", "GDPP-DCGAN", 5.806, (">=", 4.0)),
    ("GDPP-VAE", "VAE", None, None),
]


def build_models(args):
    """``{label: model}`` for the requested methods (and their XLA variants)."""
    modes = {"off": ["auto"], "on": [True], "both": [False, True]}[args.jit]
    return {name + (" (XLA)" if jit is True and args.jit == "both" else ""): METHODS[name][0](args, jit)
            for name in args.methods for jit in modes}


def measure(model, data, steps):
    """``(wall seconds, process CPU seconds)`` per train step over ``steps`` steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def _best_of(function, repeats, calls):
    """Best (wall, CPU) seconds per call of ``function`` over ``repeats`` rounds of ``calls`` calls."""
    function(), function()  # trace, compile and warm up
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            out = function()
        tf.nest.map_structure(lambda t: t.numpy(), out)
        best_wall = min(best_wall, (time.perf_counter() - wall) / calls)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / calls)
    return best_wall, best_cpu


def parts(args):
    """Sub-graphs of the GDPP-DCGAN step, each compiled alone with and without XLA."""
    from zoo import losses

    batch = args.batch_size
    generator = models.dcgan_generator(latent_dim=args.latent_dim, **_sizes(args))
    discriminator = models.dcgan_discriminator(**_sizes(args))
    z = tf.random.normal([batch, args.latent_dim])
    real = tf.random.uniform([batch, args.image_size, args.image_size, args.channels], -1, 1)
    features = discriminator(real)[1].shape[1]
    real_features, fake_features = tf.random.normal([batch, features]), tf.random.normal([batch, features])
    first = next(layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose))
    seed_map = tf.random.normal([batch, *first.input.shape[1:]])
    last_conv = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    last_input = tf.random.normal([batch, *last_conv.input.shape[1:]])

    def gradient(loss_fn, sources):
        with tf.GradientTape() as tape:
            tape.watch([source for source in sources if isinstance(source, tf.Tensor)])  # variables: watched anyway
            loss = loss_fn()
        return tape.gradient(loss, sources)

    graphs = {
        "G forward": lambda: generator(z, training=True),
        "G forward + backward": lambda: gradient(lambda: tf.reduce_sum(generator(z, training=True)),
                                                 generator.trainable_variables),
        "D forward + backward": lambda: gradient(lambda: tf.reduce_sum(discriminator(real, training=True)[0]),
                                                 discriminator.trainable_variables),
        f"G's first conv-T, {first.input.shape[1]}x{first.input.shape[1]} in": lambda: first(seed_map),
        "D's last conv, input gradient": lambda: gradient(lambda: tf.reduce_sum(last_conv(last_input)), [last_input]),
        "gdpp_loss float64 + gradient": lambda: gradient(
            lambda: losses.gdpp_loss(real_features, fake_features, "float64"), [fake_features]),
        "gdpp_loss float32 + gradient": lambda: gradient(
            lambda: losses.gdpp_loss(real_features, fake_features, "float32"), [fake_features]),
    }
    print(f"sub-graphs of the GDPP-DCGAN step: batch {batch}, {args.image_size} px x {args.channels}, width "
          f"{args.width}, latent {args.latent_dim}; best of {args.repeats} x {args.steps} calls, ms per call")
    print(f"{'sub-graph':36s} {'wall':>8s} {'CPU':>8s} {'XLA wall':>9s} {'XLA CPU':>8s} {'XLA/no CPU':>10s}")
    for name, graph in graphs.items():
        (wall, cpu), (xla_wall, xla_cpu) = (
            _best_of(tf.function(graph, jit_compile=jit), args.repeats, args.steps) for jit in (False, True)
        )
        print(f"{name:36s} {1e3 * wall:8.2f} {1e3 * cpu:8.2f} {1e3 * xla_wall:9.2f} {1e3 * xla_cpu:8.2f} "
              f"{xla_cpu / cpu:10.2f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed train steps per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="METHOD",
                        help=f"rows of the table (default: all): {', '.join(METHODS)}")
    parser.add_argument("--jit", choices=("off", "on", "both"), default="off",
                        help="XLA: off (Keras 'auto'), on, or both interleaved with XLA / no-XLA ratios")
    parser.add_argument("--parts", action="store_true", help="time sub-graphs with and without XLA instead")
    parser.add_argument("--quick", action="store_true", help="width 16, 5 steps (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.width, args.steps = 16, 5
    if args.parts:
        return parts(args)

    rng = np.random.default_rng(0)

    def dataset(rows):
        batch = rng.uniform(-1, 1, (rows, args.image_size, args.image_size, args.channels))
        return tf.data.Dataset.from_tensors(batch.astype(np.float32)).repeat()

    data = dataset(args.batch_size)
    runs = build_models(args)
    # A WGAN-GP step splits its batch into one minibatch of batch_size per critic update.
    feeds = {name: dataset(args.batch_size * model.critic_steps) if isinstance(model, models.WGANGP) else data
             for name, model in runs.items()}
    for name, model in runs.items():  # trace and warm up outside the timed region
        model.fit(feeds[name], steps_per_epoch=2, epochs=1, verbose=0)
    timings = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, model in runs.items():
            timings[name].append(measure(model, feeds[name], args.steps))
    # Best of the repeats: other processes only ever slow a measurement down, so the fastest one
    # is the closest to the uncontended time. CPU seconds per step (all threads of this process)
    # are reported too: on a shared CPU host they measure the work, whatever the contention.
    wall = {name: min(t[0] for t in values) for name, values in timings.items()}
    cpu = {name: min(t[1] for t in values) for name, values in timings.items()}

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"train_step throughput: batch {args.batch_size}, {args.image_size} px x {args.channels}, "
          f"width {args.width}, latent {args.latent_dim}, {device}, jit {args.jit}, "
          f"best of {args.repeats} x {args.steps} steps")
    print(f"{'model':36s} {'images/s':>10s} {'ms/step':>9s} {'CPU ms/step':>12s} {'paper s/iteration':>18s}")
    for name in runs:
        paper = METHODS.get(name, (None, None))[1]
        print(f"{name:36s} {args.batch_size / wall[name]:10.1f} {1000 * wall[name]:9.1f} {1000 * cpu[name]:12.1f}"
              f" {'' if paper is None else f'{paper:18.4f}'}")

    def report(label, slow, fast):
        return f"{label}: wall {wall[slow] / wall[fast]:.3f}, CPU time {cpu[slow] / cpu[fast]:.3f}"

    print()
    reference = "reference DCGAN (keras.io style)"
    suffixes = [""] + ([" (XLA)"] if args.jit == "both" else [])
    for suffix in suffixes:
        if reference + suffix in runs and "DCGAN" + suffix in runs:
            ratio = wall[reference + suffix] / wall["DCGAN" + suffix]
            print(report(f"zoo DCGAN{suffix} speed / reference speed", reference + suffix, "DCGAN" + suffix),
                  f"(target >= 1.0: {'PASS' if ratio >= 1.0 else 'FAIL'})")
        for slow, fast, paper, target in RATIOS:
            if slow + suffix not in runs or fast + suffix not in runs:
                continue
            ratio = wall[slow + suffix] / wall[fast + suffix]
            verdict = ""
            if target is not None:
                met = ratio <= target[1] if target[0] == "<=" else ratio >= target[1]
                verdict = f"; target {target[0]} {target[1]}: {'PASS' if met else 'FAIL'}"
            paper_text = f"paper {paper}" if paper is not None else "paper -"
            print(report(f"{slow}{suffix} time / {fast}{suffix} time", slow + suffix, fast + suffix),
                  f"({paper_text}{verdict})")
    if args.jit == "both":
        for name in runs:
            if name.endswith(" (XLA)"):
                plain = name[: -len(" (XLA)")]
                print(report(f"{plain}: XLA time / no-XLA time", name, plain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
