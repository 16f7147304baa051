"""Deleting what a transactional consumer has consumed, as Kafka Streams does with its
repartition topics.

A transfer leg is exactly once because its effect and the consumed offset of its record
commit in one transaction. Legs are exempt from `stale_request` (a stopped partition must not
strand value in @transit), so that offset is their only guard: were the committed offsets ever
lost or reset, an old leg read again would be applied again. Deleting the records below the
committed offsets closes that door: once applied, a leg is gone. The core purges its internal
topic so; the outbox relay purges the copies of other regions' outboxes it has relayed (the
INSTALLs and cross-region legs in them are as exempt as any leg).

Only offsets this session committed are deleted below, at most every `PURGE_INTERVAL_S`
(after commits and while idle), and without waiting: a failed deletion is logged and simply
tried again with the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from settings import Settings

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 10.0


class ConsumedPurger:
    def __init__(
        self, settings: Settings, topics: Collection[str], interval_s: float = PURGE_INTERVAL_S
    ) -> None:
        self.topics = frozenset(topics)
        self.interval_s = interval_s
        self._admin = AdminClient(settings.kafka_config())
        self._purged: dict[tuple[str, int], int] = {}
        self._last = time.monotonic() - interval_s

    def purge(self, positions: Mapping[tuple[str, int], int]) -> None:
        """Called between transactions (after a commit, or idle) with the committed positions
        of every owned input partition; those of other topics are left alone."""
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        due = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in positions.items()
            if topic in self.topics and offset > self._purged.get((topic, partition), 0)
        ]
        if not due:
            return
        try:
            futures = self._admin.delete_records(due, request_timeout=30, operation_timeout=0)
        except KafkaException as error:
            log.warning("could not delete consumed records: %s", error)
            return
        for tp, future in futures.items():
            future.add_done_callback(self._done(tp))

    def _done(self, tp: TopicPartition) -> Callable[[Future[object]], None]:
        def settle(future: Future[object]) -> None:
            error = future.exception()
            if error is not None:
                log.warning("could not delete consumed records of %s: %s", tp, error)
                return
            key = (tp.topic, tp.partition)
            self._purged[key] = max(self._purged.get(key, 0), tp.offset)

        return settle
