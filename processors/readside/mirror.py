"""The Redis mirror: a confluent-kafka batch loop from the journal to the read model.

One turn of `MirrorLoop.run_once`:

1. Take up to `mirror_batch_max` committed journal events that are there (read_committed: an
   aborted transaction's events never come; `take_batch`: an idle mirror waits up to
   `mirror_batch_time_max_ms` for the first, never for more).
2. Per partition, decode the events and apply them with one Lua call (script.py): an event
   is applied only when its offset, and an applied event's account sequence, are newer than
   what Redis holds, so a batch applied twice changes nothing; the call also publishes the
   outcomes. Its answer decides what comes next:
   - OK: remember (generation, offset), which vouches for the next batch of the partition
     even when a transaction marker lies between the two;
   - GAP: Redis is behind the batch and nothing vouches for the records in between: heal
     that stretch from the journal (heal.py), then apply the batch;
   - NO_MODEL: Redis has no model (lost, or never built): rebuild it, then apply the batch.
   Any failure (Redis down, out of memory, busy, a heal that timed out) forgets what vouched
   for the partition and tries the same batch again after a pause, for as long as it takes:
   a batch is never skipped, and the backlog waits in Kafka.
3. Only once Redis holds every partition's batch, commit the consumed offsets. They only say
   where to resume; what is applied is decided by the offsets Redis stores with the data.

Static membership (`group.instance.id`, stable across restarts) lets a restarted mirror take
its partitions back at once instead of after a rebalance. Idle turns check that the model
still exists (FLUSHALL, a Redis restart without its data) and rebuild it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from processors.batching import take_batch
from processors.headers import header
from processors.readside import metrics
from processors.readside.decoding import decode_or_report
from processors.readside.generation import live_generation
from processors.readside.heal import heal_stretch, rebuild
from processors.readside.journal import JournalReadTimeout
from processors.readside.writing import applier as new_applier
from readmodel.keys import copy_freshness_key, reply_channel, valid_reply_to
from readmodel.projection import script_argument
from readmodel.writer import ApplyStatus, Batch, Mode
from schemas.contracts import REPLY_TO_HEADER, WireContracts
from settings import Settings

log = logging.getLogger("ledger.mirror")

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
HEAL_CHECK_INTERVAL_S = 2.0
MAX_POLL_INTERVAL_MS = 900_000
"""A mirror that waits for Redis holds its batch without polling: stay in the group."""
RECOVERABLE = (redis.RedisError, JournalReadTimeout, KafkaException, OSError)
"""What a retry may cure. Anything else is a bug and ends the process (it is restarted)."""


def mirror_group_id(settings: Settings) -> str:
    return settings.mirror_group_id or f"{settings.topic_prefix}mirror"


@dataclass
class MirrorStats:
    events: int = 0
    applied: int = 0
    undecodable: int = 0
    heals: int = 0
    rebuilds: int = 0
    retries: int = 0
    vouched: dict[int, tuple[str, int]] = field(default_factory=dict)


class MirrorLoop:
    def __init__(
        self,
        settings: Settings,
        contracts: WireContracts,
        client: redis.Redis,
        instance_id: str,
        source_region: str = "",
        reply_prefix: str | None = None,
    ) -> None:
        """`source_region`: the journal is that region's, copied here (settings.journal_copy);
        the loop then also measures and records how far behind the copy is. `reply_prefix`:
        the key prefix of this region's gateways, which hear outcomes on channels under it
        (a request forwarded home is answered here when its event comes back)."""
        self.reply_prefix = reply_prefix or settings.redis_key_prefix
        self.settings = settings
        self.source_region = source_region
        self.contracts = contracts
        self.client = client
        self.applier = new_applier(client, settings)
        self.stats = MirrorStats()
        self.topic = settings.topics.events
        self._checked_model_at = 0.0
        self.consumer = Consumer(
            settings.kafka_config(
                {
                    "group.id": mirror_group_id(settings),
                    "group.instance.id": f"mirror-{instance_id}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "partition.assignment.strategy": "cooperative-sticky",
                    "session.timeout.ms": settings.session_timeout_ms,
                    "max.poll.interval.ms": MAX_POLL_INTERVAL_MS,
                }
            )
        )
        self.consumer.subscribe([self.topic], on_revoke=self._on_revoke, on_lost=self._on_revoke)

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.run_once(stop)
        finally:
            self.consumer.close()

    def run_once(self, stop: threading.Event) -> None:
        settings = self.settings
        messages = take_batch(
            self.consumer, settings.mirror_batch_max, settings.mirror_batch_time_max_ms / 1000
        )
        by_partition: dict[int, list[Message]] = defaultdict(list)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", error)
                continue
            by_partition[message.partition() or 0].append(message)
        if not by_partition:
            self._check_model(stop)
            return
        for partition, records in sorted(by_partition.items()):
            self._mirror_partition(partition, records, stop)
            if stop.is_set():
                return  # not committed: the next owner starts from what Redis holds
        self.consumer.commit(
            offsets=[
                TopicPartition(self.topic, partition, (records[-1].offset() or 0) + 1)
                for partition, records in by_partition.items()
            ],
            asynchronous=True,
        )

    def _on_revoke(self, _consumer: Consumer, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.stats.vouched.pop(tp.partition, None)

    def _mirror_partition(
        self, partition: int, records: list[Message], stop: threading.Event
    ) -> None:
        arguments = []
        sent_at_ms = []
        decided_at_ms = []
        for record in records:
            value = record.value()
            if not value:
                continue
            event = decode_or_report(self.contracts, value, partition, record.offset() or 0)
            if event is None:
                self.stats.undecodable += 1
                continue
            arguments.append(
                script_argument(event, record.offset() or 0, self._reply_channel(record))
            )
            sent_at_ms.append(event.request.requested_at_ms)
            decided_at_ms.append(event.processed_at_ms)
        batch = Batch(partition, arguments, records[0].offset() or 0, records[-1].offset() or 0)
        pause_s = RETRY_FIRST_S
        while not stop.is_set():
            try:
                if self._apply(batch):
                    self.stats.events += len(arguments)
                    if not self.source_region:
                        metrics.observe_visible(sent_at_ms)
                    else:
                        # Another region's requests: their delay is the link's, measured
                        # apart (a copy in freshness would page for MirrorMaker's lag).
                        metrics.EVENTS.inc(len(arguments))
                        if decided_at_ms:
                            self._note_copied(decided_at_ms)
                    return
            except RECOVERABLE as error:
                self.stats.vouched.pop(partition, None)
                self.stats.retries += 1
                metrics.RETRIES.inc()
                log.warning(
                    "partition %d batch at %d not applied: %s; again in %.1f s",
                    partition,
                    batch.first_offset,
                    _why(error),
                    pause_s,
                )
                stop.wait(pause_s)
                pause_s = min(pause_s * 2, RETRY_MAX_S)

    def _note_copied(self, decided_at_ms: list[int]) -> None:
        now_ms = time.time_ns() // 1_000_000
        metrics.observe_copied(self.source_region, decided_at_ms, now_ms)
        freshness = {"event_ms": max(decided_at_ms), "applied_ms": now_ms}
        self.client.set(copy_freshness_key(self.settings.redis_key_prefix), json.dumps(freshness))

    def _reply_channel(self, record: Message) -> str | None:
        reply_to = valid_reply_to(header(record, REPLY_TO_HEADER))
        return None if reply_to is None else reply_channel(self.reply_prefix, reply_to)

    def _apply(self, batch: Batch) -> bool:
        """One attempt: True when Redis holds the batch, False when a heal or rebuild ran and
        the batch must be applied again."""
        partition = batch.partition
        vouched_generation, vouched_offset = self.stats.vouched.get(partition, ("", None))
        result = self.applier.apply(
            batch,
            Mode.MIRROR,
            vouched_generation=vouched_generation,
            vouched_offset=vouched_offset,
        )
        if result.status is ApplyStatus.OK:
            self.stats.vouched[partition] = (result.generation, result.stored_offset)
            self.stats.applied += result.applied
            return True
        if result.status is ApplyStatus.GAP:
            self._heal(partition, result.generation, result.stored_offset, batch.first_offset)
        else:
            self._rebuild()
        return False

    def _heal(self, partition: int, generation: str, stored: int, first_offset: int) -> None:
        self.stats.heals += 1
        read = heal_stretch(
            self.settings, self.client, self.contracts, generation, partition, stored, first_offset
        )
        self.stats.vouched[partition] = (generation, first_offset - 1)
        log.info(
            "healed partition %d of %s: %d events in (%d, %d)",
            partition,
            generation,
            read,
            stored,
            first_offset,
        )

    def _rebuild(self) -> None:
        if live_generation(self.client, self.settings.redis_key_prefix) is not None:
            return  # rebuilt meanwhile (another mirror)
        self.stats.rebuilds += 1
        log.warning("no live read model in Redis: rebuilding it from the journal")
        report = rebuild(self.settings, self.client, self.contracts)
        self.stats.vouched.clear()
        log.warning(
            "rebuilt generation %s from %d events in %.1f s",
            report.generation,
            report.events,
            report.seconds,
        )
        self.stats.undecodable += report.undecodable

    def _check_model(self, stop: threading.Event) -> None:
        now = time.monotonic()
        if now - self._checked_model_at < HEAL_CHECK_INTERVAL_S:
            return
        self._checked_model_at = now
        try:
            if live_generation(self.client, self.settings.redis_key_prefix) is None:
                self._rebuild()
        except RECOVERABLE as error:
            log.warning("model check failed: %s; again later", _why(error))
            stop.wait(RETRY_FIRST_S)


def _why(error: Exception) -> str:
    if isinstance(error, redis.ConnectionError | redis.TimeoutError):
        return f"Redis unavailable ({error})"
    return f"{type(error).__name__}: {error}"
