"""A busy account's state stays small: 3 200 accruals of one game coin with 128-character
request ids (what pushed one account's state past 1 MB, and stopped its processor) leave a
state record of a few hundred bytes, and 3 200 receipt records of their own."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from bench.kit.hostile import PROGRAM, WorkItem
from bench.kit.kafka_io import read_topic
from ledger.model import Operation, Request, Status
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

ACCRUALS = 3_200
STATE_BYTES_MAX = 16 * 1024


def test_a_busy_account_keeps_a_small_state_record(topics: Settings, tmp_path: Path) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    contracts = WireContracts.for_registry(None)
    key = account_key(PROGRAM, "busy")
    now = time.time_ns() // 1_000_000
    items = [
        WorkItem(
            key,
            contracts.encode_request(
                Request(
                    request_id=f"{n:06d}".ljust(128, "x"),
                    program=PROGRAM,
                    account_id="busy",
                    operation=Operation.ACCRUE,
                    asset="game_coins",
                    amount=1,
                    requested_at_ms=now,
                    principal="test",
                ),
                settings.topics.requests,
            ),
            partition_for(key, settings.partitions),
            None,
            None,
        )
        for n in range(ACCRUALS)
    ]
    core = LedgerProcess(
        ["core", "--instance-id", "busy", "--status-interval", "0"],
        settings_env(settings),
        tmp_path / "core.log",
    )
    core.start()
    try:
        produce(settings, items)
        events = read_topic(settings, settings.topics.events, ACCRUALS, 120)
        states = read_topic(settings, settings.topics.state_changelog, 1, 30)
        receipts = read_topic(settings, settings.topics.state_receipts, ACCRUALS, 60)
    finally:
        assert core.stop() == 0, core.log()[-3000:]
    decoded = [contracts.decode_event(m.value() or b"") for m in events]
    assert len(decoded) == ACCRUALS and all(e.status is Status.APPLIED for e in decoded)
    last = contracts.decode_state(states[-1].value() or b"")
    assert last.sequence == ACCRUALS and last.balances["game_coins"].available == ACCRUALS
    assert sum(len(lots) for lots in last.lots.values()) == 1  # one lot: no expiry
    largest = max(len(m.value() or b"") for m in states)
    print(f"largest state record of the busy account: {largest} bytes")
    assert largest < STATE_BYTES_MAX
    assert len({m.key() for m in receipts}) == ACCRUALS
