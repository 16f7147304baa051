"""Every LAG_SAMPLE_S, a gateway stores how far the mirror and the core are behind, so the
dashboard can draw the last 15 minutes of both whichever gateway process it asks.

Journal -> Redis lag: `JournalLag` (journal end offsets minus the mirror's applied offsets).
Core consumer lag: the end offsets of the core's input topics minus the offsets its group
committed (in its transactions, so exactly what it has applied). Several gateway processes
write the same slot with what each measured; the last one wins, which is as good as any.
A sample that cannot be taken (Kafka or Redis away) is left out: the chart shows a gap, and
the gateway carries on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

import redis.asyncio
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from gateway.dashboard.lag import BROKER_TIMEOUT_S, JournalLag
from readmodel.keys import ACTIVITY_TTL_S, LAG_SAMPLE_S, lag_sample_key
from settings import Settings

log = logging.getLogger(__name__)


class CoreLag:
    """Requests the core group has not committed yet, over all its input topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = AdminClient(settings.kafka_config())
        self.consumer = Consumer(
            settings.kafka_config({"group.id": f"dashboard-{uuid.uuid4().hex}"})
        )

    def measure(self) -> int:
        """Blocking: run it in a thread."""
        partitions = [
            TopicPartition(topic, p)
            for topic in self.settings.topics.inputs
            for p in range(self.settings.partitions)
        ]
        group = ConsumerGroupTopicPartitions(self.settings.core_group_id, partitions)
        future = self.admin.list_consumer_group_offsets([group], request_timeout=BROKER_TIMEOUT_S)
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in future[self.settings.core_group_id].result().topic_partitions
        }
        lag = 0
        for tp in partitions:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=BROKER_TIMEOUT_S)
            done = committed.get((tp.topic, tp.partition), -1)
            lag += max(0, high - max(done, low))
        return lag

    def close(self) -> None:
        self.consumer.close()


class LagSampler:
    def __init__(
        self, settings: Settings, client: redis.asyncio.Redis, journal_lag: JournalLag
    ) -> None:
        self.prefix = settings.redis_key_prefix
        self.client = client
        self.journal_lag = journal_lag
        self.core_lag = CoreLag(settings)
        self._task: asyncio.Task[None] | None = None
        self._measuring: asyncio.Future[int] | None = None  # a thread: cancelling cannot stop it

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="lag-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._measuring is not None and not self._measuring.done():
            # Its consumer is in use until the broker answers: close it only after.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._measuring, 10)
        self.core_lag.close()

    async def run(self) -> None:
        """Sample once per slot, just after it starts, until cancelled."""
        while True:
            try:
                await self.sample(time.time())
            except (redis.RedisError, KafkaException, OSError) as error:
                log.warning("lag not sampled: %s", error)
            await asyncio.sleep(LAG_SAMPLE_S - time.time() % LAG_SAMPLE_S + 0.1)

    async def sample(self, now_s: float) -> dict[str, int]:
        found: dict[str, int] = {}
        journal = (await self.journal_lag.view()).total_records
        if journal is not None:
            found["journal"] = journal
        try:
            self._measuring = asyncio.ensure_future(asyncio.to_thread(self.core_lag.measure))
            found["core"] = await asyncio.shield(self._measuring)
        except KafkaException as error:
            log.warning("core lag not sampled: %s", error)
        if found:
            key = lag_sample_key(self.prefix, int(now_s) // LAG_SAMPLE_S)
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for name, value in found.items():
                        pipe.hset(key, name, value)
                    pipe.expire(key, ACTIVITY_TTL_S)
                    await pipe.execute()
            except redis.RedisError as error:
                log.warning("lag sample not stored: %s", error)
        return found
