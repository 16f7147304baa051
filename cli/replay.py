"""`ledger replay`: rebuild the Redis read model from the journal, swapped in atomically."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

import redis

from processors.readside.replay import ReplayStart, replay
from schemas.contracts import WireContracts
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="rebuild the Redis read model from the journal (new generation, atomic swap)",
        description=(
            "Reads the journal read_committed up to its end and builds a complete new "
            "generation of the read model beside the live one, then swaps it in with one "
            "Redis SET: readers never see a half-built model. A running `ledger mirror` "
            "carries on in the new generation. Starting anywhere but the beginning builds a "
            "model of the events from there on (balances of the accounts touched since are "
            "exact; totals and history count only those events)."
        ),
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--from-offsets",
        metavar="P:O[,P:O...]",
        help="start partition P at offset O (partitions not named start at the beginning)",
    )
    start.add_argument(
        "--from-time",
        metavar="TIMESTAMP",
        help="start at the first events written at or after this time "
        "(epoch milliseconds or ISO 8601, e.g. 2026-11-25T10:00:00+00:00)",
    )
    parser.set_defaults(handler=_replay)


def parse_timestamp_ms(text: str) -> int:
    """Epoch milliseconds, or an ISO 8601 time (naive means UTC). Raises ValueError."""
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_offsets(text: str) -> dict[int, int]:
    """`0:120,2:5` -> {0: 120, 2: 5}. Raises ValueError."""
    offsets = {}
    for part in text.split(","):
        partition, _, offset = part.partition(":")
        offsets[int(partition)] = int(offset)
    return offsets


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    try:
        start = ReplayStart(
            offsets=parse_offsets(args.from_offsets) if args.from_offsets else None,
            timestamp_ms=parse_timestamp_ms(args.from_time) if args.from_time else None,
        )
    except ValueError as error:
        print(f"ledger replay: error: {error}", file=sys.stderr)
        return 2
    client = redis.Redis.from_url(settings.redis_url)
    report = replay(
        settings,
        client,
        WireContracts.for_registry(settings.schema_registry_url),
        start,
        progress_out=sys.stdout,
    )
    print(
        f"replayed {report.events:,} events in {report.seconds:.1f} s "
        f"({report.rate:,.0f} events/s) into generation {report.generation}"
        + (f", replacing {report.replaced}" if report.replaced else "")
    )
    if report.undecodable:
        print(
            f"{report.undecodable} journal record(s) did not decode and were passed over (see "
            "the log lines `undecodable`; `ledger audit` names them)",
            file=sys.stderr,
        )
        return 1
    return 0
