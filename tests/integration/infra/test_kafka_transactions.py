"""The local broker really does Kafka transactions: the ground the exactly-once loop stands on."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from ledger.settings import Settings

POLL_TIMEOUT_S = 20.0


def _transactional_producer(settings: Settings) -> Producer:
    producer = Producer(settings.kafka_config({"transactional.id": f"test-{uuid.uuid4().hex}"}))
    producer.init_transactions(30)
    return producer


def _read_all(settings: Settings, topic: str, isolation: str, expected: int) -> list[Message]:
    consumer = Consumer(
        settings.kafka_config(
            {
                "group.id": f"test-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "isolation.level": isolation,
                "enable.auto.commit": "false",
            }
        )
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    try:
        # Read until we have what we expect, then a little more to catch anything extra.
        idle_polls = 0
        while idle_polls < 3:
            batch = consumer.consume(500, timeout=POLL_TIMEOUT_S if len(messages) < expected else 1)
            real = [m for m in batch if m.error() is None]
            messages.extend(real)
            idle_polls = idle_polls + 1 if not real and len(messages) >= expected else 0
            if not batch and len(messages) < expected:
                break
    finally:
        consumer.close()
    return messages


def _values(messages: list[Message]) -> list[bytes]:
    return sorted(m.value() or b"" for m in messages)


def test_committed_transaction_is_visible_and_aborted_one_is_not(topics: Settings) -> None:
    topic = topics.topics.events
    producer = _transactional_producer(topics)

    producer.begin_transaction()
    producer.produce(topic, key=b"acme:alice", value=b"committed")
    producer.commit_transaction(30)

    producer.begin_transaction()
    producer.produce(topic, key=b"acme:alice", value=b"aborted")
    producer.flush(30)  # the aborted record really reaches the log
    producer.abort_transaction(30)

    committed = _read_all(topics, topic, "read_committed", expected=1)
    everything = _read_all(topics, topic, "read_uncommitted", expected=2)

    assert [m.value() for m in committed] == [b"committed"]
    assert _values(everything) == [b"aborted", b"committed"]


def test_consumed_offsets_commit_atomically_with_produced_records(topics: Settings) -> None:
    """The consume -> produce -> send_offsets_to_transaction cycle of ARCHITECTURE.md §4."""
    source, sink = topics.topics.requests, topics.topics.events
    seed = Producer(topics.kafka_config())
    for n in range(10):
        seed.produce(source, key=f"acme:{n}".encode(), value=str(n).encode(), partition=0)
    seed.flush(30)

    group = f"test-{uuid.uuid4().hex}"
    consumer = Consumer(
        topics.kafka_config(
            {
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": "false",
                "isolation.level": "read_committed",
            }
        )
    )
    consumer.assign([TopicPartition(source, 0)])
    producer = _transactional_producer(topics)
    records: list[Message] = []
    while len(records) < 10:
        records.extend(m for m in consumer.consume(10, timeout=POLL_TIMEOUT_S) if not m.error())

    producer.begin_transaction()
    for record in records:
        producer.produce(sink, key=record.key(), value=b"seen " + (record.value() or b""))
    last = records[-1]
    producer.send_offsets_to_transaction(
        [TopicPartition(source, 0, (last.offset() or 0) + 1)],
        consumer.consumer_group_metadata(),
        30,
    )
    producer.commit_transaction(30)
    consumer.close()

    probe = Consumer(topics.kafka_config({"group.id": group}))
    committed = probe.committed([TopicPartition(source, 0)], timeout=30)
    probe.close()
    assert committed[0].offset == 10
    outputs = _read_all(topics, sink, "read_committed", expected=10)
    assert _values(outputs) == sorted(f"seen {n}".encode() for n in range(10))
