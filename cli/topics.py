"""`ledger topics ensure`: create the ledger's topics, refuse a mismatched layout."""

from __future__ import annotations

import argparse
from typing import Any

from confluent_kafka.admin import AdminClient

from processors.topics import ensure_topics, ledger_topics
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("topics", help="create and check the ledger's Kafka topics")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    ensure = actions.add_parser(
        "ensure",
        help="create missing topics; fail if an existing one has another layout",
        description=(
            "Creates requests, events (journal, kept forever), state-changelog (compacted) "
            "and requests.dlq under LEDGER_TOPIC_PREFIX with LEDGER_PARTITIONS partitions."
        ),
    )
    ensure.set_defaults(handler=_ensure)


def _ensure(args: argparse.Namespace, settings: Settings) -> int:
    admin = AdminClient(settings.kafka_config())
    report = ensure_topics(admin, ledger_topics(settings))
    for name in report.created:
        print(f"created  {name}")
    for name in report.existing:
        print(f"ok       {name}")
    return 0
