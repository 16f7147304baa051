"""Watching a journal's copy in another region: MirrorMaker 2 copying a run's new topics, and
every event's replication lag (decided at home, committed in the copy)."""

from __future__ import annotations

import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer

from bench.errors import BenchError
from processors.produce import produce
from schemas.contracts import WireContracts
from schemas.directory import DirectoryEntry
from settings import Settings

COPYING_TIMEOUT_S = 120.0
LAG_DRAIN_TIMEOUT_S = 60.0
POLL_S = 0.05


def wait_copying(home: Settings, away: Settings, home_name: str) -> None:
    """Until MirrorMaker 2 copies this run's topics (it finds new ones every few seconds): a
    directory entry for an account nobody uses, written at home, read in the other region's
    copy of the directory (created with the journal, found in the same scan)."""
    key = b"acme:rb-warm-up"
    entry = DirectoryEntry(home_name, 1, home_name, 0, _now_ms())
    producer = Producer(home.kafka_config({"enable.idempotence": True}))
    produce(producer, home.topics.directory, entry.encode(), key)
    producer.flush(30)
    copy = f"{home_name}.{away.topics.directory}"
    consumer = Consumer(
        away.kafka_config(
            {
                "group.id": f"{away.topic_prefix}warm-up",
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
    )
    consumer.subscribe([copy])
    deadline = time.monotonic() + COPYING_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.key() == key:
                return
        raise BenchError(f"MirrorMaker 2 did not copy {copy} in {COPYING_TIMEOUT_S:.0f} s")
    finally:
        consumer.close()


class LagCollector(threading.Thread):
    """Reads a journal's copy in another region as it arrives: per event, arrival here minus
    the time it was decided at home."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(name="lag", daemon=True)
        self.settings = settings
        self.topic = topic
        self.contracts = WireContracts.for_registry(None)
        self.lags: list[tuple[int, float]] = []
        """(decided at home, ms until committed in the copy) of every event read."""
        self.count = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        consumer = Consumer(
            self.settings.kafka_config(
                {
                    "group.id": f"{self.settings.topic_prefix}lag-{uuid.uuid4().hex[:6]}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "fetch.wait.max.ms": 10,
                }
            )
        )
        consumer.subscribe([self.topic])
        try:
            while not self._stop_event.is_set():
                for message in consumer.consume(1000, timeout=0.1):
                    arrived_ms = time.time_ns() // 1_000_000
                    error = message.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(str(error))
                    if error is not None or message.value() is None:
                        continue
                    self._take(arrived_ms, message.value() or b"")
        finally:
            consumer.close()

    def _take(self, arrived_ms: int, value: bytes) -> None:
        self.count += 1
        decided_ms = self.contracts.decode_event(value).processed_at_ms
        self.lags.append((decided_ms, float(arrived_ms - decided_ms)))

    def lags_ms(self, since_ms: int = 0, until_ms: int | None = None) -> list[float]:
        """Lags of the events decided in [since_ms, until_ms)."""
        last = until_ms if until_ms is not None else 2**63
        return [lag for decided, lag in list(self.lags) if since_ms <= decided < last]

    def wait_for(self, events: int) -> None:
        deadline = time.monotonic() + LAG_DRAIN_TIMEOUT_S
        while self.count < events and time.monotonic() < deadline:
            time.sleep(POLL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
