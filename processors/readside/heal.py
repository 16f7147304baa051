"""Self-healing: fill what the live model misses, from the journal, before mirroring on.

Two situations, told apart by the Lua script's answer (readmodel/writer.py):

- NO_MODEL: there is no live generation. Either nothing was ever built, or Redis lost its
  data (FLUSHALL, a restart without persistence). The mirror's stored offsets are gone with
  it, so the only sound answer is a full replay into a fresh generation (`rebuild`).
- GAP: the live generation's stored offset for a partition is behind the batch the mirror
  holds, and the mirror cannot vouch for the records in between (a replay swapped in a
  generation that stopped earlier, another worker owned the partition, or a transaction
  marker sits between). `heal_stretch` reads exactly that stretch of the partition and
  applies it, after which the batch follows on.
"""

from __future__ import annotations

import redis

from processors.readside.decoding import decode_or_report
from processors.readside.journal import read_journal
from processors.readside.late_outcomes import RecentOutcomes, waiting_since_ms
from processors.readside.replay import ReplayReport, replay
from processors.readside.writing import applier as new_applier
from readmodel.projection import script_argument
from readmodel.writer import Batch, Mode
from schemas.contracts import WireContracts
from settings import Settings


def heal_stretch(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    generation: str,
    partition: int,
    stored_offset: int,
    first_offset: int,
) -> int:
    """Apply the committed events of `partition` in (stored_offset, first_offset) to
    `generation`, and record first_offset - 1 as applied. Returns how many were read.

    Raises JournalReadTimeout, KafkaException, redis errors (an undecodable record is
    reported and passed over, decoding.py).
    """
    applier = new_applier(client, settings)
    recent = RecentOutcomes(waiting_since_ms(settings))
    read = 0
    start = stored_offset + 1
    if start < first_offset:
        for batch in read_journal(settings, {partition: start}, stops={partition: first_offset}):
            arguments = []
            for record in batch.records:
                event = decode_or_report(contracts, record.value, partition, record.offset)
                if event is None:
                    continue
                arguments.append(script_argument(event, record.offset))
                recent.note(event, record.reply_to)
            if arguments:
                applier.apply(
                    Batch(partition, arguments, batch.records[0].offset, batch.position - 1),
                    Mode.BUILD,
                    generation,
                )
            read += len(arguments)
    applier.apply(Batch(partition, [], first_offset, first_offset - 1), Mode.BUILD, generation)
    recent.publish(client, settings.redis_key_prefix)
    return read


def rebuild(settings: Settings, client: redis.Redis, contracts: WireContracts) -> ReplayReport:
    """Replay the whole journal into a fresh generation and swap it in (see replay.py), then
    announce the outcomes a gateway may still be waiting for."""
    since_ms = waiting_since_ms(settings)
    return replay(settings, client, contracts, source="self-heal", announce_since_ms=since_ms)
