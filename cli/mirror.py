"""`ledger mirror`: run the read side's Faust worker (Redis mirror, self-heal, auditor)."""

from __future__ import annotations

import argparse
import faulthandler
import signal
from dataclasses import replace
from typing import Any

from cli.logs import configure_logging, dict_config
from cli.metrics_server import serve_metrics
from ledger.settings import Settings
from schemas.contracts import WireContracts


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mirror",
        help="mirror the journal into Redis (balances, history, statuses, totals), live",
        description=(
            "Runs one Faust worker of the read side: it follows the journal read_committed, "
            "applies each event to Redis with one Lua script per batch (idempotent, ordered "
            "by account sequence), publishes request outcomes, rebuilds the model by itself "
            "when Redis loses it, and audits continuously. Several workers share the journal's "
            "partitions. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--web-port",
        type=int,
        help="serve Faust's web views on this port (env LEDGER_MIRROR_WEB_PORT; default: headless)",
    )
    parser.add_argument("--loglevel", default="info", help="worker log level (default %(default)s)")
    parser.set_defaults(handler=_mirror)


def _mirror(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: Faust is heavy and only this command needs it.
    import faust

    from processors.readside.app import create_app

    settings = replace(settings, mirror_web_port=args.web_port or settings.mirror_web_port)
    configure_logging(settings.log_format)
    # `kill -USR1 <pid>` prints every thread's stack: what a stuck worker is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    serve_metrics(settings.mirror_metrics_port, settings.metrics_host)
    app, _ = create_app(settings, WireContracts.for_registry(settings.schema_registry_url))
    worker = faust.Worker(
        app,
        loglevel=args.loglevel,
        quiet=True,
        logging_config=dict_config(settings.log_format, args.loglevel.upper()),
    )
    # Returns when the worker stops (SIGTERM/SIGINT are handled by the worker itself).
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0
