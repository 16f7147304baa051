"""Deleting what the core has consumed from the internal topic, as Kafka Streams does with its
repartition topics.

A transfer leg is exactly once because its effect and the consumed offset of its record
commit in one transaction. Legs are exempt from `stale_request` (a stopped partition must not
strand value in @transit), so that offset is their only guard: were the core's committed
offsets ever lost or reset, an old leg read again would be applied again. Deleting the records
below the committed offsets closes that door: once applied, a leg is gone.

Only offsets this session committed are deleted below, at most every `PURGE_INTERVAL_S`
(after commits and while idle), and without waiting: a failed deletion is logged and simply
tried again with the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from settings import Settings

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 10.0


class InternalPurger:
    def __init__(self, settings: Settings, interval_s: float = PURGE_INTERVAL_S) -> None:
        self.topic = settings.topics.internal_requests
        self.interval_s = interval_s
        self._admin = AdminClient(settings.kafka_config())
        self._purged: dict[int, int] = {}
        self._last = time.monotonic() - interval_s

    def purge(self, positions: Mapping[tuple[str, int], int]) -> None:
        """Called between transactions (after a commit, or idle) with the committed positions
        of every owned input partition."""
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        due = [
            TopicPartition(self.topic, partition, offset)
            for (topic, partition), offset in positions.items()
            if topic == self.topic and offset > self._purged.get(partition, 0)
        ]
        if not due:
            return
        try:
            futures = self._admin.delete_records(due, request_timeout=30, operation_timeout=0)
        except KafkaException as error:
            log.warning("could not delete consumed legs of %s: %s", self.topic, error)
            return
        for tp, future in futures.items():
            future.add_done_callback(self._done(tp))

    def _done(self, tp: TopicPartition) -> Callable[[Future[object]], None]:
        def settle(future: Future[object]) -> None:
            error = future.exception()
            if error is not None:
                log.warning("could not delete consumed legs of %s: %s", tp, error)
                return
            self._purged[tp.partition] = max(self._purged.get(tp.partition, 0), tp.offset)

        return settle
