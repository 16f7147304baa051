"""Producing: a record when librdkafka's local queue may be full, and transactional producers.

`Producer.produce` raises BufferError when the local queue is full (the producer has not sent
enough yet, `queue.buffering.max.*`). The remedy is to serve delivery reports with `poll`, which
lets librdkafka send, and to try again. Bounded: a queue that stays full for `wait_s` means the
brokers do not take what is sent, and `ProduceQueueFull` says so instead of spinning for ever.
(The gateway, on an event loop, has its own bounded wait: it must not block the loop.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import KafkaError, Message, Producer

from processors.errors import ProcessorError
from settings import Settings

QUEUE_FULL_WAIT_S = 60.0
INIT_TRANSACTIONS_TIMEOUT_S = 30.0
# A transaction that follows a commit starts while the coordinator still writes the previous
# one's markers; it answers CONCURRENT_TRANSACTIONS and librdkafka asks again after
# retry.backoff.ms, 100 ms by default. Every transaction's first coordinator call waited that:
# `send_offsets_to_transaction` took 100 ms at p50 against 3-6 ms with 1-2 ms (70 records to
# 24 partitions per transaction, one broker). Backoffs still grow exponentially from there up
# to retry.backoff.max.ms (librdkafka >= 2.2), so a slow broker is not flooded.
TRANSACTION_RETRY_BACKOFF_MS = 2
POLL_S = 0.05

Headers = list[tuple[str, str | bytes | None]]


class ProduceQueueFull(ProcessorError):
    """The producer's local queue stayed full: the brokers are not taking records."""


def produce(
    producer: Producer,
    topic: str,
    value: bytes | None,
    key: bytes | None = None,
    partition: int | None = None,
    headers: Headers | None = None,
    wait_s: float = QUEUE_FULL_WAIT_S,
    on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
) -> None:
    """`producer.produce`, waiting (serving delivery reports) while the local queue is full."""
    options: dict[str, object] = {}
    if partition is not None:
        options["partition"] = partition
    if headers:
        options["headers"] = headers
    if on_delivery is not None:
        options["on_delivery"] = on_delivery
    deadline: float | None = None
    while True:
        try:
            producer.produce(topic, value, key, **options)  # type: ignore[arg-type]
            return
        except BufferError:
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + wait_s
            if now >= deadline:
                raise ProduceQueueFull(
                    f"the producer's queue stayed full for {wait_s:.0f} s writing to {topic}"
                ) from None
            producer.poll(POLL_S)


def transactional_producer(
    settings: Settings, transactional_id: str, config: dict[str, str | int | float] | None = None
) -> Producer:
    """A transactional producer, ready: `init_transactions` fences any earlier producer with
    the same id (a process that lost its session or was killed) and finishes or aborts whatever
    transaction that one left open. `config` adds to or overrides the transactional defaults."""
    producer = Producer(
        settings.kafka_config(
            {
                "transactional.id": transactional_id,
                "transaction.timeout.ms": settings.transaction_timeout_ms,
                "enable.idempotence": True,
                "acks": "all",
                "retry.backoff.ms": TRANSACTION_RETRY_BACKOFF_MS,
                **(config or {}),
            }
        )
    )
    producer.init_transactions(INIT_TRANSACTIONS_TIMEOUT_S)
    return producer
