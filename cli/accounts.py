"""`ledger accounts move PROGRAM ACCOUNT --to REGION`: hand an account over to another region.

Sends a HANDOFF on this region's operator topic (the operator channel: an operator's Kafka
credentials, like ADJUST). Whichever region is the account's home decides it (a request
reaching another region travels home through the outbox); the old home writes the HANDOFF at
epoch e, the new home the INSTALL at epoch e + 1 (ledger/moves.py). The command then waits
until this region's read models show both: the HANDOFF's outcome, and the account at the new
home at the INSTALL's sequence. Run it again with the same --request-id and it answers the
same outcome (the HANDOFF is idempotent like any request).
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from confluent_kafka import Producer

from cli.errors import CliError
from ledger.model import Operation, Request
from processors.produce import produce
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings

POLL_S = 0.2


def register(subparsers: Any) -> None:
    accounts = subparsers.add_parser("accounts", help="accounts across regions")
    actions = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    move = actions.add_parser(
        "move",
        help="move an account to another region (its balances, holds, lots and receipts)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    move.add_argument("program")
    move.add_argument("account_id")
    move.add_argument("--to", required=True, metavar="REGION", help="the new home region")
    move.add_argument("--request-id", help="idempotency key (generated when omitted)")
    move.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the move (default 60)"
    )
    move.set_defaults(handler=_move)


@dataclass(frozen=True)
class MoveOutcome:
    status: str
    reason: str | None
    handoff_sequence: int
    installed_sequence: int | None
    seconds: float


def _move(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.region:
        raise CliError("accounts move needs regions: set LEDGER_REGION and LEDGER_REGIONS")
    if args.to not in settings.region_names:
        raise CliError(f"{args.to!r} is not one of the regions {list(settings.region_names)}")
    request_id = args.request_id or f"move-{uuid.uuid4()}"
    outcome = move_account(
        settings, args.program, args.account_id, args.to, request_id, args.timeout
    )
    if outcome.reason is not None:
        print(f"{args.program}:{args.account_id} not moved: {outcome.status} {outcome.reason}")
        return 1
    print(
        f"{args.program}:{args.account_id} handed over to {args.to} at sequence "
        f"{outcome.handoff_sequence}, installed there at {outcome.installed_sequence} "
        f"({outcome.seconds:.1f} s, request {request_id})"
    )
    return 0


def move_account(
    settings: Settings,
    program: str,
    account_id: str,
    to_region: str,
    request_id: str,
    timeout_s: float,
) -> MoveOutcome:
    """Send the HANDOFF here and wait until this region reads its outcome and, if it applied,
    the account installed at `to_region`. Raises CliError on timeout."""
    started = time.monotonic()
    _send_handoff(settings, program, account_id, to_region, request_id)
    client = redis.Redis.from_url(settings.redis_url)
    models = {
        region: SyncReadModel(
            client,
            (
                settings if region == settings.region else settings.journal_copy(region)
            ).redis_key_prefix,
        )
        for region in settings.region_names
    }
    deadline = started + timeout_s
    handoff = None
    while handoff is None:
        handoff = next(
            (
                found
                for model in models.values()
                if (found := model.request_status(program, account_id, request_id)) is not None
            ),
            None,
        )
        _wait(deadline, f"the outcome of {request_id}")
    if handoff.reason is not None:  # rejected (now, or the first time for a DUPLICATE)
        return MoveOutcome(handoff.status, handoff.reason, handoff.sequence, None, _since(started))
    sequence = handoff.original_sequence or handoff.sequence
    target = models[to_region]
    while True:
        balances = target.balances(program, account_id)
        if balances and balances[0].sequence > sequence:
            return MoveOutcome(
                handoff.status, None, sequence, balances[0].sequence, _since(started)
            )
        _wait(deadline, f"{program}:{account_id} installed in {to_region}")


def _send_handoff(
    settings: Settings, program: str, account_id: str, to_region: str, request_id: str
) -> None:
    key = account_key(program, account_id)
    topic = settings.topics.operator_requests
    request = Request(
        request_id=request_id,
        program=program,
        account_id=account_id,
        operation=Operation.HANDOFF,
        asset="",
        requested_at_ms=time.time_ns() // 1_000_000,
        principal="ledger accounts move",
        to_region=to_region,
    )
    value = WireContracts.for_registry(settings.schema_registry_url).encode_request(request, topic)
    producer = Producer(settings.kafka_config({"enable.idempotence": True}))
    produce(producer, topic, value, key, partition_for(key, settings.partitions))
    if producer.flush(30) != 0:
        raise CliError(f"the HANDOFF could not be written to {topic}")


def _wait(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise CliError(f"timed out waiting for {what}")
    time.sleep(POLL_S)


def _since(started: float) -> float:
    return time.monotonic() - started
