"""One request nobody can write an outcome for stops nobody: a request whose account id is
400 KB (an 800 KB record the broker takes) is dead-lettered, and the requests of other
accounts, before and after it, are journaled within seconds by the same processor, which
never restarts (it used to retry that batch for ever, every partition stopped)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from bench.kit.hostile import WorkItem
from bench.kit.kafka_io import read_topic
from bench.kit.model import ModelRequest
from bench.kit.requests import AccountHistory, RequestEncoder
from ledger.model import Status
from schemas.contracts import WireContracts
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

OTHERS = 12


def _item(settings: Settings, contracts: WireContracts, account: str, request_id: str) -> WorkItem:
    now_ms = time.time_ns() // 1_000_000
    encoder = RequestEncoder(contracts, settings.topics.requests, now_ms, "test")
    value = encoder.encode(ModelRequest(request_id, account, "ACCRUE", "points", 10))
    sender = AccountHistory(account)
    return WorkItem(sender.key(), value, sender.owner(settings.partitions), None, None)


def test_a_400_kb_request_is_dead_lettered_and_stops_nobody(
    topics: Settings, tmp_path: Path
) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    contracts = WireContracts.for_registry(None)
    before = [_item(settings, contracts, f"early-{n}", f"e{n}") for n in range(OTHERS)]
    huge = _item(settings, contracts, "x" * 400_000, "huge")
    assert len(huge.value) + len(huge.key or b"") > 800_000
    after = [_item(settings, contracts, f"late-{n}", f"l{n}") for n in range(OTHERS)]
    core = LedgerProcess(
        ["core", "--instance-id", "unwritable", "--status-interval", "0"],
        settings_env(settings),
        tmp_path / "core.log",
    )
    core.start()
    try:
        produce(settings, [*before, huge, *after])
        started = time.monotonic()
        events = [
            contracts.decode_event(m.value() or b"")
            for m in read_topic(settings, settings.topics.events, 2 * OTHERS, 60)
        ]
        journaled_s = time.monotonic() - started
        dead = read_topic(settings, settings.topics.requests_dlq, 1, 30)
    finally:
        assert core.stop() == 0, core.log()[-3000:]
    assert sorted(e.account_id for e in events) == sorted(
        [f"early-{n}" for n in range(OTHERS)] + [f"late-{n}" for n in range(OTHERS)]
    )
    assert all(e.status is Status.APPLIED for e in events)
    (letter,) = dead
    headers = dict(letter.headers() or [])
    assert headers["ledger.dlq.reason"] == b"limit_exceeded"
    print(f"{2 * OTHERS} requests around a 400 KB one journaled in {journaled_s:.1f} s")
    log = core.log()
    assert "session failed" not in log and "Traceback" not in log, log[-3000:]
