"""Reading a journal (a region's own, or a copy of another region's) into a `JournalFold`."""

from __future__ import annotations

from processors.readside.fold import JournalFold
from processors.readside.journal import read_journal
from schemas.contracts import WireContracts
from schemas.exceptions import UndecodableMessage
from settings import Settings


def fold_from(
    fold: JournalFold, settings: Settings, contracts: WireContracts, starts: dict[int, int]
) -> None:
    """Fold `settings`' journal from `starts` (offset per partition, -2 = beginning) to its
    stable end; `fold.positions` then says where a further read starts."""
    for batch in read_journal(settings, starts):
        for record in batch.records:
            try:
                event = contracts.decode_event(record.value)
            except UndecodableMessage as error:
                # A finding, not a reason to stop auditing: only the core may write the
                # journal, so a record nobody can read there is what an audit exists to name.
                fold.problems.append(
                    f"journal {batch.partition}@{record.offset} is undecodable: {error}"
                )
                continue
            fold.add(event, batch.partition, record.offset)
        fold.positions[batch.partition] = batch.position
