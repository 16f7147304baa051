"""Producing workloads for tests against the real broker (reading back: bench/kit/kafka_io.py)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Producer

from bench.kit.hostile import WorkItem
from processors.produce import produce as produce_record
from settings import Settings

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
