"""How far the mirror (Redis) is behind the journal, in records, per partition.

lag = journal high watermark - (last offset the mirror applied + 1). The journal is written
transactionally, so every transaction ends with a commit marker that takes an offset and is
never "applied": a caught-up partition that has seen transactions shows about one record of
lag per partition (the marker after the last applied event). The watermarks come from a
confluent-kafka Consumer (`get_watermark_offsets`, blocking, run in a thread) and are cached
for `CACHE_S` so that many dashboards polling at once do not hit the broker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from readmodel.reader import ReadModel
from settings import Settings

CACHE_S = 2.0
BROKER_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class LagView:
    topic: str
    total_records: int | None
    """None when the broker did not answer (see `error`)."""
    by_partition: dict[int, int]
    error: str | None = None


class JournalLag:
    def __init__(self, settings: Settings, read_model: ReadModel) -> None:
        self.topic = settings.topics.events
        self.settings = settings
        self.read_model = read_model
        self._consumer: Consumer | None = None
        self._ends: dict[int, int] = {}
        self._ends_at = -CACHE_S
        self._lock = asyncio.Lock()

    async def view(self) -> LagView:
        try:
            ends = await self._journal_ends()
        except KafkaException as error:
            return LagView(self.topic, None, {}, f"Kafka: {error}")
        applied = await self.read_model.offsets()
        by_partition = {p: max(0, end - (applied.get(p, -1) + 1)) for p, end in ends.items()}
        return LagView(self.topic, sum(by_partition.values()), by_partition)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    async def _journal_ends(self) -> dict[int, int]:
        async with self._lock:
            if time.monotonic() - self._ends_at >= CACHE_S:
                self._ends = await asyncio.to_thread(self._query_ends)
                self._ends_at = time.monotonic()
            return self._ends

    def _query_ends(self) -> dict[int, int]:
        if self._consumer is None:
            self._consumer = Consumer(
                self.settings.kafka_config(
                    {
                        "group.id": f"dashboard-{uuid.uuid4().hex}",
                        "enable.auto.commit": False,
                        "isolation.level": "read_committed",
                    }
                )
            )
        metadata = self._consumer.list_topics(self.topic, timeout=BROKER_TIMEOUT_S)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise KafkaException(f"no topic {self.topic}")
        ends = {}
        for partition in sorted(topic.partitions):
            _, high = self._consumer.get_watermark_offsets(
                TopicPartition(self.topic, partition), timeout=BROKER_TIMEOUT_S
            )
            ends[partition] = int(high)
        return ends
