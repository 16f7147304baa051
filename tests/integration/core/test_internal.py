"""Transfer legs travel on the internal topic, and the core deletes them once applied, so no
offset reset can ever deliver a leg a second time (legs are never stale)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench.kit.hostile import PROGRAM, WorkItem
from bench.kit.kafka_io import read_topic
from ledger.model import Channel, Operation, Request, Status
from processors.purge import PURGE_INTERVAL_S
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

TRANSFERS = 20


def _item(settings: Settings, contracts: WireContracts, request: Request) -> WorkItem:
    key = account_key(request.program, request.account_id)
    value = contracts.encode_request(request, settings.topics.requests)
    return WorkItem(key, value, partition_for(key, settings.partitions), None, None)


def _request(account: str, request_id: str, operation: Operation, **extra: object) -> Request:
    return Request(
        request_id=request_id,
        program=PROGRAM,
        account_id=account,
        operation=operation,
        asset="points",
        amount=10,
        requested_at_ms=time.time_ns() // 1_000_000,
        principal="test",
        **extra,  # type: ignore[arg-type]
    )


def _start_offsets(settings: Settings) -> dict[int, int]:
    topic = settings.topics.internal_requests
    consumer = Consumer(settings.kafka_config({"group.id": f"probe-{uuid.uuid4().hex}"}))
    try:
        return {
            partition: consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10, cached=False
            )[0]
            for partition in range(settings.partitions)
        }
    finally:
        consumer.close()


def test_applied_legs_are_deleted_from_the_internal_topic(topics: Settings, tmp_path: Path) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    contracts = WireContracts.for_registry(None)
    items = []
    for n in range(TRANSFERS):
        payer = f"p{n:03d}"
        items.append(_item(settings, contracts, _request(payer, "earn", Operation.ACCRUE)))
        items.append(
            _item(
                settings,
                contracts,
                _request(payer, "give", Operation.TRANSFER, counterparty_account_id=f"q{n:03d}"),
            )
        )
    core = LedgerProcess(
        ["core", "--instance-id", "legs", "--status-interval", "0"],
        settings_env(settings),
        tmp_path / "core.log",
    )
    core.start()
    try:
        produce(settings, items)
        events = [
            contracts.decode_event(m.value() or b"")
            for m in read_topic(settings, settings.topics.events, 3 * TRANSFERS, 120)
        ]
        legs = [e for e in events if e.request.operation is Operation.TRANSFER_CREDIT]
        assert len(legs) == TRANSFERS
        assert all(e.status is Status.APPLIED and e.channel is Channel.SYSTEM for e in legs)
        deadline = time.monotonic() + 3 * PURGE_INTERVAL_S + 10
        while sum(_start_offsets(settings).values()) < TRANSFERS and time.monotonic() < deadline:
            time.sleep(1)
        # Every leg written is gone; the topic keeps nothing the core has applied.
        assert sum(_start_offsets(settings).values()) >= TRANSFERS
    finally:
        assert core.stop() == 0, core.log()[-3000:]
