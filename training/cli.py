"""``zoo train``: train a recipe into a run directory (registered through the zoo.commands entry point)."""

from __future__ import annotations

import argparse

from training.strategy import STRATEGIES

_EPILOG = """examples:
  zoo train --list
  zoo train mnist_gdpp_dcgan_nonparametric --out runs/default
  zoo train ring_gdpp --set train.epochs=5 --set data.batch_size=256
  zoo train my_recipe.json --out runs/mine --strategy mirrored --mixed-precision
  zoo train ring_gan --strategy mirrored --cpu-devices 2      # two replicas on a CPU-only machine
  zoo train ring_gan --jit                                     # XLA (train.deterministic is off by default)

Re-running a command whose run was killed continues from its last completed epoch.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a recipe (zoo train --list) into a run directory",
        description="Train a recipe: samples, checkpoints, loss history, the .keras model and metrics.json "
        "go to the run directory.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", nargs="?", help="a recipe name (see --list) or a path to a recipe .json file")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--keys", action="store_true", help="list every config key --set accepts and exit")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key (JSON value, e.g. train.epochs=3, model.prior=normal); repeatable",
    )
    parser.add_argument("--out", help="run directory (default: runs/RECIPE)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the run in --out (also with a larger train.epochs)")
    mode.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--strategy", default="default", choices=STRATEGIES,
                        help="default: one device; mirrored: all local GPUs; multiworker: machines in TF_CONFIG")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 compute on GPUs (bfloat16 on CPUs), float32 weights")
    parser.add_argument("--jit", action="store_true",
                        help="XLA-compile the train step (refused with train.deterministic=true)")
    parser.add_argument("--cpu-devices", type=int, metavar="N",
                        help="split the CPU into N logical devices, so --strategy mirrored trains N replicas "
                        "on a machine without GPUs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_handle)


def _handle(args) -> int:
    from zoo.errors import ConfigError

    from training import config as config_lib

    if args.list:
        recipes = config_lib.describe_recipes()
        width = max(len(name) for name, _ in recipes)
        for name, description in recipes:
            mark = "  (default)" if name == config_lib.DEFAULT_RECIPE else ""
            print(f"{name:<{width}}  {description}{mark}")
        return 0
    if args.keys:
        flat = config_lib.flatten(config_lib.DEFAULTS)
        for key, field in config_lib.SCHEMA.items():
            extra = f"  {field.help}" if field.help else ""
            print(f"{key:<26} {field.describe():<40} default {flat[key]!r}{extra}")
        return 0
    if not args.recipe:
        raise ConfigError("name a recipe to train (zoo train --list shows them), or pass --list.")
    config = config_lib.resolve(args.recipe, args.overrides)
    out = args.out or f"runs/{config['recipe']}"

    import sys

    from training.run import train

    result = train(
        config, out, resume=args.resume, overwrite=args.overwrite, strategy=args.strategy,
        mixed_precision=args.mixed_precision, jit=args.jit, cpu_devices=args.cpu_devices,
        verbose=0 if args.quiet else "auto",
        command=["zoo", *sys.argv[1:]],
    )
    last = result.history[-1] if result.history else {}
    losses = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("epoch", "step", "seconds"))
    print(f"run {result.path}: {len(result.history)} epochs ({losses}) in {result.seconds:.0f} s"
          + (f", resumed after epoch {result.resumed_from}" if result.resumed_from else ""))
    if result.metrics is not None:
        from zoo.metrics import format_table

        print(f"metrics ({result.path / 'metrics.json'}):")
        print(format_table(result.metrics))
    return 0
