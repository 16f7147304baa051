"""Lot expiry and hold timeouts fire inside the core's transactions: once each, across a kill."""

from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from bench.kit.hostile import PROGRAM, WorkItem
from bench.kit.kafka_io import read_topic
from ledger.model import LedgerEvent, Operation, Request, Status
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

ACCOUNTS = 30
LIFETIME_MS = 4_000


def _item(settings: Settings, contracts: WireContracts, request: Request) -> WorkItem:
    key = account_key(request.program, request.account_id)
    value = contracts.encode_request(request, settings.topics.requests)
    return WorkItem(key, value, partition_for(key, settings.partitions), None, None)


def _requests(settings: Settings, contracts: WireContracts, now_ms: int) -> list[WorkItem]:
    items = []
    for n in range(ACCOUNTS):
        account = f"t{n:03d}"
        for suffix, operation, asset, amount, expires in (
            ("earn", Operation.ACCRUE, "points", 100, now_ms + LIFETIME_MS),
            ("keep", Operation.ACCRUE, "cashback_usd", 500, None),
            ("hold", Operation.HOLD, "cashback_usd", 200, now_ms + LIFETIME_MS),
        ):
            request = Request(
                request_id=f"{account}-{suffix}",
                program=PROGRAM,
                account_id=account,
                operation=operation,
                asset=asset,
                amount=amount,
                expires_at_ms=expires,
                requested_at_ms=now_ms,
                principal="test",
            )
            items.append(_item(settings, contracts, request))
    return items


def test_expiry_and_hold_timeout_fire_exactly_once(topics: Settings, tmp_path: Path) -> None:
    settings = replace(
        topics, core_group_id=f"{topics.topic_prefix}core", transaction_timeout_ms=5_000
    )
    contracts = WireContracts.for_registry(None)
    core = LedgerProcess(
        ["core", "--instance-id", "timers-1"], settings_env(settings), tmp_path / "core.log"
    )
    core.start()
    try:
        # The lifetimes count from now: take "now" once the core is ready to decide, or a
        # slow start-up would see the expiries already in the past (and reject everything).
        deadline = time.monotonic() + 60
        while "assigned partitions" not in core.log():
            assert time.monotonic() < deadline, core.log()[-2000:]
            time.sleep(0.1)
        now_ms = time.time_ns() // 10**6
        items = _requests(settings, contracts, now_ms)
        produce(settings, items)
        time.sleep(max(0.0, (now_ms + LIFETIME_MS) / 1000 + 2.5 - time.time()))
        core.signal(signal.SIGKILL)  # timers fired; their effects must not fire again
        core.start()
        time.sleep(4)
        expected = len(items) + 2 * ACCOUNTS
        messages = read_topic(settings, settings.topics.events, expected)
    finally:
        core.stop()
    events: list[LedgerEvent] = [contracts.decode_event(m.value() or b"") for m in messages]
    timers = Counter(
        (e.account_id, e.request.operation)
        for e in events
        if e.request.operation in (Operation.EXPIRE, Operation.HOLD_TIMEOUT)
    )
    assert len(events) == expected
    assert all(e.status is Status.APPLIED for e in events)
    assert set(timers.values()) == {1} and len(timers) == 2 * ACCOUNTS
    final = {}
    for event in events:
        for balance in event.balances:
            final[(event.account_id, balance.asset)] = (balance.available, balance.held)
    for n in range(ACCOUNTS):
        assert final[(f"t{n:03d}", "points")] == (0, 0)  # expired
        assert final[(f"t{n:03d}", "cashback_usd")] == (500, 0)  # hold timed out, given back
