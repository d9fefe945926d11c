"""``zoo evaluate MODEL_OR_RUN``: the papers' metrics for a saved model, as a table and JSON.

MODEL_OR_RUN is a ``.keras`` file, a run directory holding ``model.keras`` (its ``config.json``
tells the dataset and its data directory), a preset directory or a shipped preset name (its
``card.json`` tells the dataset). ``--dataset``, ``--data-dir`` and ``--data-options`` override what
those say.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

from zoo.metrics.evaluate import BATCH_NORM_PROTOCOLS

MODEL_FILE = "model.keras"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model: modes/%%HQ, digits-FID at prior and mid-points, precision/recall, ...",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL_OR_RUN", nargs="?", help=".keras file, run directory, or preset name/directory")
    parser.add_argument("--metrics", help="comma-separated metric names (default: the dataset kind's); "
                        "see --list-metrics")
    parser.add_argument("--list-metrics", action="store_true", help="list the metrics and exit")
    parser.add_argument("--samples", type=int, default=10_000, help="generated samples per set (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="stateless seed of the prior draws (default 0)")
    parser.add_argument("--dataset", help="zoo.data name the model was trained on (default: from the run/preset)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="the dataset's data: image directory of 'folder', TFDS data_dir of the TFDS sets "
                        "(default: the run's data.data_dir)")
    parser.add_argument("--data-options", type=json.loads, default=None, metavar="JSON",
                        help='dataset options as JSON, e.g. \'{"official_centres": true}\'')
    midpoint = parser.add_mutually_exclusive_group()
    midpoint.add_argument("--midpoint", dest="midpoint", action="store_true", default=None,
                          help="also measure mid-points of prior pairs (default for image datasets)")
    midpoint.add_argument("--no-midpoint", dest="midpoint", action="store_false")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-norm", choices=BATCH_NORM_PROTOCOLS, default="moving",
                        help="generator batch norm: 'moving' statistics (default, as generate samples) or each "
                        "batch's own statistics ('batch': the GDPP authors' evaluation protocol)")
    parser.add_argument("--batch-norm-batch-size", type=int, default=64, metavar="N",
                        help="latents per generator call under --batch-norm batch (default 64, the authors')")
    parser.add_argument("--ndb-bins", default="100", metavar="K[,K...]",
                        help="bins of the ndb metric, e.g. 100,200,300 (default 100)")
    parser.add_argument("--inception-weights", metavar="H5",
                        help="path of the InceptionV3 notop ImageNet weights (default: Keras cache / download)")
    parser.add_argument("--json", metavar="PATH", help="also write the full report as JSON to PATH")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _run_settings(directory: pathlib.Path) -> dict:
    """``evaluate``'s ``dataset``, ``data_dir`` and ``data_options`` recorded next to a model: a run's
    config.json or a preset's card.json (empty when neither is there)."""
    config_file, card_file = directory / "config.json", directory / "card.json"
    if config_file.is_file():
        config = _read_json_object(config_file)
        section = config.get("data", {})
        recorded = {key: section.get(key, config.get(f"data.{key}")) for key in ("name", "data_dir", "options")}
        return {"dataset": recorded["name"], "data_dir": recorded["data_dir"], "data_options": recorded["options"]}
    if card_file.is_file():
        evaluation = _read_json_object(card_file).get("evaluation", {})
        return {key: evaluation.get(key) for key in ("dataset", "data_dir", "data_options")}
    return {}


def _read_json_object(path: pathlib.Path) -> dict:
    from zoo.errors import CorruptFileError

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        value = error
    if not isinstance(value, dict):
        raise CorruptFileError(
            f"{path} is damaged ({value if isinstance(value, Exception) else 'not a JSON object'}); it tells "
            "which dataset the model was trained on: fix it, or pass --dataset (and --data-dir, --data-options)."
        )
    return value


def load_target(target: str):
    """``(model, settings)`` for a .keras file, run/preset directory or preset name; ``settings``: what
    :func:`_run_settings` found (``dataset``, ``data_dir``, ``data_options``; missing keys: unknown)."""
    from zoo.errors import DataUnavailableError
    from zoo.models import load_file

    path = pathlib.Path(target)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise DataUnavailableError(
                f"{path} has no {MODEL_FILE}: a run writes it when training ends; pass a finished run "
                "directory, a .keras file or a preset name."
            )
        path = path / MODEL_FILE
    if path.is_file():
        return load_file(path), _run_settings(path.parent)
    from zoo import presets

    if str(target) in presets.presets():
        return presets.load(target), _run_settings(presets.preset_dir(target))
    raise DataUnavailableError(
        f"{target!r} is neither a .keras file, a run directory nor a shipped preset "
        f"(shipped: {', '.join(presets.presets()) or 'none'})."
    )


def _write_json_atomic(path: pathlib.Path, report: dict) -> None:
    """Write ``report`` to ``path`` atomically; a ``ConfigError`` when ``path`` is not writable."""
    from zoo.errors import ConfigError
    from zoo.files import atomic_write

    try:
        atomic_write(path, json.dumps(report, indent=2, allow_nan=True) + "\n")
    except OSError as error:
        raise ConfigError(
            f"could not write --json {path} ({error}). The metrics are printed above; "
            "pass a --json path in a directory you can write to."
        ) from None


def _check_writable(path: pathlib.Path) -> None:
    from zoo.errors import ConfigError

    existing = path.parent.resolve()
    while not existing.exists():
        existing = existing.parent
    if path.is_dir() or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write --json {path}: {existing} is not a directory you can write to.")


def run(args) -> int:
    from zoo._seeds import check_seed
    from zoo.errors import ConfigError
    from zoo.metrics.evaluate import METRICS, evaluate, format_table

    if args.list_metrics:
        for name, (kinds, description) in METRICS.items():
            print(f"{name:18s} {'/'.join(kinds):22s} {description}")
        return 0
    if not args.model:
        raise ConfigError("give MODEL_OR_RUN: a .keras file, a run directory or a preset name.")
    check_seed(args.seed, "--seed")
    if args.json:
        _check_writable(pathlib.Path(args.json))  # before the metrics take minutes
    model, recorded = load_target(args.model)
    if args.dataset and args.dataset != recorded.get("dataset"):
        recorded = {}  # the recorded directory and options belong to the recorded dataset
    extractor_options = {"inception": {"weights": args.inception_weights}} if args.inception_weights else None
    report = evaluate(
        model,
        args.metrics,
        samples=args.samples,
        seed=args.seed,
        dataset=args.dataset or recorded.get("dataset"),
        data_dir=args.data_dir if args.data_dir is not None else recorded.get("data_dir"),
        data_options=args.data_options if args.data_options is not None else recorded.get("data_options"),
        midpoint=args.midpoint,
        batch_size=args.batch_size,
        batch_norm=args.batch_norm,
        batch_norm_batch_size=args.batch_norm_batch_size,
        extractor_options=extractor_options,
        ndb_bins=args.ndb_bins,
        # A progress bar only helps a person watching; in logs and pipes it is escape-code noise.
        progress=not args.quiet and sys.stdout.isatty(),
    )
    report["source"] = str(args.model)
    print(format_table(report))
    if args.json:
        _write_json_atomic(pathlib.Path(args.json), report)
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
