"""Batches of the core and the mirror start at their first record, on a real broker."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from processors.batching import take_batch
from processors.topics import TopicSpec, ensure_topics
from settings import Settings

# Far longer than the test may take: a batch that waited for it would fail the join below.
LONG_S = 600.0


def topic_and_consumer(settings: Settings, admin: AdminClient) -> tuple[str, Consumer]:
    topic = f"{settings.topic_prefix}batching"
    ensure_topics(admin, [TopicSpec(topic, 1)])
    consumer = Consumer(
        settings.kafka_config(
            {"group.id": topic, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10}
        )
    )
    consumer.subscribe([topic])
    return topic, consumer


def test_a_record_arriving_at_an_idle_consumer_is_taken_without_waiting_for_the_window(
    settings: Settings, admin: AdminClient
) -> None:
    topic, consumer = topic_and_consumer(settings, admin)
    producer = Producer(settings.kafka_config())
    try:
        assert take_batch(consumer, 1000, gather_s=0.0, idle_wait_s=2.0) == []  # joined
        batches: list[list[Message]] = []
        taker = threading.Thread(
            target=lambda: batches.append(
                take_batch(consumer, 1000, gather_s=0.0, idle_wait_s=LONG_S)
            ),
            daemon=True,
        )
        taker.start()
        time.sleep(0.5)  # the consumer is waiting, idle
        producer.produce(topic, b"first", key=b"k")
        producer.flush(30)
        # consume(1000, timeout=LONG_S) returned only after LONG_S with this one record.
        taker.join(60)
        assert not taker.is_alive(), "the batch waited for its window instead of its record"
        assert [m.value() for m in batches[0]] == [b"first"]
    finally:
        consumer.close()


def test_batches_take_what_is_fetched_up_to_their_size_each_record_once(
    settings: Settings, admin: AdminClient
) -> None:
    topic, consumer = topic_and_consumer(settings, admin)
    producer = Producer(settings.kafka_config())
    for n in range(50):
        producer.produce(topic, str(n).encode(), key=b"k")
    producer.flush(30)
    try:
        taken: list[bytes] = []
        sizes = []
        deadline = time.monotonic() + 60
        while len(taken) < 50 and time.monotonic() < deadline:
            batch = take_batch(consumer, 20, gather_s=0.05, idle_wait_s=1.0)
            sizes.append(len(batch))
            taken.extend(m.value() or b"" for m in batch if m.error() is None)
        assert taken == [str(n).encode() for n in range(50)]
        assert max(sizes) == 20
    finally:
        consumer.close()
