"""`ledger rebuild-state`: fold the journal into account states and check the changelog."""

from __future__ import annotations

import argparse
import time
from typing import Any

from confluent_kafka.admin import AdminClient

from processors.core.rebuild import compare, fold_journal, read_changelog, write_changelog
from schemas.contracts import WireContracts
from settings import Settings

EXAMPLES_SHOWN = 5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rebuild-state",
        help="rebuild account state from the journal alone and compare it with the changelog",
        description=(
            "Reads the journal (committed events only) from the beginning, folds every "
            "account's events into its state, reads the state changelog, and reports per "
            "partition whether both agree. Exit 0 when identical, 1 otherwise. With --write, "
            "the states folded from the journal are written to the changelog instead (recovery "
            "when the changelog was lost or damaged; stop every `ledger core` first)."
        ),
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="write the journal's states to the changelog (recovery)",
    )
    parser.set_defaults(handler=_rebuild)


def _rebuild(args: argparse.Namespace, settings: Settings) -> int:
    contracts = WireContracts.for_registry(settings.schema_registry_url)
    admin = AdminClient(settings.kafka_config())
    topic = admin.list_topics(settings.topics.events, timeout=30).topics[settings.topics.events]
    partitions = sorted(topic.partitions)
    started = time.monotonic()
    journal = fold_journal(settings, contracts, partitions)
    folded = sum(len(accounts) for accounts in journal.values())
    print(f"journal: {folded} accounts folded in {time.monotonic() - started:.1f} s")
    if args.write:
        written = write_changelog(settings, contracts, journal)
        print(f"changelog: wrote {written} states from the journal")
        return 0
    changelog = read_changelog(settings, contracts, partitions)
    identical = True
    for partition in compare(journal, changelog):
        verdict = "identical" if partition.identical else "DIFFERENT"
        print(
            f"partition {partition.partition}: {partition.from_journal} accounts from the "
            f"journal, {partition.from_changelog} in the changelog: {verdict}"
        )
        for label, keys in (
            ("only in the journal", partition.only_in_journal),
            ("only in the changelog", partition.only_in_changelog),
            ("different", partition.different),
        ):
            if keys:
                shown = ", ".join(k.decode(errors="replace") for k in keys[:EXAMPLES_SHOWN])
                print(f"  {len(keys)} {label}: {shown}")
        identical = identical and partition.identical
    return 0 if identical else 1
