"""Reading the journal read_committed with confluent-kafka: for replays, heals and audits.

The Faust mirror follows the journal live; these readers read a bounded stretch of it (from
a start to the end as it is now, or between two offsets) synchronously, in batches per
partition, so the callers can apply or fold them. Aborted transactions are skipped by the
broker (isolation.level=read_committed); the end of a partition is its last stable offset.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from processors.errors import ProcessorError
from processors.headers import header
from schemas.contracts import REPLY_TO_HEADER
from settings import Settings

READ_BATCH_RECORDS = 5_000
READ_POLL_S = 0.2
METADATA_TIMEOUT_S = 30.0


class JournalReadTimeout(ProcessorError):
    """The journal could not be read to the requested end in time."""


@dataclass(frozen=True, slots=True)
class JournalRecord:
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    reply_to: bytes | None = None  # schemas.contracts.REPLY_TO_HEADER


@dataclass
class ReadBatch:
    """Records of one partition in offset order; `position` = next offset after the batch."""

    partition: int
    records: list[JournalRecord] = field(default_factory=list)
    position: int = 0


def _consumer(settings: Settings) -> Consumer:
    return Consumer(
        settings.kafka_config(
            {
                # A throw-away group: these readers assign partitions and never commit.
                "group.id": f"{settings.topic_prefix}journal-reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # The end of a partition is only seen when a fetch comes back empty; do not
                # let the broker hold that fetch open for data that is not coming.
                "fetch.wait.max.ms": 10,
                "queued.max.messages.kbytes": 262144,
            }
        )
    )


def journal_partitions(settings: Settings) -> list[int]:
    consumer = _consumer(settings)
    try:
        topic = settings.topics.events
        metadata = consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        return sorted(metadata.partitions)
    finally:
        consumer.close()


def offsets_for_time(settings: Settings, timestamp_ms: int) -> dict[int, int]:
    """Per partition, the first offset written at or after `timestamp_ms` (end if none)."""
    consumer = _consumer(settings)
    try:
        topic = settings.topics.events
        partitions = journal_partitions(settings)
        found = consumer.offsets_for_times(
            [TopicPartition(topic, p, timestamp_ms) for p in partitions],
            timeout=METADATA_TIMEOUT_S,
        )
        result = {}
        for tp in found:
            if tp.offset < 0:  # no record that late: start at the end
                tp.offset = consumer.get_watermark_offsets(
                    TopicPartition(topic, tp.partition), timeout=METADATA_TIMEOUT_S
                )[1]
            result[tp.partition] = tp.offset
        return result
    finally:
        consumer.close()


def end_offsets(settings: Settings, starts: Mapping[int, int]) -> dict[int, int]:
    """High watermarks: the progress bar's estimate of where each partition ends."""
    consumer = _consumer(settings)
    try:
        return {
            p: consumer.get_watermark_offsets(
                TopicPartition(settings.topics.events, p), timeout=METADATA_TIMEOUT_S, cached=False
            )[1]
            for p in starts
        }
    finally:
        consumer.close()


def read_journal(
    settings: Settings,
    starts: Mapping[int, int],
    stops: Mapping[int, int] | None = None,
    timeout_s: float = 3600.0,
) -> Iterator[ReadBatch]:
    """Batches of committed journal records from `starts` (offset, or -2 = beginning).

    Each partition is read up to its end as it is when reached (end-of-partition), or up to
    `stops[p]` (exclusive) when given. The last batch of every partition may be empty: it
    carries the final `position` (which may lie past transaction markers).

    Raises JournalReadTimeout after `timeout_s`, KafkaException on a broker error.
    """
    started = time.monotonic()
    topic = settings.topics.events
    consumer = _consumer(settings)
    remaining = set(starts)
    try:
        consumer.assign(
            [TopicPartition(topic, p, o if o >= 0 else OFFSET_BEGINNING) for p, o in starts.items()]
        )
        positions = dict(starts)
        while remaining:
            if time.monotonic() - started > timeout_s:
                raise JournalReadTimeout(f"{topic} {sorted(remaining)} not read in {timeout_s} s")
            batches: dict[int, ReadBatch] = {}
            finished: list[int] = []
            for message in consumer.consume(READ_BATCH_RECORDS, timeout=READ_POLL_S):
                partition = message.partition() or 0
                if partition not in remaining:
                    continue
                offset = message.offset() or 0
                if _is_end(message):
                    # The end-of-partition offset is the stable end, past any markers.
                    positions[partition] = max(positions[partition], offset)
                    finished.append(partition)
                    continue
                if stops is not None and offset >= stops[partition]:
                    positions[partition] = stops[partition]
                    finished.append(partition)
                    continue
                batch = batches.setdefault(partition, ReadBatch(partition))
                value = message.value()
                if value is not None:
                    batch.records.append(
                        JournalRecord(
                            partition,
                            offset,
                            message.timestamp()[1],
                            value,
                            header(message, REPLY_TO_HEADER),
                        )
                    )
                positions[partition] = offset + 1
            for partition in set(finished):
                if partition in remaining:
                    remaining.discard(partition)
                    consumer.incremental_unassign([TopicPartition(topic, partition)])
                    batches.setdefault(partition, ReadBatch(partition))
            for partition, batch in batches.items():
                batch.position = positions[partition]
                yield batch
    finally:
        consumer.close()


def _is_end(message: Message) -> bool:
    error = message.error()
    if error is None:
        return False
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    raise KafkaException(error)
