"""Kafka chores of a bench run and of the tests: topics, reading one back, cleaning up."""

from __future__ import annotations

import contextlib
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Message
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from processors.reading import read_to_end as read_committed_to_end
from settings import Settings

ADMIN_TIMEOUT_S = 30.0
READ_IDLE_S = 3.0
READ_TIMEOUT_S = 600.0


def create_topics(admin: AdminClient, names: list[str], partitions: int) -> None:
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=-1) for name in names],
        operation_timeout=ADMIN_TIMEOUT_S,
    )
    for future in futures.values():
        future.result()


def read_to_end(settings: Settings, topic: str, partitions: int) -> list[tuple[bytes, bytes]]:
    """Every committed (key, value) of a topic, up to the end it has now, in partition order."""
    records: list[tuple[bytes, bytes]] = []
    read_committed_to_end(
        settings,
        topic,
        range(partitions),
        lambda _partition, key, value: records.append((key, value or b"")),
        READ_TIMEOUT_S,
    )
    return records


def read_topic(
    settings: Settings,
    topic: str,
    expected: int,
    timeout_s: float = 120.0,
    isolation: str = "read_committed",
) -> list[Message]:
    """Read a topic from the start until `expected` records came and nothing more for a while
    (a topic still being written has no end to read to).

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


def remove_run_data(admin: AdminClient, topic_prefix: str, groups: list[str]) -> None:
    """Delete every topic under the run's prefix and the run's consumer groups (best effort)."""
    names = [
        name
        for name in admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics
        if name.startswith(topic_prefix)
    ]
    if names:
        for future in admin.delete_topics(names, operation_timeout=ADMIN_TIMEOUT_S).values():
            with contextlib.suppress(KafkaException):  # already gone
                future.result()
    if groups:
        for future in admin.delete_consumer_groups(
            groups, request_timeout=ADMIN_TIMEOUT_S
        ).values():
            with contextlib.suppress(KafkaException):  # never created, or already gone
                future.result()
