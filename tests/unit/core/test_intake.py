"""A batch's records: owned partitions only, each once, never below the committed position."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, Message

from processors.core.batch import InputRecord
from processors.core.intake import SessionFailed, intake

REQUESTS = "p.requests"


def message(partition: int, offset: int, topic: str = REQUESTS) -> Message:
    return Message(topic=topic, partition=partition, offset=offset, key=b"k", value=b"v")


def taken(records: list[InputRecord]) -> list[tuple[str, int, int]]:
    return [(r.topic, r.partition, r.offset) for r in records]


def test_records_fetched_again_after_a_rebalance_inside_the_batch_come_once() -> None:
    # Partition 0 was revoked and assigned again between two consumer calls of one batch:
    # the consumer went back to the committed offset 10 and delivered 10-11 a second time.
    batch = [message(0, 10), message(0, 11), message(1, 4), message(0, 10), message(0, 11)]
    batch.append(message(0, 12))
    records = intake(batch, {0, 1}, {(REQUESTS, 0): 10, (REQUESTS, 1): 4})
    assert taken(records) == [
        (REQUESTS, 0, 10),
        (REQUESTS, 0, 11),
        (REQUESTS, 1, 4),
        (REQUESTS, 0, 12),
    ]


def test_offsets_below_the_committed_position_are_already_applied() -> None:
    records = intake([message(2, 6), message(2, 7)], {2}, {(REQUESTS, 2): 7})
    assert taken(records) == [(REQUESTS, 2, 7)]


def test_the_same_partition_of_another_topic_is_its_own_sequence() -> None:
    internal = "p.internal-requests"
    batch = [message(0, 3), message(0, 3, internal), message(0, 4, internal)]
    records = intake(batch, {0}, {(REQUESTS, 0): 3, (internal, 0): 0})
    assert taken(records) == [(REQUESTS, 0, 3), (internal, 0, 3), (internal, 0, 4)]


def test_unowned_partitions_and_partitions_without_a_committed_offset() -> None:
    records = intake([message(5, 0), message(3, 0), message(3, 1)], {3}, {})
    assert taken(records) == [(REQUESTS, 3, 0), (REQUESTS, 3, 1)]


def test_a_fatal_consumer_error_ends_the_session_and_others_are_passed_over() -> None:
    eof = Message(topic=REQUESTS, partition=0, error=KafkaError(KafkaError._PARTITION_EOF))
    assert intake([eof, message(0, 0)], {0}, {}) == intake([message(0, 0)], {0}, {})
    fatal = Message(error=KafkaError(KafkaError._FATAL, "fenced", fatal=True))
    with pytest.raises(SessionFailed, match="consumer failed"):
        intake([message(0, 0), fatal], {0}, {})
