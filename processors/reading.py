"""Reading a topic to its end, read_committed: the one way the ledger does it.

The end is the last stable offset as the broker reports it now: records of aborted
transactions are skipped and the end-of-partition event comes at the first offset of a
transaction still open. Used to restore state, to rebuild it, and by the benchmarks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from processors.errors import ProcessorError
from settings import Settings

READ_BATCH_RECORDS = 10_000
READ_POLL_S = 0.1

RecordHandler = Callable[[int, bytes, bytes | None], None]


class ReadTimeout(ProcessorError):
    """A topic could not be read to its end in time."""


def read_to_end(
    settings: Settings,
    topic: str,
    partitions: Iterable[int],
    handle: RecordHandler,
    timeout_s: float,
    start_offsets: Mapping[int, int] | None = None,
) -> int:
    """Call `handle(partition, key, value)` for every committed record, then return the count.
    `start_offsets` (partition -> offset) starts there instead of at the beginning.

    The end is the last stable offset: with `read_committed`, records of aborted transactions
    are skipped and the end-of-partition event comes at the first offset of a transaction
    still open. Keyless records are skipped (the ledger never writes one).
    """
    started = time.monotonic()
    consumer = Consumer(
        settings.kafka_config(
            {
                "group.id": f"{settings.core_group_id}-reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # The end of a partition is only known when a fetch comes back empty; do not
                # let the broker hold that fetch open waiting for data that is not coming.
                "fetch.wait.max.ms": 10,
            }
        )
    )
    records = 0
    starts = start_offsets or {}
    try:
        remaining = set()
        for partition in partitions:
            watermarks = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout_s, cached=False
            )
            start = starts.get(partition, OFFSET_BEGINNING)
            if watermarks is None or watermarks[1] > max(watermarks[0], start):
                remaining.add(partition)
        consumer.assign(
            [TopicPartition(topic, p, starts.get(p, OFFSET_BEGINNING)) for p in sorted(remaining)]
        )
        while remaining:
            if time.monotonic() - started > timeout_s:
                raise ReadTimeout(
                    f"{topic} partitions {sorted(remaining)} not read to the end "
                    f"within {timeout_s:.0f} s"
                )
            for message in consumer.consume(READ_BATCH_RECORDS, timeout=READ_POLL_S):
                error = message.error()
                partition = message.partition() or 0
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        remaining.discard(partition)
                        continue
                    raise KafkaException(error)
                key = message.key()
                if key is None:
                    continue
                handle(partition, key, message.value())
                records += 1
    finally:
        consumer.close()
    return records


def watermarks(
    settings: Settings, topic: str, partitions: Iterable[int], timeout_s: float
) -> dict[int, tuple[int, int]]:
    """partition -> (first offset still in the log, high watermark), as the broker says now."""
    consumer = Consumer(
        settings.kafka_config(
            {"group.id": f"{settings.core_group_id}-marks-{uuid.uuid4().hex[:8]}"}
        )
    )
    try:
        found = {}
        for partition in partitions:
            marks = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout_s, cached=False
            )
            if marks is None:
                raise ReadTimeout(f"no watermarks for {topic} [{partition}] within {timeout_s} s")
            found[partition] = (int(marks[0]), int(marks[1]))
        return found
    finally:
        consumer.close()
