"""One training run from a resolved config: data, model, fit with callbacks, records, evaluation.

:func:`train` is what ``zoo train`` calls; it is importable for notebooks and tests. The order is
chosen so bad input fails before anything is written: the run directory is locked and checked, the
dataset opened, the model built and the evaluation settings checked first, and only then are the
run's records written (a refused run leaves no directory behind, only its lock while it ran).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import signal
import sys
import threading
import time

from zoo.errors import DiskFullError, first_line, is_disk_full

from training import rundir as rundir_lib
from training import strategy as strategy_lib


@dataclasses.dataclass
class RunResult:
    """What a finished run left: its directory, history rows, metrics and the epoch it resumed from."""

    path: pathlib.Path
    history: list[dict]
    metrics: dict | None
    resumed_from: int
    seconds: float
    #: How the saved model's batch-norm statistics were re-estimated on prior samples
    #: (``{"batches", "batch_size", "seed", "layers"}``), or None when they were kept from training.
    batch_norm: dict | None = None

    @property
    def training_seconds(self) -> float:
        """Seconds spent training over every invocation of the run (its epochs' own times), which
        ``seconds`` (this invocation only) is not after a resume."""
        return sum(float(row.get("seconds", 0.0)) for row in self.history)


def worker_out(out: pathlib.Path, placement) -> pathlib.Path:
    """Non-chief workers of a multi-worker run write beside the chief's directory, never into it."""
    return out if placement.is_chief else out.with_name(f"{out.name}-worker{placement.worker_index}")


def _compile(model, config: dict, total_steps: int, jit: bool) -> None:
    """Compile ``model`` with the recipe's Adam optimizers, one per ``model.optimizer_slots()``.

    The ``"generator"`` role gets ``optimizer.learning_rate`` (and ``train.ema``), a
    ``"discriminator"`` ``optimizer.d_learning_rate`` (default: the same rate).
    """
    import keras

    from zoo.errors import ConfigError

    opt = config["optimizer"]

    def adam(rate, updates, ema=None):
        # A schedule counts optimizer updates, not training steps: a GAN's generator makes
        # generator_steps of them per step.
        if opt["decay"] == "linear":
            rate = keras.optimizers.schedules.PolynomialDecay(rate, decay_steps=updates, end_learning_rate=0.0)
        kwargs = {"use_ema": True, "ema_momentum": ema} if ema is not None else {}
        return keras.optimizers.Adam(rate, beta_1=opt["beta_1"], beta_2=opt["beta_2"], epsilon=opt["epsilon"], **kwargs)

    slots = model.optimizer_slots()
    if opt["d_learning_rate"] is not None and not any(slot.role == "discriminator" for slot in slots):
        raise ConfigError(
            f"optimizer.d_learning_rate applies to models with a discriminator; model.kind "
            f"{config['model']['kind']!r} has one optimizer. Set it to null."
        )
    optimizers = {}
    for role in ("generator", "discriminator"):  # the generator's first, as before the contract
        for slot in slots:
            if slot.role == role:
                rate = opt["learning_rate"] if role == "generator" else opt["d_learning_rate"] or opt["learning_rate"]
                ema = config["train"]["ema"] if role == "generator" else None
                optimizers[slot.argument] = adam(rate, total_steps * slot.updates_per_step, ema)
    model.compile(**optimizers, jit_compile=jit)


def _steps_per_epoch(config: dict, dataset) -> int:
    from zoo._tf import tf

    from zoo.errors import ConfigError

    steps = config["train"]["steps_per_epoch"]
    if steps is not None:
        return steps
    cardinality = int(dataset.cardinality())
    if cardinality in (int(tf.data.INFINITE_CARDINALITY), int(tf.data.UNKNOWN_CARDINALITY)) or cardinality <= 0:
        raise ConfigError(
            f"cannot tell how many batches one pass over {config['data']['name']!r} has; set "
            "train.steps_per_epoch (e.g. --set train.steps_per_epoch=500)."
        )
    return cardinality


# build_model keys the recipe sets elsewhere (data.*, optimizer.*, seed, --jit), not in model.options.
_RESERVED_OPTIONS = {"model", "latent_dim", "prior", "diversity_weight", "seed", "compile", "jit_compile",
                     "image_size", "channels", "data_dim", "optimizer", "d_optimizer", "g_optimizer",
                     "learning_rate", "d_learning_rate", "g_learning_rate", "beta_1", "beta_2", "epsilon"}


def model_config(config: dict, element_shape: tuple[int, ...]) -> dict:
    """The ``zoo.models.build_model`` dict of a recipe for data of per-sample ``element_shape``."""
    from zoo import models as zoo_models
    from zoo.errors import ConfigError

    m = config["model"]
    clash = sorted(set(m["options"]) & _RESERVED_OPTIONS)
    if clash:
        raise ConfigError(
            f"model.options may not set {', '.join(clash)}: they come from model.kind/latent_dim/prior/"
            "diversity_weight, data.image_size, optimizer.* and seed."
        )
    prior = {"kind": m["prior"], "params": m["prior_params"]} if m["prior_params"] else m["prior"]
    shape = zoo_models.model_kind(m["kind"]).data_keys(element_shape, repr(config["data"]["name"]))
    # GDPP is a key of the kinds that support it: a recipe without it builds any kind.
    gdpp = {"diversity_weight": m["diversity_weight"]} if m["diversity_weight"] else {}
    return {"model": m["kind"], "latent_dim": m["latent_dim"], "prior": prior, **gdpp, "seed": config["seed"],
            "compile": False, **shape, **m["options"]}


def build(config: dict, placement):
    """``(model, dataset, data_spec, steps_per_epoch)`` for a config (nothing written)."""
    import keras

    from zoo import data as zoo_data
    from zoo import models as zoo_models

    from zoo.errors import ConfigError

    data_cfg = config["data"]
    set_determinism(config["train"]["deterministic"])
    keras.utils.set_random_seed(config["seed"])
    batch, replicas = data_cfg["batch_size"], placement.replicas
    if batch % replicas:
        fits = max(replicas, batch // replicas * replicas)
        raise ConfigError(
            f"data.batch_size={batch} does not split evenly over the {replicas} replicas of --strategy "
            f"{placement.name}: every replica must get the same batch. Use a multiple of {replicas}, e.g. "
            f"--set data.batch_size={fits}."
        )
    options = dict(image_size=data_cfg["image_size"], **data_cfg["options"])
    spec = zoo_data.spec(data_cfg["name"], **options)
    dataset = zoo_data.load(data_cfg["name"], batch_size=data_cfg["batch_size"], seed=config["seed"],
                            data_dir=data_cfg["data_dir"], **options)
    steps = _steps_per_epoch(config, dataset)
    total_steps = steps * config["train"]["epochs"]
    from zoo._tf import tf

    try:
        with placement.scope():
            model = zoo_models.build_model(model_config(config, spec.element_shape))
            check_training_memory(model, config)
            _compile(model, config, total_steps, placement.jit)
    except (tf.errors.ResourceExhaustedError, MemoryError) as error:
        # Sizes the up-front estimates let through (initialisers need temporary copies, GPUs hold less).
        raise ConfigError(
            f"building the model ran out of memory ({type(error).__name__}: {first_line(error)}); lower "
            "model.latent_dim or model.options.width."
        ) from None
    if placement.jit and not model.jit_compile:
        raise ConfigError(
            "--jit: Keras would not XLA-compile this model's train step (TensorFlow's op determinism is on, "
            "or a layer does not support XLA); run without --jit, or with --set train.deterministic=false."
        )
    strategy_lib.adapt_model(model, placement)
    return model, dataset, spec, steps


def check_training_memory(model, config: dict) -> None:
    """Refuse (``ConfigError``) a model whose training state cannot fit in this machine's memory.

    A lower bound: every trainable float32 weight is kept four times while training (the weight, its
    gradient and Adam's two moments; five with ``train.ema``), every other weight once. Activations
    come on top, so a model that passes may still run out of memory, but one refused here cannot fit.
    """
    import numpy as np

    from zoo._resources import check_memory

    copies = 4 if config["train"]["ema"] is None else 5
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    other = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    check_memory(
        4 * (copies * trainable + other),
        f"training this model ({trainable:,} trainable weights, each kept {copies} times: weight, gradient, Adam "
        f"moments{', EMA' if copies == 5 else ''})",
        "lower model.latent_dim or model.options.width, or train on a machine with more memory.",
    )


def set_determinism(deterministic: bool) -> None:
    """Turn TensorFlow's op determinism on or off for this process, as ``train.deterministic`` says.

    Off is set explicitly too: a previous run in the same process (a notebook, the tests) may have
    turned it on, and Keras silently drops XLA while it is on.
    """
    from zoo._tf import tf
    # TensorFlow exports enable_op_determinism only; its counterpart lives in the same module.
    from tensorflow.python.framework.config import disable_op_determinism

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        disable_op_determinism()


def fit_steps(recipe: str, overrides, iterations: int, callbacks=()):
    """Train ``recipe`` (with ``--set``-style ``overrides``) for ``iterations`` steps, no run directory.

    What the paper benchmarks run: the recipe's model, data and seeds with deterministic ops (so a
    seed's numbers reproduce; ``train.deterministic=false`` in ``overrides`` turns them off), with its
    length replaced by ``iterations`` (so a ``optimizer.decay=linear`` schedule ends where training
    does) and its ``train.ema`` honoured. ``callbacks`` (Keras callbacks, e.g. a benchmark's probe)
    run before the EMA one, so they see the raw weights. Returns ``(model, config, seconds)``.
    """
    from training import config as config_lib
    from zoo.errors import ConfigError

    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ConfigError(f"iterations must be an int >= 1, got {iterations!r}.")
    length = ["train.epochs=1", f"train.steps_per_epoch={iterations}"]
    config = config_lib.resolve(recipe, ["train.deterministic=true", *overrides, *length])
    model, dataset, _, steps = build(config, strategy_lib.setup("default"))
    start = time.perf_counter()
    model.fit(dataset.repeat(), epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False,
              callbacks=[*callbacks, *ema_callbacks(config, model)])
    return model, config, time.perf_counter() - start


def ema_callbacks(config: dict, model) -> list:
    """``[ApplyEMA]`` when ``train.ema`` is set, so that a ``fit`` of a model from :func:`build`
    ends with the generator's averaged weights; ``[]`` otherwise."""
    if config["train"]["ema"] is None:
        return []
    from training import callbacks as cb

    return [cb.ApplyEMA(*cb.generator_optimizer(model))]


def train(
    config: dict,
    out: str | pathlib.Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    strategy: str = "default",
    mixed_precision: bool = False,
    jit: bool = False,
    cpu_devices: int | None = None,
    verbose="auto",
    command: list[str] | None = None,
) -> RunResult:
    """Train ``config`` into run directory ``out``; see :mod:`training.rundir` for what is written.

    ``jit`` XLA-compiles the train step or refuses (``ConfigError``) when Keras would not;
    ``cpu_devices`` splits the CPU for ``strategy="mirrored"`` (``training.strategy.split_cpu``).

    Re-running the same config into the same directory continues from its last completed epoch.
    Raises ``ConfigError`` / ``DataUnavailableError`` before writing anything on bad input,
    ``callbacks.NonFiniteLossError`` when a loss becomes NaN or inf and ``DiskFullError`` when the
    disk fills up (the last good checkpoint stays, ``run.json`` says ``stopped_nan`` / ``failed``).
    While it runs in the main thread, SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``)
    like Ctrl-C: the run is recorded as ``interrupted`` and its lock released.
    """
    started = time.perf_counter()
    if jit and config["train"]["deterministic"]:
        from zoo.errors import ConfigError

        raise ConfigError(
            "--jit cannot be combined with train.deterministic=true: Keras runs nothing under XLA while "
            "TensorFlow's deterministic ops are on. Add --set train.deterministic=false."
        )
    placement = strategy_lib.setup(strategy, mixed_precision=mixed_precision, jit=jit, cpu_devices=cpu_devices)
    run = rundir_lib.RunDir(worker_out(pathlib.Path(out), placement))
    with _terminate_as_interrupt(), run.locked():
        return _train_locked(run, config, placement, resume=resume, overwrite=overwrite, jit=jit, verbose=verbose,
                             command=command, started=started)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (``kill``, Slurm, Kubernetes, ``docker stop``): the run stops as on Ctrl-C,
    recorded as ``interrupted`` with its lock released; ``zoo train`` then exits with 143 (128 + 15)."""

    exit_status = 128 + signal.SIGTERM


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (once; later ones are ignored while the run
    records its status and releases its lock). Only the main thread can own signal handlers; elsewhere
    the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated("terminated by SIGTERM; the run is recorded as interrupted and the same command "
                         "continues it from its last checkpoint")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _train_locked(run, config, placement, *, resume, overwrite, jit, verbose, command, started) -> RunResult:
    """:func:`train` once this process owns the run directory."""
    mode = run.prepare(config, resume=resume, overwrite=overwrite)

    from zoo._tf import tf

    from training import callbacks as cb

    model, dataset, spec, steps = build(config, placement)
    checkpoint = cb.Checkpoint(run, steps_per_epoch=steps)
    initial_epoch = checkpoint.restore(model) if mode == "resume" else 0
    if placement.is_chief and config["eval"]["enabled"]:
        check_evaluation(model, config)
    environment = rundir_lib.environment(
        strategy=placement.name, replicas=placement.replicas, mixed_precision=placement.mixed_precision,
        jit=bool(model.jit_compile),
    )
    environment["deterministic"] = config["train"]["deterministic"]
    try:
        run.start(config, environment, mode=mode, command=command or sys.argv)
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(
            f"the disk holding {run.path} is full ({first_line(error)}): the run could not be recorded and nothing "
            f"was trained. {cb.DISK_FULL_REMEDY}"
        ) from None

    epochs = config["train"]["epochs"]
    # The data order of epoch k depends only on the seed and k: a resumed run skips the batches the
    # completed epochs consumed, so it sees exactly what an uninterrupted run would.
    dataset = dataset.repeat().skip(initial_epoch * steps)
    if placement.name == "multiworker":
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    nan_stop = cb.NonFiniteStop(steps)
    callbacks = [nan_stop, checkpoint]
    if placement.is_chief:
        writer = cb.SummaryWriter(run.tensorboard_dir)
        samples = config["samples"]
        callbacks.append(cb.SampleImages(
            run.samples_dir, grid=samples["grid"], pairs=samples["interpolation_pairs"],
            steps=samples["interpolation_steps"], seed=config["seed"], data_spec=spec, writer=writer,
        ))
        callbacks.append(cb.LogScalars(writer))
    callbacks.extend(ema_callbacks(config, model))

    metrics = None
    try:
        # Also with nothing left to train (a resume whose training had finished but whose evaluation
        # had not): fit then runs only the callbacks' start and end (the EMA hand-over).
        model.fit(dataset, epochs=epochs, steps_per_epoch=steps, initial_epoch=initial_epoch,
                  callbacks=callbacks, shuffle=False, verbose=verbose)
        if nan_stop.stopped is not None:
            raise nan_stop.error(len(checkpoint.history), run.path)
        if checkpoint.empty_epoch is not None:
            raise checkpoint.empty_error(config["data"]["name"])
        batch_norm = recalibrate_if_off_prior(model, config)
        model_path = run / rundir_lib.MODEL_FILE
        tmp_path = model_path.with_name(".model.tmp.keras")
        try:
            model.save(tmp_path)
            tmp_path.replace(model_path)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        if placement.is_chief and config["eval"]["enabled"]:
            metrics = evaluate(model, config, spec)
            rundir_lib.write_json(run / rundir_lib.METRICS_FILE, metrics)
    except BaseException as error:
        _record_failure(run, checkpoint, error)
        raise
    seconds = time.perf_counter() - started
    extra = {"batch_norm_recalibrated": batch_norm} if batch_norm else {}
    result = RunResult(run.path, checkpoint.history, metrics, initial_epoch, seconds, batch_norm)
    run.finish("completed", epochs=epochs, seconds=round(seconds, 1),
               training_seconds=round(result.training_seconds, 1), **extra)
    return result


def recalibrate_if_off_prior(model, config: dict) -> dict | None:
    """Re-estimate the generator's batch-norm statistics on prior samples when it trained on other
    latents (``training_noise``), so the saved model's ``generate`` normalises with prior statistics.

    Returns what was done (recorded in ``run.json`` and on preset cards), or None for a model that
    trained on its prior (its moving statistics already are prior statistics).
    """
    from zoo.models import batch_norm

    if getattr(model, "training_noise", None) is None:
        return None
    settings = {"batches": batch_norm.RECALIBRATION_BATCHES, "batch_size": batch_norm.RECALIBRATION_BATCH_SIZE,
                "seed": config["seed"]}
    layers = batch_norm.recalibrate_batch_norm(model, **settings)
    return {**settings, "layers": layers} if layers else None


def _record_failure(run, checkpoint, error: BaseException) -> None:
    """Record in ``run.json`` why training ended early; a full disk becomes one ``DiskFullError``.

    Raises that ``DiskFullError`` (from None: h5py's and TensorFlow's own reports of a full disk run
    to hundreds of lines) when ``error`` is one; otherwise returns and the caller re-raises ``error``.
    """
    from training import callbacks as cb

    converted = None
    if is_disk_full(error) and not isinstance(error, DiskFullError):
        converted = DiskFullError(
            f"the disk holding {run.path} is full ({first_line(error)}): {checkpoint.kept()}. {cb.DISK_FULL_REMEDY}"
        )
    reported = converted or error
    if isinstance(error, cb.NonFiniteLossError):
        status, message = "stopped_nan", str(error)
    else:
        status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
        message = f"{type(reported).__name__}: {reported}"
    try:
        run.finish(status, message)
    except OSError as record_error:
        if not (is_disk_full(record_error) and isinstance(reported, DiskFullError)):
            raise
        raise DiskFullError(f"{reported} ({rundir_lib.RUN_FILE} had no room to record this and still says "
                            "'running'.)") from None
    if converted is not None:
        raise converted from None


def _evaluation_settings(config: dict) -> dict:
    eval_cfg = config["eval"]
    data_cfg = config["data"]
    return {"metrics": eval_cfg["metrics"], "samples": eval_cfg["samples"], "dataset": data_cfg["name"],
            "data_dir": data_cfg["data_dir"], "data_options": data_cfg["options"]}


def check_evaluation(model, config: dict) -> None:
    """Refuse ``eval.*`` settings that ``evaluate`` would refuse, before any training step."""
    from zoo import metrics as zoo_metrics
    from zoo.errors import ConfigError

    try:
        zoo_metrics.check_settings(model, **_evaluation_settings(config))
    except ConfigError as error:
        eval_cfg = config["eval"]
        raise ConfigError(
            f"the recipe's evaluation (eval.metrics={json.dumps(eval_cfg['metrics'])}, eval.samples="
            f"{eval_cfg['samples']}) would fail after training: {error} Change it with --set eval.metrics=[...] or "
            "--set eval.samples=N, or skip it with --set eval.enabled=false."
        ) from None


def evaluate(model, config: dict, spec) -> dict:
    """``zoo.metrics.evaluate`` of the trained model with the recipe's eval settings."""
    from zoo import metrics as zoo_metrics

    return zoo_metrics.evaluate(model, seed=config["seed"], **_evaluation_settings(config))
