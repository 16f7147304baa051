"""`ledger rebuild-state`: the journal alone rebuilds the changelog's states, and recovers
a lost changelog well enough for the core to go on where it stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from confluent_kafka.admin import AdminClient

from bench.kit.hostile import PROGRAM, WorkItem, generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from ledger.model import Operation, Request, Status
from processors.topics import delete_topics, ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import ROOT, LedgerProcess, settings_env

TOPIC_GONE_WAIT_S = 30.0


def _rebuild(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "rebuild-state", *args],
        cwd=ROOT,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _recreate_changelog(settings: Settings, admin: AdminClient) -> None:
    changelog = settings.topics.state_changelog
    delete_topics(admin, [changelog])
    deadline = time.monotonic() + TOPIC_GONE_WAIT_S
    while changelog in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, "the changelog topic was not deleted"
        time.sleep(0.2)
    ensure_topics(admin, ledger_topics(settings))


def test_journal_rebuilds_the_changelog_and_recovers_it(
    topics: Settings, admin: AdminClient, tmp_path: Path
) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    contracts = WireContracts.for_registry(None)
    now_ms = time.time_ns() // 10**6
    workload = generate(
        99,
        contracts,
        settings.topics,
        settings.partitions,
        now_ms,
        requests=3_000,
        customers=100,
        receivers=10,
        misrouted=5,
    )
    core = LedgerProcess(
        ["core", "--instance-id", "rebuild-1"], settings_env(settings), tmp_path / "core.log"
    )
    core.start()
    produce(settings, workload.items)
    events = read_topic(settings, settings.topics.events, workload.expected_events)
    assert core.stop() == 0
    decoded = [contracts.decode_event(m.value() or b"") for m in events]
    assert journal_problems(decoded, workload) == []

    healthy = _rebuild(settings)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "DIFFERENT" not in healthy.stdout and healthy.stdout.count("identical") == 3

    _recreate_changelog(settings, admin)
    lost = _rebuild(settings)
    assert lost.returncode == 1 and "only in the journal" in lost.stdout

    recovered = _rebuild(settings, "--write")
    assert recovered.returncode == 0, recovered.stderr
    assert _rebuild(settings).returncode == 0

    # The core restores the recovered state and goes on with the next sequence numbers.
    last = max((e for e in decoded if e.status is Status.APPLIED), key=lambda e: e.sequence)
    key = account_key(PROGRAM, last.account_id)
    follow_up = Request(
        request_id="after-recovery",
        program=PROGRAM,
        account_id=last.account_id,
        operation=Operation.ACCRUE,
        asset="points",
        amount=7,
        requested_at_ms=now_ms,
        principal="test",
    )
    value = contracts.encode_request(follow_up, settings.topics.requests)
    core.start()
    try:
        owner = partition_for(key, settings.partitions)
        produce(settings, [WorkItem(key, value, owner, None, None)])
        after = read_topic(settings, settings.topics.events, len(events) + 1)
    finally:
        assert core.stop() == 0
    tail = [contracts.decode_event(m.value() or b"") for m in after]
    newest = next(e for e in reversed(tail) if e.request.request_id == "after-recovery")
    assert newest.status is Status.APPLIED
    assert newest.sequence == last.sequence + 1
