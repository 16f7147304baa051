"""Producing workloads and reading topics back, for tests against the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, Message, Producer

from processors.produce import produce as produce_record
from settings import Settings
from tests.support.workload import WorkItem

READ_IDLE_S = 3.0


def produce(settings: Settings, items: Iterable[WorkItem], rate_per_s: float | None = None) -> int:
    """Produce work items to their topic (the public requests topic by default), optionally
    paced; returns how many."""
    producer = Producer(settings.kafka_config({"linger.ms": 5, "enable.idempotence": True}))
    started = time.monotonic()
    sent = 0
    for item in items:
        produce_record(
            producer, item.topic or settings.topics.requests, item.value, item.key, item.partition
        )
        sent += 1
        if rate_per_s:
            ahead = sent / rate_per_s - (time.monotonic() - started)
            if ahead > 0:
                producer.flush(30)
                time.sleep(ahead)
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0, f"{remaining} records not delivered"
    return sent


def read_topic(
    settings: Settings,
    topic: str,
    expected: int,
    timeout_s: float = 120.0,
    isolation: str = "read_committed",
) -> list[Message]:
    """Read a topic from the start until `expected` records came and nothing more for a while.

    Returns what it read even if fewer (the caller's assertion says what is missing), but
    never stops early while records are still arriving.
    """
    consumer = Consumer(
        settings.kafka_config(
            {
                "group.id": f"reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": "false",
                "isolation.level": isolation,
            }
        )
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout_s
    last_arrival = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
            if batch:
                messages.extend(batch)
                last_arrival = time.monotonic()
            elif len(messages) >= expected and time.monotonic() - last_arrival > READ_IDLE_S:
                break
    finally:
        consumer.close()
    return messages
