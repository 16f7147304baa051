"""Writes journal events straight into the events topic, in committed or aborted transactions.

Events come from the real pure core (`decide`), so they are exactly what `ledger core` would
write; the writer just lets a test choose transaction boundaries, and abort some.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from confluent_kafka import Producer

from ledger.decide import decide
from ledger.model import AccountState, LedgerEvent, Operation, Request
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from settings.programs import load_programs
from tests.support.channels import permitting

PROGRAMS = load_programs(Path(__file__).resolve().parents[3] / "config" / "programs.toml")
PROGRAM = "acme"


def request(
    account: str, operation: str, amount: int, asset: str = "points", **fields: object
) -> Request:
    return Request(
        request_id=str(fields.pop("request_id", uuid.uuid4().hex)),
        program=PROGRAM,
        account_id=account,
        operation=Operation(operation),
        asset=asset,
        amount=amount,
        requested_at_ms=time.time_ns() // 1_000_000,
        reason="goodwill" if operation == "ADJUST" else None,
        **fields,  # type: ignore[arg-type]
    )


class JournalWriter:
    def __init__(self, settings: Settings, contracts: WireContracts) -> None:
        self.settings = settings
        self.contracts = contracts
        self.states: dict[str, AccountState] = {}
        self.producer = Producer(
            settings.kafka_config(
                {
                    "transactional.id": f"{settings.topic_prefix}writer-{uuid.uuid4().hex[:6]}",
                    "linger.ms": 5,
                }
            )
        )
        self.producer.init_transactions(30)
        self.written: list[LedgerEvent] = []

    def decide_all(self, requests: Iterable[Request]) -> list[LedgerEvent]:
        """Decide against the writer's state (committed or not: the caller keeps track)."""
        events = []
        for item in requests:
            decision = decide(
                self.states.get(item.account_id),
                item,
                time.time_ns() // 1_000_000,
                PROGRAMS,
                permitting(item.operation),
            )
            self.states[item.account_id] = decision.state
            events.append(decision.event)
        return events

    def write(
        self,
        events: Iterable[LedgerEvent],
        commit: bool = True,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> list[LedgerEvent]:
        """Produce the events in one transaction (each with `headers`), then commit or abort."""
        topic = self.settings.topics.events
        events = list(events)
        self.producer.begin_transaction()
        for event in events:
            key = account_key(event.program, event.account_id)
            self.producer.produce(
                topic,
                self.contracts.encode_event(event, topic),
                key,
                partition=partition_for(key, self.settings.partitions),
                headers=headers,
            )
        if commit:
            self.producer.commit_transaction(30)
            self.written.extend(events)
        else:
            self.producer.flush(30)
            self.producer.abort_transaction(30)
        return events

    def apply(
        self,
        requests: Iterable[Request],
        commit: bool = True,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> list[LedgerEvent]:
        """Decide and write; an aborted batch's state changes are rolled back too."""
        before = dict(self.states)
        events = self.write(self.decide_all(requests), commit, headers)
        if not commit:
            self.states = before
        return events
