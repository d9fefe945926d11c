"""Keras callbacks of a training run: checkpoints, NaN stop, sample images, TensorBoard, EMA hand-over.

Public, and usable with a plain ``model.fit`` of any zoo model (``docs/keras.md``):
:class:`SampleImages` (per-epoch sample grids and interpolation strips as PNG, optionally TensorBoard
images through a :class:`SummaryWriter`), :class:`NonFiniteStop` (stop at the first NaN/inf loss)
and :class:`ApplyEMA` (end training with the generator's exponential moving average). The run
directory's own :class:`Checkpoint` and :class:`LogScalars` are what ``zoo train`` adds.

All of them work on any ``zoo.models.GenerativeModel`` through its contract: ``prior`` (a
``LatentPrior`` with ``sample(n, seed)``), ``latents_to_images`` and ``optimizer_slots``. Images are
float32 NHWC in [-1, 1]; 2-D point sets are drawn as scatter plots.
"""

from __future__ import annotations

import hashlib
import io
import math
import pathlib
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

from zoo._tf import tf

import keras

from zoo import _resources
from zoo._seeds import as_int32, check_seed
from zoo.errors import (ConfigError, CorruptFileError, DataUnavailableError, DiskFullError, ZooError, first_line,
                        is_disk_full)
from zoo.files import sha256_file
from zoo.images import image_grid
from zoo.models import GenerativeModel

from training import rundir as rundir_lib

__all__ = ["ApplyEMA", "Checkpoint", "LogScalars", "NonFiniteLossError", "NonFiniteStop", "SampleImages",
           "SummaryWriter"]

# The end of every DiskFullError of a run: what to do (the run resumes where it stopped).
DISK_FULL_REMEDY = ("Free some space (or move the run directory to a larger disk), then rerun the same command to "
                    "continue.")
# Seeds of the fixed latents behind the per-epoch images (the run seed is mixed in).
GRID_SEED = 7001
INTERPOLATION_SEED = 7002


class NonFiniteLossError(ZooError):
    """A loss became NaN or inf; the run stopped and kept its last good checkpoint."""


class EmptyEpochError(DataUnavailableError):
    """An epoch ran no training step: the dataset yielded no batch."""


# --------------------------------------------------------------------------- checkpoints


def generator_optimizer(model) -> tuple[keras.optimizers.Optimizer, list]:
    """``(optimizer, variables)`` of a compiled zoo model's sample-making optimizer (its
    ``optimizer_slots()`` entry of role ``"generator"``): what ``train.ema`` averages."""
    slot = [slot for slot in model.optimizer_slots() if slot.role == "generator"][-1]
    return getattr(model, slot.argument), slot.variables


class Checkpoint(keras.callbacks.Callback):
    """``BackupAndRestore``-style checkpoints of the last two completed epochs, plus the loss history.

    At each epoch end with finite losses it writes ``epoch_NNNN.weights.h5`` (every model and
    optimizer variable: weights, Adam moments and iteration counters, the EMA slots, the model's
    seed-generator state) atomically (a temporary name, then a rename), and then commits it by
    atomically replacing ``state.json``, which records its SHA-256 and names the checkpoint before it
    (``previous``); older weight files are removed only after that. A run killed at any instant
    therefore restarts from a whole epoch. :meth:`restore` (called before ``fit``) verifies the
    checksum, loads the checkpoint and returns the epoch to start from: a damaged file is refused,
    naming the last good one; a missing one (deleted because it was damaged) gives way to the
    previous checkpoint when that one verifies.

    A disk too full to take the next checkpoint stops training with :class:`~zoo.errors.DiskFullError`
    before anything is written (the checkpoint is serialised in memory, and its size compared with
    the free space); a write that still fails is removed again. Either way the last committed
    checkpoint stays.

    An epoch whose logs hold no loss ran no training step (the dataset yielded no batch): it is not
    committed, training stops, and ``empty_epoch`` holds its number (see :meth:`empty_error`).
    """

    STATE = "state.json"

    def __init__(self, run: rundir_lib.RunDir, *, steps_per_epoch: int):
        super().__init__()
        self.run = run
        self.directory = run.checkpoint_dir
        self.steps_per_epoch = steps_per_epoch
        self.history: list[dict] = []
        self.empty_epoch: int | None = None
        self._epoch_start = 0.0
        # {"epoch", "weights", "sha256"} of the last committed checkpoint (None before the first).
        self.committed: dict | None = None

    @property
    def epoch(self) -> int:
        """The last committed epoch (0: none)."""
        return self.committed["epoch"] if self.committed else 0

    def restore(self, model) -> int:
        """Load the last good committed epoch into ``model``; returns the number of completed epochs (0: none).

        Raises ``CorruptFileError`` when ``state.json`` cannot be read, or the checkpoint it names is
        damaged (its SHA-256 differs from the recorded one) or missing with no good one before it.
        """
        state_path = self.directory / self.STATE
        if not state_path.is_file():
            return 0
        remedy = (f"The run cannot continue from it: start over with --overwrite (which deletes {self.run.path}'s "
                  "run files), or train into another --out directory.")
        state = rundir_lib.read_json(state_path, remedy)
        try:
            latest, history = _checkpoint_entry(state), list(state["history"])
            previous = _checkpoint_entry(state["previous"]) if state.get("previous") else None
        except (TypeError, KeyError, ValueError, AttributeError) as error:
            raise CorruptFileError(f"{state_path} is damaged (no valid {error}). {remedy}") from None
        entry = latest
        good = previous if previous is not None and self._verified(previous) else None
        latest_path = self.directory / latest["weights"]
        if not latest_path.is_file() and good is not None:
            print(f"zoo train: {latest_path} is missing; resuming from the checkpoint before it, "
                  f"{good['weights']} (epoch {good['epoch']}, checksum verified).", file=sys.stderr)
            entry = good
        elif not self._verified(latest):
            problem = "is missing" if not latest_path.is_file() else (
                "is damaged: its SHA-256 differs from the one recorded when it was written")
            fallback = (
                f"The last good checkpoint is {good['weights']} (epoch {good['epoch']}): delete {latest_path} and "
                "rerun to resume from it, or start over with --overwrite."
                if good is not None else remedy
            )
            raise CorruptFileError(f"the checkpoint {latest_path} {problem} ({state_path}). {fallback}")
        # Optimizer slots are created lazily; they must exist for load_weights to fill them.
        targets = (model.optimizer_targets() if isinstance(model, GenerativeModel)
                   else [(model.optimizer, model.trainable_variables)])  # any Keras model checkpoints
        for optimizer, variables in targets:
            if not optimizer.built:
                optimizer.build(variables)
        weights = self.directory / entry["weights"]
        try:
            model.load_weights(weights)
        except (OSError, ValueError, KeyError) as error:
            raise CorruptFileError(
                f"the checkpoint {weights} is missing or damaged ({type(error).__name__}: {str(error)[:200]}). {remedy}"
            ) from None
        self.history = [row for row in history if row.get("epoch", 0) <= entry["epoch"]]
        self.committed = entry
        return entry["epoch"]

    def _verified(self, entry: dict) -> bool:
        """The entry's file exists and has its recorded SHA-256 (checkpoints written before checksums
        were recorded have none and are taken as they are)."""
        path = self.directory / entry["weights"]
        return path.is_file() and entry.get("sha256") in (None, sha256_file(path))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if not any("loss" in key for key in logs):
            self.empty_epoch = epoch + 1
            self.model.stop_training = True
            return
        if not all(math.isfinite(v) for v in logs.values()):
            return  # a NaN stop: keep the last good checkpoint untouched
        row = {"epoch": epoch + 1, "step": (epoch + 1) * self.steps_per_epoch, **logs,
               "seconds": round(time.perf_counter() - self._epoch_start, 3)}
        history = [*self.history, row]
        self.directory.mkdir(parents=True, exist_ok=True)
        weights = f"epoch_{epoch + 1:04d}.weights.h5"
        # Written to memory first and then to disk in one plain write: a full disk then fails that
        # write cleanly, where h5py writing the file itself would leave it open and half written.
        buffer = _NamedBuffer(weights)
        self.model.save_weights(buffer)
        data = buffer.getvalue()
        _resources.check_disk_space(self.directory, len(data), f"the checkpoint of epoch {epoch + 1}",
                                    self._not_written(epoch + 1))
        entry = {"epoch": epoch + 1, "weights": weights, "sha256": hashlib.sha256(data).hexdigest()}
        try:
            rundir_lib.atomic_write(self.directory / weights, data)
            state = {**entry, "history": history, "saved": rundir_lib.now(), "previous": self.committed}
            rundir_lib.write_json(self.directory / self.STATE, state)
        except BaseException as error:
            if self.committed is None or weights != self.committed["weights"]:
                (self.directory / weights).unlink(missing_ok=True)  # written but never committed
            if is_disk_full(error):
                raise DiskFullError(
                    f"the disk holding {self.directory} is full ({first_line(error)}): {self._not_written(epoch + 1)}"
                ) from None
            raise
        keep = {weights, self.committed["weights"] if self.committed else None}
        self.committed, self.history = entry, history
        for old in self.directory.glob("epoch_*.weights.h5"):
            if old.name not in keep:
                old.unlink()
        self.run.write_history(self.history)

    def kept(self) -> str:
        """What a run that stops now keeps (for error messages)."""
        if self.epoch:
            return f"training stopped and the checkpoint of epoch {self.epoch} in {self.directory} is kept"
        return "training stopped before any epoch was checkpointed"

    def _not_written(self, epoch: int) -> str:
        return f"the checkpoint of epoch {epoch} was not written; {self.kept()}. {DISK_FULL_REMEDY}"

    def empty_error(self, dataset: str) -> EmptyEpochError:
        kept = (f"the checkpoint of epoch {len(self.history)} is kept" if self.history
                else "no model was saved")
        return EmptyEpochError(
            f"epoch {self.empty_epoch} ran no training step: dataset {dataset!r} yielded no batch (for a folder: "
            f"no image could be decoded); {kept}. Check data.name, data.data_dir and data.batch_size, then rerun."
        )


def _checkpoint_entry(value) -> dict:
    """``{"epoch", "weights", "sha256"}`` of a ``state.json`` entry (``sha256`` None when not recorded)."""
    epoch, weights, digest = int(value["epoch"]), str(value["weights"]), value.get("sha256")
    if "/" in weights or weights.startswith(".") or (digest is not None and not isinstance(digest, str)):
        raise ValueError("weights")
    return {"epoch": epoch, "weights": weights, "sha256": digest}


class _NamedBuffer(io.BytesIO):
    """An in-memory file for ``model.save_weights``: h5py writes into it, and Keras checks the name
    ``str()`` gives (it must end in ``.weights.h5``)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __str__(self):
        return self.name


# --------------------------------------------------------------------------- NaN stop


class NonFiniteStop(keras.callbacks.Callback):
    """Stop at the first batch whose logs hold a NaN or inf, remembering which loss and step.

    ``stopped`` is ``None`` or ``(loss_name, global_step, value, epoch)``; steps and epochs count
    from 1 over the whole run (resumed runs included). ``steps_per_epoch=None`` takes the count
    ``fit`` reports (``params["steps"]``). ``fit`` returns normally after the stop; check ``stopped``.
    """

    def __init__(self, steps_per_epoch: int | None = None):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.stopped: tuple[str, int, float, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                steps = self.steps_per_epoch or self.params.get("steps") or 0
                self.stopped = (name, self._epoch * steps + batch + 1, value, self._epoch + 1)
                self.model.stop_training = True
                return

    def error(self, checkpoint_epoch: int, run_path: pathlib.Path) -> NonFiniteLossError:
        name, step, value, epoch = self.stopped
        kept = (
            f"the checkpoint of epoch {checkpoint_epoch} in {run_path / rundir_lib.CHECKPOINT_DIR} is kept"
            if checkpoint_epoch
            else "no epoch had completed, so there is no checkpoint"
        )
        return NonFiniteLossError(
            f"loss {name!r} became {value} at step {step} (epoch {epoch}); training stopped and {kept}. "
            "Check the data, lower optimizer.learning_rate and rerun with --overwrite."
        )


# --------------------------------------------------------------------------- TensorBoard


class SummaryWriter:
    """TensorBoard scalars and images of a run (``tensorboard --logdir RUN/tensorboard`` shows them)."""

    def __init__(self, directory: pathlib.Path):
        self._writer = tf.summary.create_file_writer(str(directory))

    def scalars(self, values: dict, step: int) -> None:
        with self._writer.as_default():
            for tag, value in values.items():
                tf.summary.scalar(tag, float(value), step=step)
        self._writer.flush()

    def image(self, tag: str, picture: np.ndarray, step: int) -> None:
        """``picture``: uint8 ``[H, W, C]``."""
        with self._writer.as_default():
            tf.summary.image(tag, picture[np.newaxis], step=step)
        self._writer.flush()


class LogScalars(keras.callbacks.Callback):
    """Every epoch's losses as TensorBoard scalars (finite values only; a NaN stop is in run.json)."""

    def __init__(self, writer: SummaryWriter):
        super().__init__()
        self.writer = writer

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(v) for k, v in (logs or {}).items()}
        self.writer.scalars({k: v for k, v in values.items() if math.isfinite(v)}, step=epoch + 1)


# --------------------------------------------------------------------------- images


def synthesise(model, z) -> np.ndarray:
    """The model's images (or points) of latents ``z [N, latent_dim]``, as ``generate`` makes them."""
    return np.asarray(keras.ops.convert_to_numpy(model.latents_to_images(z)), dtype=np.float32)


def scatter(point_sets: list[np.ndarray], *, limit: float, centres: np.ndarray | None = None,
            size: int = 320, lines: bool = False) -> np.ndarray:
    """Draw 2-D point sets (each ``[N, 2]``) on a white uint8 ``[size, size, 3]`` canvas over ``[-limit, limit]^2``.

    ``centres`` are drawn as red crosses; ``lines`` joins consecutive points of each set (a path).
    """
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)

    def pixel(p):
        return ((p[0] + limit) / (2 * limit) * (size - 1), (limit - p[1]) / (2 * limit) * (size - 1))

    if centres is not None:
        for c in centres:
            x, y = pixel(c)
            draw.line([(x - 4, y), (x + 4, y)], fill=(220, 30, 30))
            draw.line([(x, y - 4), (x, y + 4)], fill=(220, 30, 30))
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189), (140, 86, 75), (23, 190, 207)]
    for k, points in enumerate(point_sets):
        colour = palette[k % len(palette)]
        coords = [pixel(p) for p in np.asarray(points)]
        if lines and len(coords) > 1:
            draw.line(coords, fill=colour, width=1)
        for x, y in coords:
            draw.ellipse([x - 1, y - 1, x + 1, y + 1], fill=colour)
    return np.asarray(image)


def save_png(array: np.ndarray, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)


class SampleImages(keras.callbacks.Callback):
    """Per-epoch sample grid and interpolation strip from fixed latents, as PNG and TensorBoard images.

    ``epoch_NNNN.png``: ``grid`` samples from latents drawn once from the prior. ``interpolation_NNNN.png``:
    one row per fixed prior sample ``z``, ``steps`` images along the straight line from ``z`` through
    the origin to ``-z`` (``zoo.latent.interpolate(..., through_origin=True)``): the low-norm region
    where Normal and Uniform priors' interpolations degrade and the non-parametric prior's do not. Point sets are drawn as scatter plots
    (interpolation paths as lines) over the data's mixture centres.

    Args: ``directory`` for the PNGs; ``grid`` samples; ``pairs`` interpolation rows of ``steps``
    images; ``seed`` of the fixed latents; ``data_spec`` (``zoo.data.spec(name)``: mixture centres
    drawn on point scatter plots); ``writer``: a :class:`SummaryWriter` for TensorBoard images.
    """

    def __init__(self, directory: pathlib.Path, *, grid: int = 64, pairs: int = 4, steps: int = 9, seed: int = 0,
                 data_spec=None, writer: SummaryWriter | None = None):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.grid, self.pairs, self.steps = grid, pairs, steps
        self.seed = check_seed(seed)
        self.spec = data_spec
        self.writer = writer
        self._z_grid = self._z_pairs = None
        self._limit = None

    def _latents(self):
        from zoo.latent import interpolate

        prior = self.model.prior
        z_grid = prior.sample(self.grid, (GRID_SEED, as_int32(self.seed)))
        starts = prior.sample(self.pairs, (INTERPOLATION_SEED, as_int32(self.seed)))
        paths = interpolate(np.asarray(starts), None, self.steps, method="linear", through_origin=True)
        return np.asarray(z_grid), paths  # [grid, D], [pairs, steps, D]

    def render(self) -> tuple[np.ndarray, np.ndarray]:
        """(grid picture, interpolation picture) as uint8 ``[H, W, C]`` arrays for the current weights."""
        if self._z_grid is None:
            self._z_grid, self._z_pairs = self._latents()
        samples = synthesise(self.model, self._z_grid)
        pairs, steps, dim = self._z_pairs.shape
        path_samples = synthesise(self.model, self._z_pairs.reshape(pairs * steps, dim))
        if samples.ndim == 2:  # 2-D points
            centres = getattr(self.spec, "centres", None)
            # The same window every epoch (around the data when known), so the pictures compare.
            if self._limit is None:
                reach = np.abs(centres).max() if centres is not None else np.abs(samples).max()
                self._limit = 1.5 * float(reach)
            limit = self._limit
            grid = scatter([samples], limit=limit, centres=centres)
            strip = scatter(list(path_samples.reshape(pairs, steps, 2)), limit=limit, centres=centres, lines=True)
            return grid, strip
        columns = max(1, int(math.ceil(math.sqrt(self.grid))))
        return image_grid(samples, columns), image_grid(path_samples, steps)

    def on_epoch_end(self, epoch, logs=None):
        if logs and not all(math.isfinite(float(v)) for v in logs.values()):
            return
        grid, strip = self.render()
        save_png(grid, self.directory / f"epoch_{epoch + 1:04d}.png")
        save_png(strip, self.directory / f"interpolation_{epoch + 1:04d}.png")
        if self.writer is not None:
            self.writer.image("samples", grid, step=epoch + 1)
            self.writer.image("interpolation_through_origin", strip, step=epoch + 1)


# --------------------------------------------------------------------------- EMA


class ApplyEMA(keras.callbacks.Callback):
    """At the end of training, replace the generator weights by their exponential moving average.

    The averages themselves are kept by the generator's optimizer (``use_ema=True``), so they live
    in the checkpoints with the rest of the optimizer state and survive a resume. Without
    arguments it takes the model's sample-making optimizer (:func:`generator_optimizer`: a GAN's
    ``g_optimizer``, a VAE's ``optimizer``) and the variables that optimizer updates; compile with e.g.
    ``g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True)``.
    """

    def __init__(self, optimizer=None, variables=None):
        super().__init__()
        self.optimizer = optimizer
        self.variables = variables

    def on_train_begin(self, logs=None):
        if self.optimizer is None:
            self.optimizer, self.variables = generator_optimizer(self.model)
        if not getattr(self.optimizer, "use_ema", False):
            raise ConfigError(
                f"ApplyEMA needs an optimizer that keeps averages; compile the model with "
                f"{type(self.optimizer).__name__}(..., use_ema=True, ema_momentum=0.999)."
            )

    def on_train_end(self, logs=None):
        if self.optimizer.iterations.numpy() > 0:
            self.optimizer.finalize_variable_values(self.variables)
