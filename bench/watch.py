"""Watching outcomes arrive: committed records of a topic, or outcome messages in Redis.

Both watchers run in threads of the bench process and only note what arrived and when;
anything costly (decoding Avro events, folding them) waits until the run is over, so the
bench takes as little CPU as it can from the processes it measures.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis
from confluent_kafka import Consumer

from bench.errors import BenchError
from bench.kit.workload import BenchRecord
from processors.batching import take_batch
from readmodel.keys import live_pointer, outcome_channel
from settings import Settings

POLL_TIMEOUT_S = 0.1
POLL_RECORDS_MAX = 5_000
SUBSCRIBE_TIMEOUT_S = 10.0
JOIN_TIMEOUT_S = 30.0


class WatchFailed(BenchError):
    """A watcher could not start watching."""


@dataclass(frozen=True, slots=True)
class Arrival:
    key: bytes | None
    value: bytes
    at: float  # monotonic seconds


class TopicCollector(threading.Thread):
    """Reads a topic read_committed from its beginning, keeping every record and its arrival."""

    def __init__(self, settings: Settings, topic: str) -> None:
        super().__init__(name=f"collect-{topic}", daemon=True)
        self.arrivals: list[Arrival] = []
        self.stop_event = threading.Event()
        self.error: str | None = None
        self.consumer = Consumer(
            settings.kafka_config(
                {
                    "group.id": f"bench-reader-{uuid.uuid4().hex}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    # Freshness is measured here: do not let the fetcher wait to fill batches.
                    "fetch.wait.max.ms": 10,
                }
            )
        )
        self.consumer.subscribe([topic])

    @property
    def seen(self) -> int:
        return len(self.arrivals)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                # Not consume(n, timeout): it holds what came until n records or the timeout.
                messages = take_batch(
                    self.consumer, POLL_RECORDS_MAX, gather_s=0.0, idle_wait_s=POLL_TIMEOUT_S
                )
                now = time.monotonic()
                for message in messages:
                    if message.error() is None:
                        self.arrivals.append(Arrival(message.key(), message.value() or b"", now))
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stop_event.set()
        if self.ident is not None:  # started: run() closes the consumer
            self.join(JOIN_TIMEOUT_S)
        else:
            self.consumer.close()


class RedisOutcomeWatcher(threading.Thread):
    """Counts outcome messages on the mirror's pub/sub channel, noting (account, id, time)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="watch-redis-outcomes", daemon=True)
        self.client = redis.Redis.from_url(settings.redis_url)
        self.pubsub = self.client.pubsub()
        self.pubsub.subscribe(outcome_channel(settings.redis_key_prefix))
        # Wait for the confirmation, so no outcome published after this returns is missed.
        confirmation = self.pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
        if not confirmation or confirmation["type"] != "subscribe":
            self.pubsub.close()
            self.client.close()
            raise WatchFailed(f"Redis did not confirm the subscription: {confirmation!r}")
        self.arrivals: list[tuple[str, str, float]] = []
        self.stop_event = threading.Event()
        self.error: str | None = None

    @property
    def seen(self) -> int:
        return len(self.arrivals)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                message = self.pubsub.get_message(timeout=POLL_TIMEOUT_S)
                if message is None or message["type"] != "message":
                    continue
                now = time.monotonic()
                outcome = json.loads(message["data"])
                self.arrivals.append((outcome["account_id"], outcome["request_id"], now))
        except redis.RedisError as error:
            # E.g. Redis cut a subscriber that fell behind (client-output-buffer-limit).
            self.error = f"outcome channel: {error!r}"
        finally:
            self.pubsub.close()
            self.client.close()

    def stop(self) -> None:
        self.stop_event.set()
        if self.ident is not None:  # started
            self.join(JOIN_TIMEOUT_S)


def live_model_exists(settings: Settings) -> bool:
    """Whether the mirror has a live read model (readmodel/keys.py: the `live` pointer)."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return bool(client.exists(live_pointer(settings.redis_key_prefix)))
    finally:
        client.close()


class SendTimes:
    """Matches an outcome to the record it answers, to know when that record was sent.

    A request id can be sent more than once (duplicates, conflicts); an account's outcomes
    come in the order its records were sent, so the n-th outcome for an id answers the n-th
    record that carried it.
    """

    def __init__(self, records: Sequence[BenchRecord], sent_at: Sequence[float]) -> None:
        self.sent_at = sent_at
        self.pending: dict[tuple[str, str], deque[int]] = {}
        for n, record in enumerate(records):
            self.pending.setdefault((record.account, record.request_id), deque()).append(n)

    def latencies_ms(self, outcomes: Iterable[tuple[str, str, float]]) -> list[float]:
        """Milliseconds from send to arrival for each outcome that answers a sent record."""
        latencies = []
        for account, request_id, arrived_at in outcomes:
            queue = self.pending.get((account, request_id))
            if queue:
                latencies.append((arrived_at - self.sent_at[queue.popleft()]) * 1000)
        return latencies


@dataclass(frozen=True)
class Freshness:
    p50_ms: float
    p99_ms: float
    max_ms: float
    measured: int

    @classmethod
    def of(cls, latencies_ms: Sequence[float]) -> Freshness | None:
        if not latencies_ms:
            return None
        ordered = sorted(latencies_ms)
        return cls(
            p50_ms=round(_quantile(ordered, 0.50), 1),
            p99_ms=round(_quantile(ordered, 0.99), 1),
            max_ms=round(ordered[-1], 1),
            measured=len(ordered),
        )


def freshness_report(latencies_ms: Sequence[float]) -> dict[str, float] | None:
    """Freshness as the result file holds it (None when nothing was measured)."""
    freshness = Freshness.of(latencies_ms)
    if freshness is None:
        return None
    return {
        "p50_ms": freshness.p50_ms,
        "p99_ms": freshness.p99_ms,
        "max_ms": freshness.max_ms,
        "measured": freshness.measured,
    }


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile: the smallest value with at least q of the values at or below."""
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]
