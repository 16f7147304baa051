"""Folding the journal into what the read side needs to compare: balances, sequences, totals.

This fold trusts nothing: it checks as it goes that every account's sequence continues (+1
per APPLIED event, unchanged otherwise) and that each applied event's postings balance per
asset, and keeps the problems as readable lines instead of asserting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ledger.model import LedgerEvent, Status
from processors.readside.projection import totals_field


@dataclass
class AccountFold:
    sequence: int = 0
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)  # asset -> avail, held


@dataclass
class JournalFold:
    accounts: dict[tuple[str, str], AccountFold] = field(default_factory=dict)
    totals: dict[str, Counter[str]] = field(default_factory=dict)  # program -> field -> sum
    problems: list[str] = field(default_factory=list)
    events: int = 0
    positions: dict[int, int] = field(default_factory=dict)

    def add(self, event: LedgerEvent) -> None:
        self.events += 1
        account = self.accounts.setdefault((event.program, event.account_id), AccountFold())
        name = f"{event.program}:{event.account_id}"
        if event.status is not Status.APPLIED:
            if event.sequence != account.sequence:
                self.problems.append(
                    f"{name}: {event.status.value} event {event.event_id} carries sequence "
                    f"{event.sequence}, the account is at {account.sequence}"
                )
            return
        if event.sequence != account.sequence + 1:
            self.problems.append(
                f"{name}: sequence jumps from {account.sequence} to {event.sequence} "
                f"({event.event_id})"
            )
        account.sequence = event.sequence
        for balance in event.balances:
            account.balances[balance.asset] = (balance.available, balance.held)
        per_asset: Counter[str] = Counter()
        totals = self.totals.setdefault(event.program, Counter())
        for posting in event.postings:
            per_asset[posting.asset] += posting.amount
            totals[totals_field(posting.account, posting.asset)] += posting.amount
        for asset, total in per_asset.items():
            if total != 0:
                self.problems.append(f"{event.event_id}: postings of {asset} sum to {total}")


def trial_balance_problems(fold: JournalFold) -> list[str]:
    """Per program and asset, every account's postings (system ones too) must sum to zero."""
    problems = []
    for program, totals in sorted(fold.totals.items()):
        by_asset: Counter[str] = Counter()
        for name, amount in totals.items():
            asset = name.rsplit("|", 1)[0]
            by_asset[asset] += amount
        problems += [
            f"trial balance of {program} {asset} is {total}, not 0"
            for asset, total in sorted(by_asset.items())
            if total != 0
        ]
    return problems
