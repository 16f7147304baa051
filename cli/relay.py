"""`ledger relay`: a region's outbox relay (processors/regions/relay.py)."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
from typing import Any

from cli.errors import CliError
from cli.logs import configure_logging
from processors.regions.relay import OutboxRelay, relay_group_id
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "relay",
        help="with regions: bring the requests other regions sent home into this region",
        description=(
            "Reads the other regions' outboxes as MirrorMaker 2 copies them here "
            "(read_committed) and writes each request addressed to this region "
            "(LEDGER_REGION) to its input topic, in one transaction per batch with the "
            "consumer positions. Stops cleanly on SIGTERM or Ctrl-C."
        ),
    )
    parser.add_argument(
        "--instance-id",
        help="static group member id and transactional id suffix (default: the host name)",
    )
    parser.add_argument("--loglevel", default="info", help="log level (default %(default)s)")
    parser.set_defaults(handler=_relay)


def _relay(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, logging.getLevelName(args.loglevel.upper()))
    if not settings.other_regions:
        raise CliError("the relay runs in a region: set LEDGER_REGION and LEDGER_REGIONS")
    instance_id = args.instance_id or settings.instance_id or socket.gethostname()
    relay = OutboxRelay(settings, instance_id)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    logging.getLogger("ledger.relay").info(
        "relay %s of region %s following %s as group %s",
        instance_id,
        settings.region,
        ", ".join(relay.sources),
        relay_group_id(settings),
    )
    relay.run(stop)
    return 0
