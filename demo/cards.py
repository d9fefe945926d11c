"""A model's card as Markdown: what it was trained on and how, what it measures, the paper's number."""

from __future__ import annotations

import math


def _value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={_value(item)}" for key, item in value.items()) or "none"
    return "none" if value is None else str(value)


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def card_markdown(name: str, card: dict, facts: dict | None = None) -> str:
    """Markdown for ``card`` (a preset card, possibly empty) and ``facts`` (the export as the page runs it)."""
    lines = [f"### {name}", "", card.get("description") or "(no card: an export without a preset)", ""]
    config = card.get("config", {})
    model = config.get("model", {})
    data = config.get("data", {})
    about = [
        ("model", f"{card.get('model', '?')} ({model.get('kind', '?')})"),
        ("data", _value(data.get("name"))),
        ("prior, latent size", f"{_value(model.get('prior'))}, {_value(model.get('latent_dim'))}"),
        ("GDPP weight", _value(model.get("diversity_weight"))),
        ("recipe", f"{_value(card.get('recipe'))}; overrides: {_value(card.get('overrides'))}"
                   + (f" ({card['overrides_reason']})" if card.get("overrides_reason") else "")),
        ("training", f"{_value(card.get('steps'))} steps, seed {_value(card.get('seed'))}, "
                     f"{_value(card.get('wall_time_s'))} s on {_value(card.get('machine'))}"),
        ("command", f"`{card['command']}`" if card.get("command") else "none"),
    ]
    if card:
        lines += _table(("", ""), about)
    metrics, paper = card.get("metrics", {}), card.get("paper", {})
    if metrics:
        settings = card.get("evaluation", {})
        lines += [f"#### Measured ({_value(settings.get('samples'))} samples, seed {_value(settings.get('seed'))}, "
                  f"data {_value(settings.get('dataset'))})", ""]
        rows = []
        for key, value in metrics.items():
            entry = paper.get(key, {})
            rows.append((key, _value(value), _value(entry.get("value")) if entry else "-", entry.get("source", "")))
        lines += _table(("metric", "zoo", "paper", "paper's source"), rows)
    if facts:
        info = facts.get("info", {})
        lines += [f"#### Served {facts['where']}", ""]
        lines += _table(("", ""), [
            ("latent size", _value(facts["latent_dim"])),
            ("image", " x ".join(str(d) for d in facts["image_shape"])),
            ("most images per request", _value(facts["max_batch_size"]) if facts["max_batch_size"] else
             "set by the server"),
            ("signatures", _value(facts["signatures"])),
            *((key, _value(info[key])) for key in ("prior", "interpolation", "interpolation_steps", "precision",
                                                   "zoo_version", "tensorflow_version") if key in info),
        ])
    return "\n".join(lines)
