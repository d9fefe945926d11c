"""``zoo export``: a trained model (``.keras`` file, run directory or preset) -> TF Serving repository."""

from __future__ import annotations

from pathlib import Path

DEFAULT_BASE = "exports"
MODEL_FILE = "model.keras"  # what `zoo train` leaves in a run directory and a preset holds


def register(subparsers) -> None:
    """Declare ``zoo export``; heavy imports wait for the handler."""
    parser = subparsers.add_parser(
        "export",
        help="export a trained model as a SavedModel that TF Serving serves",
        description=(
            "Write SOURCE as a SavedModel into BASE/NAME/<next version>/ (atomically; an existing version "
            "is never overwritten), with warm-up requests, and refresh BASE/models.config and "
            "BASE/batching_parameters.txt. Signatures: serving_default (z), sample (seed), interpolate "
            "(z0, z1); VAEs add encode, decode, reconstruct."
        ),
    )
    parser.add_argument("source", metavar="MODEL_OR_RUN_OR_PRESET",
                        help="a .keras file, a run directory holding model.keras, or a preset name")
    parser.add_argument("--name", help="model name on the server: BASE/NAME, /v1/models/NAME (default: the run "
                                       "directory's, file's or preset's name)")
    parser.add_argument("--base", default=DEFAULT_BASE, help="repository directory (default: %(default)s)")
    parser.add_argument("--version", type=int, help="version number (default: the next free one; never overwrites)")
    parser.add_argument("--interpolation-steps", type=int, default=8,
                        help="images per path of the interpolate signature, both ends included (default: %(default)s)")
    parser.add_argument("--serving-root", default="/models",
                        help="where BASE is mounted inside the server, for models.config (default: %(default)s)")
    parser.add_argument("--max-batch-size", type=int,
                        help="rewrite batching_parameters.txt with this max_batch_size (default: keep the file, "
                             "or write max_batch_size 64 when there is none)")
    parser.add_argument("--warmup-batch-sizes", default="1",
                        help="comma-separated batch sizes of the warm-up requests (default: %(default)s)")
    parser.set_defaults(func=_run)


def load_source(source: str):
    """The zoo model behind ``source``: a ``.keras`` file, a run directory, or a preset name/directory."""
    from zoo._tf import tf  # noqa: F401 - quiet TensorFlow import before Keras

    import keras

    import zoo.models  # noqa: F401 - registers the zoo classes with Keras deserialisation
    from zoo.errors import ConfigError, DataUnavailableError

    path = Path(source)
    if path.is_dir() and (path / MODEL_FILE).is_file():
        path = path / MODEL_FILE
    if path.is_file():
        if path.suffix != ".keras":
            raise ConfigError(f"{path} is not a .keras file; pass a model saved with model.save('model.keras')")
        try:
            return keras.saving.load_model(path, compile=False)
        except (ValueError, TypeError, OSError) as error:
            raise ConfigError(f"{path} could not be loaded as a zoo model: {error}") from None
    if path.is_dir():
        raise DataUnavailableError(f"{path} holds no {MODEL_FILE}; pass a run directory written by `zoo train`")
    import zoo.presets

    # Not a file or run directory: a shipped preset name (the error lists the known ones).
    return zoo.presets.load(source)


def default_name(source: str) -> str:
    """The model name ``zoo export`` uses without ``--name``: run directory, preset or file name."""
    path = Path(source)
    if path.suffix == ".keras":
        path = path.parent if path.name == MODEL_FILE else path.with_suffix("")
    return path.resolve().name if path.exists() else path.name


def _run(args) -> int:
    from zoo.errors import ConfigError

    from exports import repository, savedmodel

    try:
        warmup_sizes = tuple(int(part) for part in args.warmup_batch_sizes.split(","))
    except ValueError:
        raise ConfigError(f"--warmup-batch-sizes must be comma-separated integers, got {args.warmup_batch_sizes!r}") from None
    name = repository.check_model_name(args.name or default_name(args.source))
    batching = None if args.max_batch_size is None else repository.BatchingParameters(max_batch_size=args.max_batch_size)
    model = load_source(args.source)
    target = savedmodel.export(
        model,
        args.base,
        name,
        version=args.version,
        interpolation_steps=args.interpolation_steps,
        warmup_batch_sizes=warmup_sizes,
        serving_root=args.serving_root,
        batching=batching,
    )
    print(target)
    return 0
