"""Folding the journal for the audit: every invariant, and Redis's figures at a known cut.

The fold trusts nothing. Each event goes through `ledger.invariants.Books`, which checks as
it goes (sequence continuity, balanced postings, the balances the event states, legs that
settle a transfer) and at the end over the whole book (trial balance, lots, holds, @holds,
@transit), and keeps the problems as readable lines instead of asserting.

Redis's program totals are sums of postings up to the offsets its mirror has applied. So the
fold is given those offsets (`cut`, taken from Redis in the same atomic read as the totals)
and keeps, per partition, the sums of the events up to the cut: the two are then comparable
exactly, even while events keep arriving.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledger.invariants import Books, TransferKey
from ledger.model import AccountState, LedgerEvent, Status
from readmodel.projection import totals_field

Totals = dict[str, Counter[str]]
"""program -> `{asset}|{account}` field of Redis's totals hash -> sum of postings"""


@dataclass(frozen=True, slots=True)
class AccountFold:
    sequence: int
    balances: dict[str, tuple[int, int]]  # asset -> (available, held)


class JournalFold:
    def __init__(self, cut: Mapping[int, int] | None = None) -> None:
        self.books = Books()
        self.problems: list[str] = []
        self.events = 0
        self.positions: dict[int, int] = {}
        """Per partition, the offset after the last record read (past transaction markers)."""
        self._cut = dict(cut or {})
        self._sums: dict[int, Totals] = {}
        self._sums_at_cut: dict[int, Totals] = {}

    def add(self, event: LedgerEvent, partition: int = 0, offset: int = -1) -> None:
        cut = self._cut.get(partition)
        if cut is not None and offset > cut and partition not in self._sums_at_cut:
            self._sums_at_cut[partition] = _copy(self._sums.get(partition, {}))
        self.events += 1
        self.problems += self.books.add(event)
        if event.status is not Status.APPLIED:
            return
        totals = self._sums.setdefault(partition, {}).setdefault(event.program, Counter())
        for posting in event.postings:
            totals[totals_field(posting.account, posting.asset)] += posting.amount

    def totals(self) -> Totals:
        """Every program's totals over the whole fold."""
        return _merge(self._sums.values())

    def totals_at_cut(self) -> Totals:
        """Every program's totals over the events at or below the cut of their partition."""
        return _merge(
            self._sums_at_cut.get(partition, sums) for partition, sums in self._sums.items()
        )

    def unsettled_legs(self) -> frozenset[TransferKey]:
        return frozenset(self.books.early)

    def invariant_problems(self, tolerated: frozenset[TransferKey] = frozenset()) -> list[str]:
        return self.books.problems(tolerated)

    @property
    def accounts(self) -> list[tuple[str, str]]:
        """(program, account_id) of every account the journal names."""
        return list(self.books.states)

    def account(self, program: str, account_id: str) -> AccountFold:
        return _account(self.books.states[(program, account_id)])

    def state(self, program: str, account_id: str) -> AccountState | None:
        return self.books.states.get((program, account_id))


def _account(state: AccountState) -> AccountFold:
    return AccountFold(
        state.sequence, {b.asset: (b.available, b.held) for b in state.balances.values()}
    )


def _copy(totals: Totals) -> Totals:
    return {program: Counter(fields) for program, fields in totals.items()}


def _merge(parts: Iterable[Totals]) -> Totals:
    merged: Totals = {}
    for totals in parts:
        for program, fields in totals.items():
            merged.setdefault(program, Counter()).update(fields)
    return merged
