"""The ``zoo`` command line.

Subcommands are registered by ``register(subparsers)`` functions: the library's own (listed in
``_BUILTIN``) and those other installed packages declare under the ``zoo.commands`` entry-point
group (``training`` adds ``train``, ``exports`` adds ``export``), so the library never imports them.
A ``register`` function only declares arguments; heavy imports happen inside the handler it sets
as ``func``, which keeps ``zoo --help`` fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

from zoo._version import __version__
from zoo.errors import ZooError

# "module:function" of the library's own subcommands.
_BUILTIN: tuple[str, ...] = ("zoo.metrics.command:register", "zoo.presets.command:register")


def _registrars():
    for target in _BUILTIN:
        module_name, attribute = target.split(":")
        yield target, lambda m=module_name, a=attribute: getattr(importlib.import_module(m), a)
    for entry in metadata.entry_points(group="zoo.commands"):
        yield entry.value, entry.load


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Generative models with well-behaved latent spaces: train, evaluate, export, presets.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    seen = set()
    for target, load in _registrars():
        if target in seen:
            continue
        seen.add(target)
        load()(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        result = args.func(args)
    except ZooError as error:
        print(f"zoo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        # Ctrl-C; or SIGTERM where a command turns it into a KeyboardInterrupt carrying its own
        # message and exit status (zoo train: 143).
        print(f"zoo {args.command}: {str(error) or 'interrupted'}", file=sys.stderr)
        return getattr(error, "exit_status", 130)
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
