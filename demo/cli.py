"""``zoo demo``: the browser page over the zoo's exported models (registered through zoo.commands)."""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
LOOPBACK = ("127.0.0.1", "localhost", "::1")

_EPILOG = """examples:
  zoo demo                                          # every shipped image preset, exported once into the cache
  zoo demo digits_dcgan_nonparametric exports/dcgan # a preset and an export directory
  zoo demo --serving-url http://localhost:8501      # ask a running TF Serving (REST; grpc://host:8500 for gRPC)
  zoo demo --prepare                                # export and measure everything now, then exit

The page binds 127.0.0.1 (this machine only), makes no share link and sends no analytics.
"""


def register(subparsers) -> None:
    """Declare ``zoo demo``; Gradio and TensorFlow are imported by the handler."""
    parser = subparsers.add_parser(
        "demo",
        help="a browser page to sample, interpolate and compare the models (needs the demo extra)",
        description=(
            "Serve a page (Gradio) with tabs Sample, Interpolate, Diversity and Card. By default every shipped "
            "image preset is exported once into the cache and loaded in this process with TensorFlow alone, so "
            "the page calls exactly the signatures TF Serving runs; with --serving-url it asks a running TF "
            'Serving instead. Needs pip install "latent-zoo[demo]".'
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sources", nargs="*", metavar="PRESET_OR_EXPORT",
                        help="preset names, preset directories or export directories (a model's directory or one "
                             "version); with --serving-url, model names on the server (default: every shipped "
                             "image preset)")
    parser.add_argument("--serving-url", metavar="URL",
                        help="a running TF Serving: http://host:8501 (REST) or grpc://host:8500 (gRPC)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to bind (default: %(default)s, this machine only; another address makes the "
                             "page reachable from other machines, without authentication)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="where exports and measurements are kept (default: $XDG_CACHE_HOME/latent-zoo/demo, "
                             "else ~/.cache/latent-zoo/demo)")
    parser.add_argument("--modes-samples", type=int, metavar="N",
                        help="samples per model for the stacked-digit class histograms (default: each card's, "
                             "26,000, so the page reproduces the cards' numbers)")
    parser.add_argument("--prepare", action="store_true",
                        help="export every model and count the stacked-digit classes into the cache, then exit")
    parser.set_defaults(func=_run)


def _check(args) -> None:
    from zoo.errors import ConfigError

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    if args.modes_samples is not None and args.modes_samples < 1:
        raise ConfigError(f"--modes-samples must be a positive integer, got {args.modes_samples}")


def host_warning(host: str) -> str | None:
    """What to tell the person binding ``host``, when it is not this machine's loopback address."""
    if host in LOOPBACK:
        return None
    return (f"binding {host}: the page is reachable from other machines and has no authentication; anyone who "
            "reaches it can make this machine compute. Use --host 127.0.0.1 unless you mean it.")


def _models(args, cache):
    from demo import backends

    if args.serving_url:
        backends.make_client(args.serving_url, "check")  # a bad URL is refused before anything else
        return backends.served_models(args.sources, args.serving_url)
    return backends.local_models(args.sources, cache)


def _greet_server(models, url: str) -> None:
    """Say, before serving, whether the TF Serving at ``url`` answers for the first model."""
    import sys

    from zoo.errors import ZooError

    first = models.get(models.names[0])
    try:
        first.client.status()
    except ZooError as error:
        print(f"zoo demo: warning: {error} The page shows this message until the server answers.",
              file=sys.stderr, flush=True)


def _prepare(models, handlers) -> int:
    from demo import diversity

    for name in models.names:
        facts = models.get(name).facts()
        print(f"{name}: {facts['where']}, images {'x'.join(map(str, facts['image_shape']))}", flush=True)
    for pair in diversity.STACKED:
        _, status = handlers.stacked(pair)
        print(status, flush=True)
        if status.startswith(("Error", "Unexpected")):
            return 1
    return 0


def _run(args) -> int:
    import logging
    import os
    import sys

    from zoo.errors import ConfigError

    # Before Gradio is imported: it reads this at import time.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    _check(args)
    try:
        import gradio  # noqa: F401
    except ImportError as error:
        raise ConfigError(f'zoo demo needs Gradio ({error}); install it with: pip install "latent-zoo[demo]"') from None
    from demo import app
    from demo.cache import Cache

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    cache = Cache(args.cache_dir)
    models = _models(args, cache)
    handlers = app.Handlers(models, cache, modes_samples=args.modes_samples)
    if args.prepare:
        return _prepare(models, handlers)
    where = (f"answered by TF Serving at {args.serving_url}" if args.serving_url else
             "loaded in this process with tf.saved_model.load from exports cached on this machine")
    if args.serving_url:
        _greet_server(models, args.serving_url)
    warning = host_warning(args.host)
    if warning:
        print(f"zoo demo: warning: {warning}", file=sys.stderr, flush=True)
    serve(app.build(handlers, where=where), args.host, args.port)
    return 0


def serve(page, host: str, port: int, *, block: bool = True) -> str:
    """Launch ``page`` on ``host:port`` (no share link, no server-side rendering, no MCP); returns its URL.

    ``block=False`` returns once the server is up (tests); ``page.close()`` stops it.
    """
    from zoo.errors import ConfigError

    page.queue(default_concurrency_limit=1)  # one TensorFlow call at a time; the others wait their turn
    try:
        _, url, _ = page.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
                                ssr_mode=False, mcp_server=False, prevent_thread_lock=not block, quiet=not block)
    except OSError as error:
        raise ConfigError(f"cannot serve on {host}:{port} ({error}); pick another --port or --host") from None
    return url
