"""How soon a core holding millions of accounts on disk serves again after it is restarted.

Seeds `--accounts` account states into the state changelog of fresh topics (as
bench.micro.disk_state does), then runs a real `ledger core` with LEDGER_STATE_DIR while
accrues to random seeded accounts are produced at `--rate`:

1. first start, no store on disk: a cold restore from the changelog;
2. kill -9 while requests flow, then a restart;
3. SIGTERM (a clean stop), then a restart.

For each start it prints the seconds from the process start to the first journal event it
commits (read_committed: an aborted transaction does not count), what the core's log says it
restored, and the core's resident memory once serving.

    .venv/bin/python -m bench.micro.core_restart --accounts 10000000

Needs the local stack (`make setup` or `ledger services up`). Prints figures; asserts none.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.kit.model import ModelRequest
from bench.kit.requests import RequestEncoder
from bench.micro.disk_state import PROGRAM, seed
from bench.processes import Child, child_env, ledger_child
from processors.produce import produce
from processors.topics import delete_topics, ensure_topics, ledger_topics
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for
from settings import Settings

INSTANCE = "bench-restart"
SERVE_TIMEOUT_S = 1_800.0
RESTORED = re.compile(r"restored (\d+) accounts from (\d+) changelog records in ([\d.]+) s")


class Accruals(threading.Thread):
    """Accrues of 1 point to random seeded accounts, `rate` per second, until stopped."""

    def __init__(self, settings: Settings, accounts: int, rate: float) -> None:
        super().__init__(name="accruals", daemon=True)
        self.settings, self.accounts, self.rate = settings, accounts, rate
        self.stopping = threading.Event()
        self.sent = 0
        self.error: str | None = None

    def run(self) -> None:
        try:
            self._produce()
        except Exception as error:  # the bench stops waiting for events that cannot come
            self.error = repr(error)

    def _produce(self) -> None:
        settings = self.settings
        topic = settings.topics.requests
        producer = Producer(settings.kafka_config({"enable.idempotence": True, "acks": "all"}))
        encode = RequestEncoder(
            WireContracts.for_registry(None), topic, time.time_ns() // 10**6, "bench"
        ).encode
        rng = random.Random(7)
        started = time.monotonic()
        while not self.stopping.is_set():
            account = f"m{rng.randrange(self.accounts)}"
            request = ModelRequest(f"restart-{self.sent}", account, "ACCRUE", "points", 1)
            key = account_key(PROGRAM, account)
            produce(producer, topic, encode(request), key, partition_for(key, settings.partitions))
            self.sent += 1
            producer.poll(0)
            ahead = self.sent / self.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        producer.flush(60)


def journal_end(consumer: Consumer, partition: TopicPartition) -> int:
    """The partition's end offset, asking again while the broker settles its leaders (a topic
    created a moment ago answers NOT_LEADER_FOR_PARTITION for a while)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return int(consumer.get_watermark_offsets(partition, 30)[1])
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def first_new_event(settings: Settings, started: float, core: Child, accruals: Accruals) -> float:
    """Seconds from `started` until the journal holds an event decided by the new process.

    Not merely the first event read: a core killed just after asking the broker to commit
    leaves a transaction that the broker completes on its own, whose events appear after the
    restart. So an event counts only if it was processed after the new process started."""
    contracts = WireContracts.for_registry(None)
    started_ms = time.time_ns() // 10**6 - round((time.monotonic() - started) * 1000)
    consumer = Consumer(
        settings.kafka_config(
            {"group.id": f"{settings.topic_prefix}watch", "isolation.level": "read_committed"}
        )
    )
    topic = settings.topics.events
    ends = []
    for partition in range(settings.partitions):
        high = journal_end(consumer, TopicPartition(topic, partition))
        ends.append(TopicPartition(topic, partition, high))
    consumer.assign(ends)
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while time.monotonic() < deadline:
            message = consumer.poll(0.05)
            if message is not None and message.error() is None:
                event = contracts.decode_event(message.value() or b"")
                if event.processed_at_ms >= started_ms:
                    return time.monotonic() - started
            if not core.alive():
                raise SystemExit(f"the core exited:\n{core.log_tail()}")
            if accruals.error is not None:
                raise SystemExit(f"requests could not be produced: {accruals.error}")
        raise SystemExit(f"no journal event within {SERVE_TIMEOUT_S:.0f} s:\n{core.log_tail()}")
    finally:
        consumer.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def restores(core: Child) -> list[tuple[str, str, str]]:
    """(accounts, changelog records, seconds) of each restore in the core's log so far."""
    if not core.log_path.exists():
        return []
    return RESTORED.findall(core.log_path.read_text(errors="replace"))


def start_and_wait(
    label: str, settings: Settings, core: Child, cwd: Path, accruals: Accruals
) -> None:
    before = len(restores(core))
    started = time.monotonic()
    core.start(cwd)
    serving = first_new_event(settings, started, core, accruals)
    restored = restores(core)[before:]
    if not restored:
        raise SystemExit(f"{label}: serving, yet no restore in the log:\n{core.log_tail()}")
    accounts, records, seconds = restored[0]
    print(
        f"{label}: serving again {serving:.1f} s after start; restored {int(accounts):,} "
        f"accounts from {int(records):,} changelog records in {seconds} s; "
        f"RSS {rss_mib(core.pid):,.0f} MiB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--rate", type=float, default=200.0, help="accrues per second")
    parser.add_argument("--run-seconds", type=float, default=10.0, help="between restarts")
    args = parser.parse_args()
    # SIGTERM (a timeout) still stops the core and deletes the topics below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    prefix = f"bench-restart-{uuid.uuid4().hex[:8]}."
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-core-restart-"))
    settings = replace(
        Settings.from_env(os.environ),
        topic_prefix=prefix,
        partitions=args.partitions,
        core_group_id=f"{prefix}core",
        state_dir=str(run_dir / "state"),
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    argv = ["core", "--instance-id", INSTANCE, "--status-interval", "0"]
    core = ledger_child("core", argv, child_env(settings), run_dir)
    cwd = Path(__file__).resolve().parents[2]
    accruals = Accruals(settings, args.accounts, args.rate)
    try:
        seconds = seed(settings, WireContracts.for_registry(None), args.accounts)
        print(f"seeded {args.accounts:,} account states in {seconds:.1f} s", flush=True)
        accruals.start()
        start_and_wait("first start (cold restore)", settings, core, cwd, accruals)
        time.sleep(args.run_seconds)
        os.kill(core.pid, signal.SIGKILL)
        core.process.wait() if core.process else None
        start_and_wait("after kill -9", settings, core, cwd, accruals)
        time.sleep(args.run_seconds)
        core.stop()
        start_and_wait("after a clean stop", settings, core, cwd, accruals)
        print(f"{accruals.sent:,} accrues sent at {args.rate:,.0f}/s", flush=True)
    finally:
        accruals.stopping.set()
        core.stop()
        delete_topics(admin, [spec.name for spec in ledger_topics(settings)])
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
