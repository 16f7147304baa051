"""Point-in-time balances: fold the journal up to a moment, for one account or a program.

"As of T" means after every event the ledger processed at or before T (`processed_at_ms`).
The journal is read up to the first offsets written a margin after T (Kafka timestamps are
the core's produce time, a little after processing), and events are filtered on
`processed_at_ms`, so the answer does not depend on the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.model import Status
from processors.readside.journal import journal_partitions, offsets_for_time, read_journal
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from settings import Settings

TIMESTAMP_MARGIN_MS = 60_000
"""Kafka timestamps trail processed_at_ms by a batch at most; a minute is plenty."""


@dataclass(frozen=True, slots=True)
class PointInTimeBalance:
    account_id: str
    asset: str
    available: int
    held: int
    sequence: int


def balances_as_of(
    settings: Settings,
    contracts: WireContracts,
    program: str,
    timestamp_ms: int,
    account_id: str | None = None,
) -> list[PointInTimeBalance]:
    """Balances of `account_id` (or of every account of `program`) as of `timestamp_ms`.

    Raises JournalReadTimeout, KafkaException, UndecodableMessage.
    """
    starts = dict.fromkeys(journal_partitions(settings), -2)
    stops = offsets_for_time(settings, timestamp_ms + TIMESTAMP_MARGIN_MS)
    wanted_key = account_key(program, account_id) if account_id is not None else None
    latest: dict[tuple[str, str], tuple[int, int, int]] = {}
    for batch in read_journal(settings, starts, stops=stops):
        for record in batch.records:
            event = contracts.decode_event(record.value)
            if event.program != program or event.status is not Status.APPLIED:
                continue
            if wanted_key is not None and account_key(event.program, event.account_id) != (
                wanted_key
            ):
                continue
            if event.processed_at_ms > timestamp_ms:
                continue
            for balance in event.balances:
                latest[(event.account_id, balance.asset)] = (
                    balance.available,
                    balance.held,
                    event.sequence,
                )
    return [
        PointInTimeBalance(account, asset, available, held, sequence)
        for (account, asset), (available, held, sequence) in sorted(latest.items())
    ]
