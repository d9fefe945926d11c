"""Where and how a run computes: distribution strategy, mixed precision and XLA.

The same recipe runs on a CPU, one GPU, several GPUs or several machines by switching
``--strategy``; every option maps onto TensorFlow's own machinery (no home-made distribution):

* ``default``: TensorFlow's default strategy (one device).
* ``mirrored``: ``tf.distribute.MirroredStrategy`` over the local GPUs, or over the CPU's logical
  devices when there are none (``--cpu-devices N`` splits the CPU into N, so multi-replica
  training can be tried and tested on any machine). One device only is reported with a warning.
* ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy`` configured by the ``TF_CONFIG``
  environment variable of each worker; worker 0 is the chief and writes the run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import warnings

from zoo.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker")


#: Why ``--jit`` slows training down on a machine without a GPU (docs/performance.md measures it).
CPU_JIT_WARNING = (
    "--jit on a machine without a GPU makes the zoo's convolutional models train SLOWER: XLA on a CPU "
    "compiles the transposed convolution from the generator's 4x4 seed, and the input gradient of the "
    "discriminator's last convolution, into an unvectorised loop (about 18x slower for that layer; a "
    "GDPP-DCGAN step, 28 px, width 32, batch 64, measured 3.1-3.6x slower in all; docs/performance.md). "
    "Drop --jit on a CPU; it is meant for GPUs."
)


@dataclasses.dataclass
class Placement:
    """The resolved strategy: the ``tf.distribute.Strategy``, replica count and this worker's role."""

    name: str
    strategy: object
    replicas: int
    is_chief: bool
    worker_index: int
    mixed_precision: str | None
    jit: bool

    def scope(self):
        return self.strategy.scope() if self.name != "default" else contextlib.nullcontext()


def _tf_config() -> dict:
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ConfigError(
            "--strategy multiworker needs the TF_CONFIG environment variable on every worker, e.g. "
            'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\'.'
        )
    try:
        tf_config = json.loads(text)
        workers = tf_config["cluster"]["worker"]
        task = tf_config["task"]
        index = int(task["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(
            f"TF_CONFIG is not a valid cluster description ({error}); it needs cluster.worker (a list of "
            "host:port) and task.type/task.index."
        ) from None
    if task.get("type") != "worker" or not 0 <= index < len(workers):
        raise ConfigError(
            f"TF_CONFIG task must be a worker with 0 <= index < {len(workers)}, got {task}."
        )
    return tf_config


def split_cpu(count: int) -> None:
    """Split the CPU into ``count`` logical devices (``--cpu-devices``), before TensorFlow starts.

    TensorFlow fixes its devices when its runtime starts (the first op); a process where that has
    happened with another count gets a ConfigError.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"--cpu-devices must be an int >= 1, got {count!r}.")
    from zoo._tf import _muted_stderr_fd, tf

    with _muted_stderr_fd():  # the first device query probes for CUDA
        cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        current = len(tf.config.list_logical_devices("CPU"))
        if current != count:
            raise ConfigError(
                f"--cpu-devices {count}: TensorFlow already started in this process with {current} CPU "
                "device(s), and its devices cannot change afterwards; split the CPU in a fresh process, "
                "before any TensorFlow op runs."
            ) from None


def setup(name: str = "default", *, mixed_precision: bool = False, jit: bool = False,
          cpu_devices: int | None = None) -> Placement:
    """Configure TensorFlow for a run. Call before any model or dataset is built.

    ``mixed_precision`` picks ``mixed_float16`` on a GPU and ``mixed_bfloat16`` on a CPU (where
    float16 arithmetic is emulated and slow); variables stay float32 either way. ``cpu_devices``
    splits the CPU into that many devices for ``mirrored`` (see :func:`split_cpu`).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}.")
    if cpu_devices is not None and cpu_devices > 1 and name == "default":
        raise ConfigError(
            f"--cpu-devices {cpu_devices} gives replicas to a distribution strategy; add --strategy mirrored."
        )
    tf_config = _tf_config() if name == "multiworker" else None
    if cpu_devices is not None:
        split_cpu(cpu_devices)
    from zoo._tf import _muted_stderr_fd, tf

    import keras

    # The first device query probes for CUDA and logs "failed call to cuInit" on CPU-only hosts.
    with _muted_stderr_fd():
        tf.config.list_physical_devices()

    # The multi-worker strategy must exist before any other TensorFlow op creates the eager context.
    if name == "multiworker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        worker_index = int(tf_config["task"]["index"])
    elif name == "mirrored":
        strategy = _mirrored(tf)
        worker_index = 0
    else:
        strategy = tf.distribute.get_strategy()
        worker_index = 0
    if jit and not tf.config.list_logical_devices("GPU"):
        warnings.warn(CPU_JIT_WARNING, stacklevel=2)
    policy = None
    if mixed_precision:
        policy = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy or "float32")
    return Placement(
        name=name,
        strategy=strategy,
        replicas=int(strategy.num_replicas_in_sync),
        is_chief=worker_index == 0,
        worker_index=worker_index,
        mixed_precision=policy,
        jit=jit,
    )


def _mirrored(tf):
    """``MirroredStrategy`` over the local GPUs, else over every logical CPU device."""
    gpus = tf.config.list_logical_devices("GPU")
    devices = None if gpus else [device.name for device in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    if strategy.num_replicas_in_sync == 1:
        warnings.warn(
            "--strategy mirrored found one device, so training runs one replica. Run where several GPUs "
            "are visible, or split the CPU with --cpu-devices N to try multi-replica training.",
            stacklevel=3,
        )
    return strategy


def adapt_model(model, placement: Placement) -> None:
    """Work around Keras 3 + ``MultiWorkerMirroredStrategy`` failing on scalar train-step logs.

    Keras averages each worker's logs with ``strategy.reduce("MEAN", value, axis=0)``, which raises
    "Invalid reduction dimension 0 for input with 0 dimensions" for the scalar losses every model
    returns (tensorflow/tensorflow#72388). Giving each log a length-1 axis lets that reduction
    average across workers as intended; the logs Keras hands to callbacks are scalars again.
    """
    if placement.name != "multiworker":
        return
    from zoo._tf import tf

    train_step = model.train_step

    def train_step_with_rank1_logs(data):
        return {name: tf.reshape(value, [1]) for name, value in train_step(data).items()}

    model.train_step = train_step_with_rank1_logs
