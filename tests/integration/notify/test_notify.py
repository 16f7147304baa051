"""Partner webhooks against the real stack: signed, retried, dead-lettered and redelivered,
independent per partner, and nothing lost when the notifier is killed mid-delivery."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from confluent_kafka import Message

from bench.kit.hostile import PROGRAM, WorkItem
from bench.kit.kafka_io import read_topic
from ledger.model import Operation, Request
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.partner import PartnerStub
from tests.support.processes import ROOT, LedgerProcess, settings_env

EVENTS = 40
WAIT_S = 90.0


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _partners_file(path: Path, stubs: dict[str, tuple[PartnerStub, int, int]]) -> Path:
    lines = []
    for name, (stub, attempts, queue_max) in stubs.items():
        lines += [
            f"[partners.{name}]",
            f'url = "{stub.url}"',
            f'secret_env = "SECRET_{name.upper()}"',
            f'programs = ["{PROGRAM}"]',
            'operations = ["ACCRUE"]',
            'statuses = ["APPLIED"]',
            f"max_attempts = {attempts}",
            "timeout_ms = 5000",
            f"queue_max = {queue_max}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def _requests(settings: Settings) -> list[WorkItem]:
    contracts = WireContracts.for_registry(None)
    now_ms = time.time_ns() // 1_000_000
    items = []
    for n in range(EVENTS):
        account = f"p{n % 7}"
        request = Request(
            request_id=f"earn-{n}",
            program=PROGRAM,
            account_id=account,
            operation=Operation.ACCRUE,
            asset="points",
            amount=10 + n,
            requested_at_ms=now_ms,
            principal="test",
        )
        key = account_key(PROGRAM, account)
        value = contracts.encode_request(request, settings.topics.requests)
        items.append(WorkItem(key, value, partition_for(key, settings.partitions), None, None))
    return items


def test_webhooks_are_signed_retried_independent_and_never_lost(
    topics: Settings, tmp_path: Path
) -> None:
    settings = replace(
        topics,
        core_group_id=f"{topics.topic_prefix}core",
        notify_group_id=f"{topics.topic_prefix}notify",
    )
    broken_healed = False
    steady = PartnerStub(b"s3cret-steady").start()
    flaky = PartnerStub(b"s3cret-flaky", lambda _id, attempt: 503 if attempt < 3 else 200).start()
    broken = PartnerStub(b"s3cret-broken", lambda _id, _a: 200 if broken_healed else 500).start()
    slow = PartnerStub(b"s3cret-slow", delay_s=0.15).start()
    partners = _partners_file(
        tmp_path / "partners.toml",
        {
            "steady": (steady, 3, 100),
            "flaky": (flaky, 5, 100),
            "broken": (broken, 2, 100),
            "slow": (slow, 3, 5),
        },
    )
    env = settings_env(
        settings,
        LEDGER_PARTNERS_CONFIG=str(partners),
        LEDGER_NOTIFY_GROUP_ID=settings.notify_group_id,
        SECRET_STEADY="s3cret-steady",
        SECRET_FLAKY="s3cret-flaky",
        SECRET_BROKEN="s3cret-broken",
        SECRET_SLOW="s3cret-slow",
    )
    core = LedgerProcess(["core", "--instance-id", "notify-core"], env, tmp_path / "core.log")
    notifier = LedgerProcess(["notify", "run"], env, tmp_path / "notify.log")
    core.start()
    notifier.start()
    try:
        produce(settings, _requests(settings))
        _wait(lambda: len(steady.delivered_ids()) == EVENTS, "the steady partner")
        # The slow partner is still busy: it delays nobody else.
        assert len(slow.delivered_ids()) < EVENTS

        notifier.signal(signal.SIGKILL)  # in the middle of the slow partner's deliveries
        notifier.start()
        _wait(lambda: len(slow.delivered_ids()) == EVENTS, "the slow partner after a kill")
        _wait(lambda: len(flaky.delivered_ids()) == EVENTS, "the flaky partner")
        dead = read_topic(settings, settings.topics.notifications_dlq, EVENTS, timeout_s=WAIT_S)
        # Dead letters and offsets commit together: each failure is dead-lettered once, even
        # when the kill lands between the broken partner's last attempt and its commit.
        dead_ids = [_header(m, "ledger.notify.event-id") for m in dead]
        assert len(dead_ids) == len(set(dead_ids)) == EVENTS
        assert broken.delivered_ids() == set()
    finally:
        notifier.stop()
        core.stop()

    assert all(r.signature_ok for s in (steady, flaky, slow) for r in s.received)
    assert {r.attempt for r in flaky.received} == {3}  # two 503s, then accepted
    assert {r.body["request"]["operation"] for r in steady.received} == {"ACCRUE"}
    ids = steady.delivered_ids()
    assert slow.delivered_ids() == ids == flaky.delivered_ids()
    assert set(dead_ids) == ids

    # Still broken: every letter goes back to the DLQ, once. Another partner's run skips
    # them and keeps them. Healed: all delivered, and nothing is left for a later run.
    still_broken = _redeliver(env, "broken", exit_code=1)
    assert f"redelivered 0, failed again {EVENTS} (kept in the DLQ), skipped 0" in still_broken
    not_ours = _redeliver(env, "steady")
    assert f"redelivered 0, failed again 0 (kept in the DLQ), skipped {EVENTS}" in not_ours
    kept = read_topic(settings, settings.topics.notifications_dlq, 3 * EVENTS, timeout_s=WAIT_S)
    assert len(kept) == 3 * EVENTS

    broken_healed = True
    assert f"redelivered {EVENTS}, failed again 0" in _redeliver(env, "broken")
    assert broken.delivered_ids() == ids
    assert "redelivered 0, failed again 0 (kept in the DLQ), skipped 0" in _redeliver(env, "broken")
    for stub in (steady, flaky, broken, slow):
        stub.stop()


def _header(message: Message, name: str) -> str:
    value = dict(message.headers() or [])[name]
    assert isinstance(value, bytes)
    return value.decode()


def _redeliver(env: dict[str, str], partner: str, exit_code: int = 0) -> str:
    """Run `ledger notify redeliver`; it exits 1 when letters failed again."""
    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "notify", "redeliver", "--partner", partner],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == exit_code, run.stdout + run.stderr
    return run.stdout
