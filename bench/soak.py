"""Soak: the ledger under steady load while its processes are killed and Redis restarts.

For `--duration` seconds, a seeded workload is produced at `--rate` requests/s to fresh topics
on the local broker, while `ledger core` and `ledger mirror` run as children against a Redis
server of this run's own (so that restarting it disturbs nobody else). Every `--kill-every`
seconds the core is SIGKILLed and restarted, and half a period later the mirror; once, half
way, Redis is SIGKILLed and restarted (append-only file kept: it loses its last second); and
one request with a 400 KB account id is produced among the others.

Then it waits until the journal holds every outcome and Redis every event, and checks:
- lost: requests without an outcome in the journal (the 400 KB one must be dead-lettered);
- duplicated: an account sequence applied twice;
- the journal's outcomes and final balances against the workload's own model;
- skipped: `ledger audit --all` (every invariant, the changelog, every account and the
  program totals in Redis against the journal's fold) must find nothing.

    .venv/bin/python -m bench.soak --duration 600 --rate 500 --kill-every 60

Needs the local stack (`make setup` or `ledger services up`). Prints figures and exits 1 when
something was lost, duplicated, skipped or wrong; asserts nothing about time.

Long on purpose: `main` is the soak's script, in the order of the steps above.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.kit.kafka_io import read_topic
from bench.kit.model import ModelRequest
from bench.kit.redis_server import RedisServer
from bench.kit.requests import AccountHistory, RequestEncoder
from bench.kit.verify import verify_journal
from bench.kit.workload import ASSET, Workload, generate
from bench.mix import DEFAULT_MIX, Mix
from bench.processes import Child, child_env, ledger_child
from bench.produce import WorkloadProducer
from ledger.model import LedgerEvent, Status
from processors.readside.audit import audit
from processors.readside.journal import journal_partitions, read_journal
from processors.topics import delete_topics, ensure_topics, ledger_topics
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CATCH_UP_TIMEOUT_S = 900.0
IDLE_S = 5.0
BIG_ACCOUNT_BYTES = 400_000


def big_request(settings: Settings, contracts: WireContracts, producer: Producer) -> None:
    sender = AccountHistory("x" * BIG_ACCOUNT_BYTES)
    topic = settings.topics.requests
    encoder = RequestEncoder(contracts, topic, time.time_ns() // 1_000_000, "soak")
    value = encoder.encode(ModelRequest("soak-400kb", sender.name, "ACCRUE", "points", 1))
    producer.produce(topic, value, sender.key(), partition=sender.owner(settings.partitions))
    producer.flush(30)


def read_all(settings: Settings, topic: str, expected: int, timeout_s: float) -> list[bytes]:
    return [m.value() or b"" for m in read_topic(settings, topic, expected, timeout_s)]


def wait_for_redis(settings: Settings, model: SyncReadModel, timeout_s: float) -> float:
    """Until Redis has applied every committed event; returns how long that took."""
    started = time.monotonic()
    last: dict[int, int] = {}
    for batch in read_journal(settings, dict.fromkeys(journal_partitions(settings), -2)):
        if batch.records:
            last[batch.partition] = batch.records[-1].offset
    while True:
        try:
            stored = model.offsets()
            if all(stored.get(p, -1) >= offset for p, offset in last.items()):
                return time.monotonic() - started
        except redis.RedisError:
            pass
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"Redis did not reach the journal's end {last} in {timeout_s} s")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--rate", type=int, default=500, help="requests/s")
    parser.add_argument("--kill-every", type=int, default=60, help="seconds between kills")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    base = Settings.from_env(os.environ)
    prefix = f"soak-{uuid.uuid4().hex[:6]}."
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-soak-"))
    server = RedisServer(run_dir / "redis")
    server.start()
    settings = replace(
        base,
        topic_prefix=prefix,
        redis_url=f"redis://127.0.0.1:{server.port}/0",
        core_group_id=f"{prefix}core",
        session_timeout_ms=10_000,
        transaction_timeout_ms=10_000,
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    contracts = WireContracts.for_registry(None)
    requests = args.rate * args.duration
    workload = generate(
        contracts,
        settings.topics.requests,
        settings.partitions,
        requests,
        args.accounts,
        Mix.parse(DEFAULT_MIX),
        args.seed,
    )
    env = child_env(settings)
    core = ledger_child("core", ["core", "--instance-id", "soak-core"], env, run_dir)
    mirror = ledger_child("mirror", ["mirror", "--instance-id", "soak-mirror"], env, run_dir)
    kills: Counter[str] = Counter()
    print(f"soak {prefix}: {requests:,} requests at {args.rate}/s over {args.accounts:,} accounts")
    print(f"logs in {run_dir}")
    client = redis.Redis(port=server.port)
    code = 1
    try:
        for child in (core, mirror):
            child.start(ROOT)
        producer = WorkloadProducer(settings, settings.topics.requests, workload.records, args.rate)
        producer.start()
        extra = Producer(settings.kafka_config())
        started = time.monotonic()
        big_sent = redis_restarted = False
        period = args.kill_every
        next_core, next_mirror = started + period, started + period * 1.5
        while producer.is_alive():
            now = time.monotonic()
            if now >= next_core:
                _kill_and_restart(core, run_dir)
                kills["core"] += 1
                next_core += period
            if now >= next_mirror:
                _kill_and_restart(mirror, run_dir)
                kills["mirror"] += 1
                next_mirror += period
            if not redis_restarted and now - started >= args.duration / 2:
                server.kill()
                server.start()
                redis_restarted = True
                kills["redis"] += 1
            if not big_sent and now - started >= args.duration / 3:
                big_request(settings, contracts, extra)
                big_sent = True
            time.sleep(0.2)
        produced_s = time.monotonic() - started
        if producer.error:
            print(f"producer failed: {producer.error}")
            return 1
        if not big_sent:
            big_request(settings, contracts, extra)
        print(f"produced in {produced_s:.0f} s; kills: {dict(kills)}; waiting for the journal")
        values = read_all(settings, settings.topics.events, requests, CATCH_UP_TIMEOUT_S)
        events = [contracts.decode_event(value) for value in values]
        journal_s = time.monotonic() - started - produced_s
        model = SyncReadModel(client, settings.redis_key_prefix)
        redis_s = wait_for_redis(settings, model, CATCH_UP_TIMEOUT_S)
        code = _report(settings, client, contracts, workload, events, journal_s, redis_s)
        print(f"kills: {dict(kills)}")
    finally:
        for child in (core, mirror):
            child.stop()
        client.close()
        server.kill()
        delete_topics(
            admin, [t for t in admin.list_topics(timeout=30).topics if t.startswith(prefix)]
        )
    return code


def _kill_and_restart(child: Child, run_dir: Path) -> None:
    if child.alive() and child.process is not None:
        child.process.send_signal(signal.SIGKILL)
        child.process.wait(30)
    child.start(ROOT)


def _report(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    workload: Workload,
    events: list[LedgerEvent],
    journal_s: float,
    redis_s: float,
) -> int:
    sent = {record.request_id for record in workload.records}
    seen = {event.request.request_id for event in events}
    lost = len(sent - seen)
    applied = Counter((e.account_id, e.sequence) for e in events if e.status is Status.APPLIED)
    duplicated = sum(1 for count in applied.values() if count > 1)
    verification = verify_journal(
        events,
        workload.model.balances(ASSET),
        workload.expected_outcomes,
    )
    dead = read_all(settings, settings.topics.requests_dlq, 1, 30)
    report = audit(settings, client, contracts, sample=0, wait_behind_s=30)
    print(
        f"journal: {len(events):,} events for {len(sent):,} requests, complete "
        f"{journal_s:.0f} s after the last request was produced; Redis caught up "
        f"{redis_s:.0f} s later"
    )
    print(f"lost {lost}, duplicated {duplicated}, dead letters {len(dead)} (expected 1)")
    outcomes = "verified" if verification.outcomes_verified else "WRONG"
    balances = "verified" if verification.balances_verified else "WRONG"
    print(
        f"against the model: outcomes {outcomes}, balances {balances} "
        f"({verification.accounts_checked:,} accounts) {verification.mismatches or ''}"
    )
    print(
        f"ledger audit --all: {'OK' if report.ok else 'DISCREPANCIES'} ({report.events:,} "
        f"events, {report.accounts_compared:,} accounts compared with Redis, "
        f"{report.changelog_compared:,} with the changelog, totals "
        f"{'compared' if report.totals_compared else 'not compared'})"
    )
    for problem in report.problems[:20]:
        print(f"  - {problem}")
    good = (
        lost == 0
        and duplicated == 0
        and len(dead) == 1
        and verification.outcomes_verified
        and verification.balances_verified
        and report.ok
    )
    print("SOAK OK" if good else "SOAK FAILED")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
