"""The Redis mirror: journal events in, the read model and outcome messages out.

`RedisMirror.mirror_records` takes what the Faust agent gathered with `take_events` (any
partitions, in order within each) and, per partition, runs the Lua script once. It reacts to
the script's answer:

- OK: remember (generation, offset) so the next batch of this partition is vouched for even
  when a transaction marker sits between the two;
- GAP: heal the stretch from the journal (heal.py), then retry;
- NO_MODEL: rebuild the whole model (heal.py), then retry.
The blocking work (journal reads with confluent-kafka) runs in a thread so the worker's
event loop keeps heartbeating.

While Redis does not answer (restarting, network), the batch waits and is tried again with
backoff: there is nothing else useful to do with it, and the backlog is safe in Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
import redis.asyncio

from ledger.settings import Settings
from processors.readside import metrics
from processors.readside.generation import live_generation
from processors.readside.heal import heal_stretch, rebuild
from processors.readside.projection import script_argument
from processors.readside.script import ApplyStatus, AsyncApplier, Batch
from schemas.contracts import WireContracts
from schemas.exceptions import UndecodableMessage

log = logging.getLogger("ledger.mirror")

ATTEMPTS_PER_BATCH_MAX = 5
"""Heal or rebuild, then retry: more than a few rounds means something else is wrong."""


REDIS_RETRY_FIRST_S = 0.2
REDIS_RETRY_MAX_S = 5.0
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)


class MirrorStuck(RuntimeError):
    """A batch could not be applied after ATTEMPTS_PER_BATCH_MAX heals or rebuilds."""


@dataclass(frozen=True, slots=True)
class JournalEvent:
    partition: int
    offset: int
    value: bytes | None


@dataclass
class MirrorStats:
    events: int = 0
    applied: int = 0
    undecodable: int = 0
    heals: int = 0
    rebuilds: int = 0
    vouched: dict[int, tuple[str, int]] = field(default_factory=dict)


class RedisMirror:
    def __init__(
        self,
        settings: Settings,
        contracts: WireContracts,
        async_client: redis.asyncio.Redis,
        sync_client: redis.Redis,
    ) -> None:
        self.settings = settings
        self.contracts = contracts
        self.applier = AsyncApplier(async_client, settings)
        self.sync_client = sync_client
        self.stats = MirrorStats()
        self._rebuilding = asyncio.Lock()

    async def mirror_records(self, records: Iterable[JournalEvent]) -> None:
        by_partition: dict[int, list[JournalEvent]] = defaultdict(list)
        for record in records:
            by_partition[record.partition].append(record)
        for partition, batch in by_partition.items():
            await self._mirror_partition(partition, batch)

    async def ensure_model(self) -> None:
        """Rebuild when there is no live model (Redis lost its data): the timer's check."""
        try:
            if live_generation(self.sync_client, self.settings.redis_key_prefix) is None:
                await self._rebuild()
        except REDIS_UNAVAILABLE as error:
            log.warning("Redis unavailable for the model check: %s", error)

    async def _mirror_partition(self, partition: int, records: list[JournalEvent]) -> None:
        arguments = []
        sent_at_ms = []
        for record in records:
            if not record.value:
                continue
            try:
                event = self.contracts.decode_event(record.value)
            except UndecodableMessage as error:
                # Only the core writes the journal, so this is a bug or a newer schema: keep
                # mirroring the rest, and let the auditor report the difference.
                self.stats.undecodable += 1
                metrics.UNDECODABLE.inc()
                log.error("journal %d@%d undecodable: %s", partition, record.offset, error)
                continue
            arguments.append(script_argument(event, record.offset))
            sent_at_ms.append(event.request.requested_at_ms)
        batch = Batch(partition, arguments, records[0].offset, records[-1].offset)
        pause_s = REDIS_RETRY_FIRST_S
        while True:
            try:
                await self._apply(partition, batch, sent_at_ms)
                return
            except REDIS_UNAVAILABLE as error:
                log.warning(
                    "Redis unavailable (%s): partition %d batch at %d again in %.1f s",
                    error,
                    partition,
                    batch.first_offset,
                    pause_s,
                )
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, REDIS_RETRY_MAX_S)

    async def _apply(self, partition: int, batch: Batch, sent_at_ms: list[int]) -> None:
        arguments = batch.arguments
        for _ in range(ATTEMPTS_PER_BATCH_MAX):
            vouched_generation, vouched_offset = self.stats.vouched.get(partition, ("", None))
            result = await self.applier.apply(batch, vouched_generation, vouched_offset)
            if result.status is ApplyStatus.OK:
                self.stats.vouched[partition] = (result.generation, result.stored_offset)
                self.stats.events += len(arguments)
                self.stats.applied += result.applied
                metrics.observe_visible(sent_at_ms)
                return
            if result.status is ApplyStatus.GAP:
                await self._heal(partition, result.generation, result.stored_offset, batch)
            else:
                await self._rebuild()
        raise MirrorStuck(f"partition {partition} batch at {batch.first_offset} never applied")

    async def _heal(self, partition: int, generation: str, stored: int, batch: Batch) -> None:
        self.stats.heals += 1
        read = await asyncio.to_thread(
            heal_stretch,
            self.settings,
            self.sync_client,
            self.contracts,
            generation,
            partition,
            stored,
            batch.first_offset,
        )
        self.stats.vouched[partition] = (generation, batch.first_offset - 1)
        if read:
            log.info(
                "healed partition %d of %s: %d events in (%d, %d)",
                partition,
                generation,
                read,
                stored,
                batch.first_offset,
            )

    async def _rebuild(self) -> None:
        async with self._rebuilding:
            # Another task may have rebuilt while this one waited for the lock.
            if live_generation(self.sync_client, self.settings.redis_key_prefix) is not None:
                return
            self.stats.rebuilds += 1
            log.warning("no live read model in Redis: rebuilding it from the journal")
            report = await asyncio.to_thread(
                rebuild, self.settings, self.sync_client, self.contracts
            )
            self.stats.vouched.clear()
            log.warning(
                "rebuilt generation %s from %d events in %.1f s",
                report.generation,
                report.events,
                report.seconds,
            )
