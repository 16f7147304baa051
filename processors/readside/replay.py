"""Rebuild the Redis read model from the journal into a fresh generation, then swap it in.

Steps, in this order:
1. resolve where each journal partition starts (beginning, explicit offsets, or the first
   offset at or after a timestamp, via offsets_for_times);
2. read every partition read_committed up to its stable end, applying batches to a new
   generation with the same Lua script as the mirror (build mode: no outcome publishing);
3. record each partition's final position (past trailing transaction markers) in the new
   generation's offsets, and its metadata;
4. swap the live pointer to the new generation (one SET: readers never see a half-built
   model), then delete the old generation's keys;
5. with `announce_since_ms` (the mirror's self-heal), publish the outcomes of the events
   processed since then: a gateway may be waiting for one of them, and the mirror will
   not publish what the rebuild already applied.
A mirror running meanwhile keeps writing the old generation; after the swap its next batch
finds the new generation's offsets and heals the stretch between (processors/readside/heal.py).

A replay that does not start at the beginning builds a model of the events from that point
on: balances of the accounts touched since then are exact (events carry balances after), but
totals, history and the account sets only count those events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

import redis

from processors.errors import ProcessorError
from processors.readside.decoding import decode_or_report
from processors.readside.generation import drop_generation, new_generation_id, swap_in
from processors.readside.journal import (
    end_offsets,
    journal_partitions,
    offsets_for_time,
    read_journal,
)
from processors.readside.late_outcomes import RecentOutcomes
from processors.readside.progress import ProgressBar
from processors.readside.writing import applier as new_applier
from readmodel.keys import GenerationKeys
from readmodel.projection import script_argument
from readmodel.writer import Batch, Mode
from schemas.contracts import WireContracts
from settings import Settings

BEGINNING = -2


class ReplayError(ProcessorError):
    """A replay was asked for something the journal does not have (unknown partition)."""


@dataclass(frozen=True, slots=True)
class ReplayStart:
    """Where to start: `offsets` per partition, else `timestamp_ms`, else the beginning."""

    offsets: dict[int, int] | None = None
    timestamp_ms: int | None = None

    def resolve(self, settings: Settings) -> dict[int, int]:
        partitions = journal_partitions(settings)
        if self.offsets is not None:
            unknown = set(self.offsets) - set(partitions)
            if unknown:
                raise ReplayError(f"the journal has no partition {sorted(unknown)}")
            # Partitions not named are read from their beginning.
            return {p: self.offsets.get(p, BEGINNING) for p in partitions}
        if self.timestamp_ms is not None:
            return offsets_for_time(settings, self.timestamp_ms)
        return dict.fromkeys(partitions, BEGINNING)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    generation: str
    replaced: str | None
    events: int
    seconds: float
    positions: dict[int, int]
    undecodable: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    start: ReplayStart = ReplayStart(),  # frozen, so sharing the default is safe
    progress_out: TextIO | None = None,
    source: str = "replay",
    announce_since_ms: int | None = None,
) -> ReplayReport:
    """Build a new generation from the journal and swap it in. See the module docstring.

    Raises ReplayError, JournalReadTimeout, KafkaException, redis errors. A journal record
    that does not decode is reported (decoding.py) and counted in the report, and the rest is
    replayed: one such record must not keep everyone's read model from being rebuilt.
    """
    started = time.monotonic()
    starts = start.resolve(settings)
    generation = new_generation_id()
    applier = new_applier(client, settings)
    bar = None
    if progress_out is not None:
        ends = end_offsets(settings, starts)
        bar = ProgressBar(sum(ends[p] - max(o, 0) for p, o in starts.items()), progress_out)
    events = 0
    undecodable = 0
    positions: dict[int, int] = {}
    recent = RecentOutcomes(announce_since_ms)
    for batch in read_journal(settings, starts):
        arguments = []
        for record in batch.records:
            event = decode_or_report(contracts, record.value, batch.partition, record.offset)
            if event is None:
                undecodable += 1
                continue
            arguments.append(script_argument(event, record.offset))
            recent.note(event, record.reply_to)
        first = batch.records[0].offset if batch.records else batch.position
        applier.apply(
            Batch(batch.partition, arguments, first, batch.position - 1), Mode.BUILD, generation
        )
        positions[batch.partition] = batch.position
        events += len(arguments)
        if bar is not None:
            bar.advance(len(arguments))
    if bar is not None:
        bar.finish()
    keys = GenerationKeys(settings.redis_key_prefix, generation)
    client.hset(
        keys.meta,
        mapping={
            "source": source,
            "built_at_ms": time.time_ns() // 1_000_000,
            "events": events,
            "starts": ",".join(f"{p}:{o}" for p, o in sorted(starts.items())),
        },
    )
    replaced = swap_in(client, settings.redis_key_prefix, generation)
    if replaced is not None and replaced != generation:
        drop_generation(client, settings.redis_key_prefix, replaced)
    recent.publish(client, settings.redis_key_prefix)
    return ReplayReport(
        generation, replaced, events, time.monotonic() - started, positions, undecodable
    )
