"""Kafka chores of a bench run: its topics, reading a topic to its end, cleaning up."""

from __future__ import annotations

import contextlib
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

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
    consumer = Consumer(
        settings.kafka_config(
            {
                "group.id": f"bench-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        at_end: set[int] = set()
        records: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        idle_since = time.monotonic()
        while len(at_end) < partitions and time.monotonic() < deadline:
            messages = consumer.consume(5_000, timeout=0.5)
            if messages:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > READ_IDLE_S:
                break  # an empty partition may never report its end
            for message in messages:
                error = message.error()
                if error is None:
                    at_end.discard(message.partition() or 0)
                    records.append((message.key() or b"", message.value() or b""))
                elif error.code() == error._PARTITION_EOF:
                    at_end.add(message.partition() or 0)
        return records
    finally:
        consumer.close()


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
