"""Read-side figures on this machine: mirror throughput, replay rate, freshness.

1. Writes a journal of `--events` events (ACCRUE/REDEEM decided by the real pure core, in
   transactions of 1 000) to fresh topics, starts `ledger mirror` on it and times how fast
   Redis catches up (mirror throughput, events/s).
2. Replays the same journal into a fresh generation (replay rate, events/s; extrapolated
   linearly to 1 million events).
3. Runs `ledger core` + the mirror, produces requests at `--rate` req/s for `--seconds`, and
   measures freshness: request produced -> its outcome published by the mirror, which happens
   in the same Lua call that makes the balance visible (p50/p99).

    .venv/bin/python -m bench.micro.readside_mirror --events 200000 --rate 1000 --seconds 20

Needs the local stack (`ledger services up`). Prints figures; asserts none.

Long on purpose: `freshness` paces a load and reads it back within one measurement window.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.processes import child_env, ledger_child
from ledger.decide import decide
from ledger.model import AccountState, Operation, Request
from processors.readside.replay import replay
from processors.topics import delete_topics, ensure_topics, ledger_topics
from readmodel.keys import outcome_channel, parse_outcome
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings
from settings.programs import load_programs

ROOT = Path(__file__).resolve().parents[2]

TRANSACTION_EVENTS = 1_000


def _settings(tag: str) -> Settings:
    import os

    unique = uuid.uuid4().hex[:8]
    return replace(
        Settings.from_env(os.environ),
        topic_prefix=f"bench-{tag}-{unique}.",
        redis_key_prefix=f"bench-{tag}-{unique}:",
        partitions=6,
    )


def write_journal(settings: Settings, contracts: WireContracts, events: int, accounts: int) -> int:
    programs = load_programs(settings.programs_config)
    producer = Producer(
        settings.kafka_config(
            {"transactional.id": f"{settings.topic_prefix}bench", "linger.ms": 20}
        )
    )
    producer.init_transactions(30)
    topic = settings.topics.events
    states: dict[str, AccountState] = {}
    now = time.time_ns() // 1_000_000
    written = 0
    while written < events:
        producer.begin_transaction()
        for n in range(min(TRANSACTION_EVENTS, events - written)):
            account = f"u{(written + n) % accounts}"
            operation = Operation.ACCRUE if (written + n) % 3 else Operation.REDEEM
            request = Request(
                f"r{written + n}", "acme", account, operation, "points", 10, requested_at_ms=now
            )
            decision = decide(states.get(account), request, now, programs)
            states[account] = decision.state
            key = account_key("acme", account)
            producer.produce(
                topic,
                contracts.encode_event(decision.event, topic),
                key,
                partition=partition_for(key, settings.partitions),
            )
            producer.poll(0)
        producer.commit_transaction(60)
        written += min(TRANSACTION_EVENTS, events - written)
    return written


def wait_applied(model: SyncReadModel, settings: Settings, events: int, timeout_s: float) -> float:
    from processors.readside.journal import journal_partitions, read_journal

    last: dict[int, int] = {}
    starts = dict.fromkeys(journal_partitions(settings), -2)
    for batch in read_journal(settings, starts):
        if batch.records:
            last[batch.partition] = batch.records[-1].offset
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stored = model.offsets()
        if all(stored.get(p, -1) >= o for p, o in last.items()):
            return time.monotonic()
        time.sleep(0.02)
    raise TimeoutError("the mirror did not catch up")


def throughput_and_replay(events: int, accounts: int, log_dir: Path) -> None:
    settings = _settings("mirror")
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    client = redis.Redis.from_url(settings.redis_url)
    contracts = WireContracts.for_registry(None)
    try:
        started = time.monotonic()
        write_journal(settings, contracts, events, accounts)
        print(f"journal: {events:,} events written in {time.monotonic() - started:.1f} s")
        # Build the first generation empty is not possible on a full journal: start the
        # mirror with a ready (empty) generation so it mirrors live, through Faust.
        from processors.readside.generation import new_generation_id, swap_in

        swap_in(client, settings.redis_key_prefix, new_generation_id())
        mirror = ledger_child(
            "mirror-throughput", ["mirror", "--loglevel", "warning"], child_env(settings), log_dir
        )
        model = SyncReadModel(client, settings.redis_key_prefix)
        started = time.monotonic()
        mirror.start(ROOT)
        try:
            done = wait_applied(model, settings, events, 600)
        finally:
            mirror.stop()
        seconds = done - started
        print(
            f"mirror throughput: {events:,} events in {seconds:.1f} s = "
            f"{events / seconds:,.0f} events/s (includes worker start-up)"
        )
        report = replay(settings, client, contracts)
        print(
            f"replay: {report.events:,} events in {report.seconds:.1f} s = "
            f"{report.rate:,.0f} events/s; 1 000 000 events extrapolated: "
            f"{1_000_000 / report.rate:.0f} s"
        )
    finally:
        keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=10_000))
        for i in range(0, len(keys), 10_000):
            client.unlink(*keys[i : i + 10_000])
        delete_topics(admin, [t.name for t in ledger_topics(settings)])


def freshness(rate: float, seconds: float, log_dir: Path) -> None:
    settings = _settings("fresh")
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    client = redis.Redis.from_url(settings.redis_url)
    contracts = WireContracts.for_registry(None)
    env = child_env(settings)
    core = ledger_child("core", ["core", "--status-interval", "0"], env, log_dir)
    mirror = ledger_child("mirror", ["mirror", "--loglevel", "warning"], env, log_dir)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(outcome_channel(settings.redis_key_prefix))
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                arrived = time.monotonic()
                outcome = parse_outcome(message["data"])
                if outcome.request_id in sent_at:
                    latencies.append((arrived - sent_at[outcome.request_id]) * 1000)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    core.start(ROOT)
    mirror.start(ROOT)
    try:
        model = SyncReadModel(client, settings.redis_key_prefix)
        while model.generation() is None:
            time.sleep(0.1)
        time.sleep(3)  # both joined their groups
        producer = Producer(
            settings.kafka_config({"linger.ms": 1, "partitioner": "murmur2_random"})
        )
        total = int(rate * seconds)
        started = time.monotonic()
        for n in range(total):
            due = started + n / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            request_id = f"f{n}"
            account = f"u{n % 1000}"
            value = contracts.encode_request(
                Request(
                    request_id,
                    "acme",
                    account,
                    Operation.ACCRUE,
                    "points",
                    1,
                    requested_at_ms=time.time_ns() // 1_000_000,
                ),
                settings.topics.requests,
            )
            sent_at[request_id] = time.monotonic()
            producer.produce(settings.topics.requests, value, account_key("acme", account))
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 30
        while len(latencies) < total and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        listener.join(5)
        mirror.stop()
        core.stop()
        keys = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=10_000))
        if keys:
            client.unlink(*keys)
        delete_topics(admin, [t.name for t in ledger_topics(settings)])
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"freshness at {rate:,.0f} req/s over {seconds:.0f} s: {len(ordered):,}/{total:,} "
        f"outcomes, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms "
        f"(request produced -> balance visible in Redis and outcome published)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="readside-bench-"))
    print(f"logs in {log_dir}")
    throughput_and_replay(args.events, args.accounts, log_dir)
    freshness(args.rate, args.seconds, log_dir)


if __name__ == "__main__":
    main()
