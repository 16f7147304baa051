"""The records of one core batch: owned partitions only, each record once, in offset order."""

from __future__ import annotations

import logging
from collections.abc import Container, Mapping

from confluent_kafka import KafkaError, Message

from processors.core.batch import InputRecord
from processors.core.homing import HOPS_HEADER, hops_of
from processors.errors import ProcessorError
from processors.headers import header
from schemas.contracts import REPLY_TO_HEADER, TRACE_HEADER

log = logging.getLogger(__name__)


class SessionFailed(ProcessorError):
    """The session cannot go on; a new one (new producer and consumer) must take over."""


def intake(
    messages: list[Message], owned: Container[int], positions: Mapping[tuple[str, int], int]
) -> list[InputRecord]:
    """The batch's records of `owned` partitions that lie at or after `positions` (the next
    offset to apply of each (topic, partition)), each once.

    A batch is taken in more than one consumer call (processors/batching.py), and a rebalance
    served by a later call rewinds a partition it assigns again to its committed offset: the
    records taken before it then come a second time. An offset below the next expected one of
    its partition is such a repeat, or was applied already, and is dropped. A fatal consumer
    error ends the session; other errors are logged (end-of-partition events silently)."""
    records = []
    expected: dict[tuple[str, int], int] = {}
    for message in messages:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise SessionFailed(f"consumer failed: {error}")
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error: %s", error)
            continue
        partition, offset = message.partition(), message.offset()
        if partition is None or offset is None or partition not in owned:
            continue
        topic = message.topic() or ""
        position = (topic, partition)
        if offset < expected.get(position, positions.get(position, -1)):
            continue
        expected[position] = offset + 1
        records.append(
            InputRecord(
                partition,
                offset,
                message.key(),
                message.value(),
                header(message, TRACE_HEADER),
                topic,
                header(message, REPLY_TO_HEADER),
                hops_of(header(message, HOPS_HEADER)),
            )
        )
    return records
