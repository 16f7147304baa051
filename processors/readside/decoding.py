"""One rule for a journal record that does not decode, wherever the read side meets it.

Only the core writes the journal, so such a record is a bug or a newer schema, never a
request to skip quietly: it is logged as an error with its position, counted
(`ledger_mirror_undecodable_total`), and the audit names it. It must not stop the read side
either: the live mirror, a rebuild after Redis lost the model and a gap heal all mirror
everything around it, so one record can never keep every member's balance from being read.
"""

from __future__ import annotations

import logging

from ledger.model import LedgerEvent
from processors.readside import metrics
from schemas.contracts import WireContracts
from schemas.exceptions import UndecodableMessage

log = logging.getLogger("ledger.mirror")


def decode_or_report(
    contracts: WireContracts, value: bytes, partition: int, offset: int
) -> LedgerEvent | None:
    """The event, or None after reporting a record that does not decode."""
    try:
        return contracts.decode_event(value)
    except UndecodableMessage as error:
        metrics.UNDECODABLE.inc()
        log.error("journal %d@%d undecodable: %s", partition, offset, error)
        return None
