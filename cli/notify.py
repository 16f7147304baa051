"""`ledger notify run|redeliver`: signed webhooks to partners, and their dead letters."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path
from typing import Any

from cli.logs import configure_logging
from cli.metrics_server import serve_metrics
from processors.notify.redeliver import redeliver
from processors.notify.subscriptions import PartnerConfigError, load_subscriptions
from processors.notify.worker import PartnerWorker
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="deliver journal events to partners as signed webhooks; redeliver dead letters",
        description=(
            "Partners subscribe in LEDGER_PARTNERS_CONFIG (see config/partners.example.toml). "
            "Each partner reads the journal with its own consumer group, so a slow or failing "
            "partner delays nobody else; delivery is at least once, identified by event id."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="run the notifier until Ctrl-C or SIGTERM")
    run.set_defaults(handler=_run)
    again = actions.add_parser(
        "redeliver", help="deliver the notifications DLQ again (what fails stays in it)"
    )
    again.add_argument("--partner", help="only this partner's dead letters")
    again.set_defaults(handler=_redeliver)


def partners_configured(settings: Settings) -> bool:
    return Path(settings.partners_config).is_file()


def _subscriptions(settings: Settings) -> list[Any]:
    if not partners_configured(settings):
        return []
    try:
        return load_subscriptions(settings.partners_config, os.environ)
    except PartnerConfigError as error:
        raise SystemExit(f"ledger: error: {settings.partners_config}: {error}") from None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format)
    subscriptions = _subscriptions(settings)
    if not subscriptions:
        print(f"no partner subscriptions in {settings.partners_config}: nothing to notify")
        return 0
    serve_metrics(settings.notify_metrics_port, settings.metrics_host)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    contracts = WireContracts.for_registry(settings.schema_registry_url)
    workers = [PartnerWorker(settings, s, contracts, stop) for s in subscriptions]
    for worker in workers:
        worker.start()
    stop.wait()
    for worker in workers:
        worker.join(60)
    return 0


def _redeliver(args: argparse.Namespace, settings: Settings) -> int:
    contracts = WireContracts.for_registry(settings.schema_registry_url)
    report = redeliver(settings, contracts, _subscriptions(settings), args.partner)
    print(
        f"redelivered {report.delivered}, failed again {report.failed_again} "
        f"(kept in the DLQ), skipped {report.skipped}"
    )
    return 0 if report.failed_again == 0 else 1
