"""``zoo export``: a trained model (``.keras`` file, run directory or preset) -> TF Serving repository."""

from __future__ import annotations

from pathlib import Path

from zoo.latent import MIDPOINT_METHODS

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
            "BASE/batching_parameters.txt. Signatures: serving_default (z), sample (seed), sample_png "
            "(seed; PNG bytes), interpolate (z0, z1); VAEs add encode, decode, reconstruct."
        ),
    )
    parser.add_argument("source", metavar="MODEL_OR_RUN_OR_PRESET", nargs="?",
                        help="a .keras file, a run directory holding model.keras, or a preset name")
    parser.add_argument("--preset", help="a shipped preset name (`zoo presets` lists them); same as SOURCE")
    parser.add_argument("--all-presets", action="store_true",
                        help="export every shipped preset into BASE, each under its preset name: one "
                             "ready model repository (models.config lists them all)")
    parser.add_argument("--name", help="model name on the server: BASE/NAME, /v1/models/NAME (default: the run "
                                       "directory's, file's or preset's name)")
    parser.add_argument("--base", default=DEFAULT_BASE, help="repository directory (default: %(default)s)")
    parser.add_argument("--version", type=int, help="version number (default: the next free one; never overwrites)")
    parser.add_argument("--interpolation-steps", type=int, default=8,
                        help="images per path of the interpolate signature, both ends included (default: %(default)s)")
    parser.add_argument("--interpolation", choices=MIDPOINT_METHODS, default="linear",
                        help="the interpolate signature's path: the straight line, or the line mapped back onto the "
                             "prior so every point is distributed as the prior (uniform, normal, cauchy, "
                             "nonparametric priors; see docs/interpolation.md) (default: %(default)s)")
    parser.add_argument("--serving-root", default="/models",
                        help="where BASE is mounted inside the server, for models.config (default: %(default)s)")
    parser.add_argument("--max-batch-size", type=int,
                        help="most rows one request (or one server-merged batch) may have: the signatures refuse "
                             "more with InvalidArgument, and batching_parameters.txt is rewritten with it "
                             "(default: 1024, and an existing batching file is kept if its max_batch_size "
                             "is not larger)")
    parser.add_argument("--precision", choices=("float32", "float16"), default="float32",
                        help="what the generator/decoder computes in on the server; inputs and outputs stay "
                             "float32/uint8. float16 (for GPU servers) is compared with float32 on 1,000 seeds, "
                             "recorded in assets.extra/zoo_export.json, and refused when a uint8 pixel moves by "
                             "more than 4 levels or an image is not finite (default: %(default)s)")
    parser.add_argument("--warmup-batch-sizes", default="1",
                        help="comma-separated batch sizes of the warm-up requests (default: %(default)s)")
    parser.set_defaults(func=_run)


def load_source(source: str):
    """The zoo model behind ``source``: a ``.keras`` file, a run directory, or a preset name/directory."""
    from zoo.errors import DataUnavailableError
    from zoo.models import load_file

    path = Path(source)
    if path.is_dir() and (path / MODEL_FILE).is_file():
        path = path / MODEL_FILE
    if path.is_file():
        return load_file(path)
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
    sources = _sources(args)
    max_batch_size = savedmodel.DEFAULT_MAX_BATCH_SIZE if args.max_batch_size is None else args.max_batch_size
    batching = None if args.max_batch_size is None else repository.BatchingParameters(max_batch_size=max_batch_size)
    names = [args.name or default_name(source) for source in sources]
    for name in names:  # every argument is checked before the first version is written
        savedmodel.check_arguments(args.base, name, version=args.version, interpolation_steps=args.interpolation_steps,
                                   warmup_batch_sizes=warmup_sizes, serving_root=args.serving_root,
                                   interpolation=args.interpolation, max_batch_size=max_batch_size,
                                   batching=batching, precision=args.precision)
    models = [load_source(source) for source in sources]  # a damaged file is refused before any export
    for source, name, model in zip(sources, names, models):
        if args.all_presets and len(model.element_shape) != 3:
            # The 2-D point GANs are mode-coverage experiments; the exporter serves images only.
            print(f"skipped {source}: it makes 2-D points, not images", flush=True)
            continue
        target = savedmodel.export(
            model,
            args.base,
            name,
            version=args.version,
            interpolation_steps=args.interpolation_steps,
            interpolation=args.interpolation,
            warmup_batch_sizes=warmup_sizes,
            serving_root=args.serving_root,
            batching=batching,
            max_batch_size=max_batch_size,
            precision=args.precision,
        )
        print(target, flush=True)
    return 0


def _sources(args) -> list[str]:
    """What to export: SOURCE, --preset NAME, or every shipped preset (--all-presets); exactly one."""
    from zoo.errors import ConfigError

    given = [bool(args.source), bool(args.preset), args.all_presets]
    if sum(given) != 1:
        raise ConfigError("give exactly one of MODEL_OR_RUN_OR_PRESET, --preset NAME or --all-presets.")
    if args.all_presets:
        if args.name or args.version is not None:
            raise ConfigError("--all-presets names each model after its preset; drop --name and --version.")
        import zoo.presets

        names = list(zoo.presets.presets())
        if not names:
            raise ConfigError("this installation ships no presets to export.")
        return names
    if args.preset:
        import zoo.presets

        zoo.presets.preset_dir(args.preset)  # an unknown name fails here, with suggestions
        return [args.preset]
    return [args.source]
