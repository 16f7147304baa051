"""The audit of a region beyond its own journal: the copies of every other region's journal,
and the transfers between regions, reconciled.

In a region (`LEDGER_REGION`), MirrorMaker 2 copies every other region's journal here
(`<source>.<prefix>events`) and the mirror keeps a read model of each copy
(`<redis prefix>@<source>:`). The auditor folds each copy like its own journal: a copy must
hold every invariant (it is the other region's journal, byte for byte), and its read model
must be its exact fold. A transfer between members homed in two regions is debited in one
journal and settled in another, so `@transit` is reconciled across all of them
(ledger/transit.py): every region's @transit is explained leg by leg, and together they are
the value in flight.

A copy is behind its source, and a credit leg may reach a payee's home (through the outbox)
before the debit's event reaches the payee's copy of the payer's journal: legs that settle no
transfer yet are waited for (re-reading every journal's tail) for the same time the audit
waits for a mirror that is behind; only legs the last read brought are then given the benefit
of the doubt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis
from confluent_kafka import KafkaException

from ledger.invariants import TransferKey
from ledger.transit import Reconciliation, reconcile
from processors.readside.fold import JournalFold
from processors.readside.folding import fold_from
from processors.readside.journal import journal_partitions
from processors.readside.redis_check import compare_accounts, totals_problems
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings

PAIRING_POLL_S = 0.5
ALL_REGIONS = "(all regions)"  # no region name has a space


@dataclass
class RegionalAudit:
    tolerated_here: frozenset[TransferKey]
    """The legs this region's own books may show without their transfer."""
    copies: dict[str, int] = field(default_factory=dict)
    """Per other region, the events of its journal's copy folded here."""
    transit: dict[str, dict[str, object]] = field(default_factory=dict)
    """Per "program asset", every region's @transit explained, and all regions'."""
    problems: list[str] = field(default_factory=list)
    accounts_compared: int = 0


@dataclass
class _Copy:
    settings: Settings
    model: SyncReadModel
    fold: JournalFold
    totals: bool


def audit_regions(
    settings: Settings,
    client: redis.Redis,
    contracts: WireContracts,
    own: JournalFold,
    tolerated: frozenset[TransferKey],
    sample: int,
    wait_s: float,
) -> RegionalAudit:
    """The copies of the other regions' journals and @transit across regions; `own` is this
    region's fold (read further here while legs wait for their transfer)."""
    problems: list[str] = []
    copies: dict[str, _Copy] = {}
    for source in settings.other_regions:
        journal = settings.journal_copy(source)
        model = SyncReadModel(client, journal.redis_key_prefix)
        snapshot = model.totals_snapshot()
        fold = JournalFold(snapshot.offsets if snapshot else None)
        try:
            fold_from(fold, journal, contracts, dict.fromkeys(journal_partitions(journal), -2))
        except KafkaException as error:
            problems.append(f"the copy of {source}'s journal cannot be read here: {error}")
            continue
        copies[source] = _Copy(journal, model, fold, snapshot is not None)
        if snapshot is not None:
            problems += _about(source, totals_problems(snapshot, fold))
    journals = {settings.region: (settings, own)} | {
        source: (copy.settings, copy.fold) for source, copy in copies.items()
    }
    tolerated = _pair_up(journals, contracts, tolerated, wait_s)
    reconciled = reconcile(
        {region: fold.books for region, (_, fold) in journals.items()}, tolerated
    )
    result = RegionalAudit(
        tolerated | reconciled.settled_for_others[settings.region],
        copies={source: copy.fold.events for source, copy in copies.items()},
        transit=_figures(reconciled),
        problems=problems + reconciled.problems,
    )
    for source, copy in copies.items():
        settled = tolerated | reconciled.settled_for_others[source]
        result.problems += _about(source, copy.fold.problems)
        result.problems += _about(source, copy.fold.invariant_problems(settled))
        compared = compare_accounts(copy.model, copy.fold, sample, wait_s)
        result.accounts_compared += compared.compared
        result.problems += _about(source, compared.problems)
    return result


def _about(source: str, problems: list[str]) -> list[str]:
    return [f"{problem} (copy of {source}'s journal)" for problem in problems]


def _pair_up(
    journals: dict[str, tuple[Settings, JournalFold]],
    contracts: WireContracts,
    tolerated: frozenset[TransferKey],
    wait_s: float,
) -> frozenset[TransferKey]:
    """Read every journal's tail while legs settle no transfer in any of them, for up to
    `wait_s`; returns the legs to give the benefit of the doubt (brought by the last read)."""
    deadline = time.monotonic() + wait_s
    while True:
        waiting = _unpaired(journals)
        if not waiting or time.monotonic() >= deadline:
            return tolerated & waiting
        time.sleep(PAIRING_POLL_S)
        for journal, fold in journals.values():
            fold_from(fold, journal, contracts, dict(fold.positions))
        tolerated = _unpaired(journals) - waiting


def _unpaired(journals: dict[str, tuple[Settings, JournalFold]]) -> frozenset[TransferKey]:
    debited = {key for _, fold in journals.values() for key in fold.books.in_flight}
    return frozenset(
        key for _, fold in journals.values() for key in fold.books.early if key not in debited
    )


def _figures(reconciled: Reconciliation) -> dict[str, dict[str, object]]:
    figures: dict[str, dict[str, object]] = {}
    for (program, asset), per_region in sorted(reconciled.figures.items()):
        regions: dict[str, object] = {
            region: {
                "book": figure.book,
                "in_flight": figure.in_flight,
                "settled_elsewhere": dict(figure.settled_elsewhere),
                "settled_for": dict(figure.settled_for),
                "unpaired": figure.unpaired,
            }
            for region, figure in sorted(per_region.items())
        }
        regions[ALL_REGIONS] = {
            "book": reconciled.global_book((program, asset)),
            "in_flight": reconciled.global_in_flight((program, asset)),
        }
        figures[f"{program} {asset}"] = regions
    return figures
