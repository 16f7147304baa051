"""`ledger extension run NAME`: a journal extension as a Faust worker (processors/extensions/)."""

from __future__ import annotations

import argparse
import faulthandler
import signal
from typing import Any

from cli.logs import configure_logging, dict_config
from schemas.contracts import WireContracts
from settings import Settings

EXTENSIONS = ("qualifying_points",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "extension",
        help="run a journal extension (a Faust worker over the journal)",
        description=(
            "qualifying_points: each member's points earned over a rolling 12 months, served "
            "at GET /v1/programs/{p}/accounts/{a}/qualifying-points. `ledger run` starts the "
            "ones LEDGER_EXTENSIONS names."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run one extension until stopped")
    run.add_argument("name", choices=EXTENSIONS)
    run.add_argument("--loglevel", default="info", help="worker log level (default %(default)s)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: Faust is heavy and only this command needs it.
    import faust

    from processors.extensions.qualifying import qualifying_app

    configure_logging(settings.log_format)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    app = qualifying_app(settings, WireContracts.for_registry(settings.schema_registry_url))
    worker = faust.Worker(
        app,
        loglevel=args.loglevel,
        quiet=True,
        logging_config=dict_config(settings.log_format, args.loglevel.upper()),
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0
