"""`ledger auditor`: the continuous auditor, a Faust worker (processors/readside/app.py)."""

from __future__ import annotations

import argparse
import faulthandler
import signal
from dataclasses import replace
from typing import Any

from cli.logs import configure_logging, dict_config
from cli.metrics_server import serve_metrics
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "auditor",
        help="audit the ledger continuously (every LEDGER_AUDIT_INTERVAL_S)",
        description=(
            "Runs the auditor's Faust worker: every LEDGER_AUDIT_INTERVAL_S it folds the "
            "journal, checks every invariant of the books, the changelog and a sample of "
            "Redis (`ledger audit` once, by hand), stores the report in Redis for the "
            "dashboard and exports it as metrics. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--web-port",
        type=int,
        help="serve Faust's web views on this port (env LEDGER_AUDITOR_WEB_PORT; "
        "default: headless)",
    )
    parser.add_argument("--loglevel", default="info", help="worker log level (default %(default)s)")
    parser.set_defaults(handler=_auditor)


def _auditor(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: Faust is heavy and only this command needs it.
    import faust

    from processors.readside.app import create_app

    settings = replace(settings, auditor_web_port=args.web_port or settings.auditor_web_port)
    configure_logging(settings.log_format)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    serve_metrics(settings.auditor_metrics_port, settings.metrics_host)
    app = create_app(settings, WireContracts.for_registry(settings.schema_registry_url))
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
