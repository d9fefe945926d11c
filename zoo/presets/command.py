"""``zoo presets``: list the shipped presets, or print one preset's card."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list pretrained presets, or show one preset's model card",
        description="List the shipped pretrained presets (one line each), or print a preset's card as JSON.",
    )
    parser.add_argument("name", nargs="?", help="a preset name or preset directory whose card to print")
    parser.set_defaults(func=_run)


def _run(args) -> int:
    from zoo import presets

    if args.name is None:
        available = presets.presets()
        if not available:
            print("No presets are shipped with this installation.")
            return 0
        width = max(map(len, available))
        for name, description in available.items():
            print(f"{name:<{width}}  {description}")
        return 0
    print(json.dumps(presets.card(args.name), indent=2, sort_keys=True))
    return 0
