"""The one rule for a full producer queue: wait while librdkafka sends, but not for ever."""

from __future__ import annotations

from typing import Any

import pytest

from processors.produce import ProduceQueueFull, produce


class QueueFullFor:
    """Stands in for confluent_kafka.Producer: full for the first `attempts` calls."""

    def __init__(self, attempts: int) -> None:
        self.left = attempts
        self.polls = 0
        self.produced: list[tuple[Any, ...]] = []

    def produce(self, topic: str, value: bytes, key: bytes, **options: Any) -> None:
        if self.left > 0:
            self.left -= 1
            raise BufferError("Local: Queue full")
        self.produced.append((topic, value, key, options))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0


def test_a_full_queue_is_served_then_the_record_goes_out_once() -> None:
    producer = QueueFullFor(3)
    produce(producer, "t", b"v", b"k", partition=2, headers=[("h", b"1")])  # type: ignore[arg-type]
    assert producer.polls == 3
    assert producer.produced == [("t", b"v", b"k", {"partition": 2, "headers": [("h", b"1")]})]


def test_no_partition_means_the_partitioner_decides() -> None:
    producer = QueueFullFor(0)
    produce(producer, "t", b"v", b"k")  # type: ignore[arg-type]
    assert producer.produced == [("t", b"v", b"k", {})]


def test_a_queue_that_stays_full_is_an_error_not_a_spin() -> None:
    producer = QueueFullFor(10**9)
    with pytest.raises(ProduceQueueFull, match="stayed full"):
        produce(producer, "t", b"v", b"k", wait_s=0.2)  # type: ignore[arg-type]
    assert producer.produced == []
