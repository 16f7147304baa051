"""Producing a record when librdkafka's local queue may be full: one rule, with a bound.

`Producer.produce` raises BufferError when the local queue is full (the producer has not sent
enough yet, `queue.buffering.max.*`). The remedy is to serve delivery reports with `poll`, which
lets librdkafka send, and to try again. Bounded: a queue that stays full for `wait_s` means the
brokers do not take what is sent, and `ProduceQueueFull` says so instead of spinning for ever.
(The gateway, on an event loop, has its own bounded wait: it must not block the loop.)
"""

from __future__ import annotations

import time

from confluent_kafka import Producer

from processors.errors import ProcessorError

QUEUE_FULL_WAIT_S = 60.0
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
) -> None:
    """`producer.produce`, waiting (serving delivery reports) while the local queue is full."""
    options: dict[str, object] = {}
    if partition is not None:
        options["partition"] = partition
    if headers:
        options["headers"] = headers
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
