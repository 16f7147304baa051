"""`@transit` across regions: each region's books, reconciled with the others'.

(A move of an account between regions is, for the books, one transfer per asset from the
account at its old home to itself at its new one: HANDOFF debits, INSTALL settles.)

A transfer is debited at the payer's home and credited (or refunded) at the payee's, so when
the two are homed in different regions, each region's journal holds one half: the payer's
region has the debit (@transit +a) with nothing to settle it, the payee's region the credit
leg (@transit -a) with no transfer to settle. Alone, each region's books look wrong; together
they must balance, leg by leg.

`reconcile` takes every region's `Books` (its own journal and the copies of the others'),
pairs each leg a region settled without its transfer with the transfer debited in another
region, and returns:
- per region, the legs it settled for other regions' transfers: that region's books are then
  checked with those legs as settled (`Books.problems(tolerated=...)`), so its @transit must
  equal what it debited minus what it settled, in the open, and never be unexplained;
- problems: a leg paired with a transfer of another amount or asset, a transfer settled in two
  regions (value created), an account decided in two regions in one epoch (two homes), and
  across regions @transit (the sum of every region's) that is not
  the value of the transfers in flight anywhere, or is negative;
- figures per program and asset, per region and global, for the report.

A leg whose transfer is in no region's books is left to each region's own check (it settles
no transfer there, unless the reader may still meet its debit: `tolerated`).
Pure: books in, pairs, figures and readable problems out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.accounts import TRANSIT
from ledger.invariants import Books, InFlight, TransferKey

AssetKey = tuple[str, str]
"""(program, asset)"""


@dataclass
class RegionTransit:
    """One region's @transit, explained."""

    book: int = 0
    """The sum of the region's @transit postings."""
    in_flight: int = 0
    """Transfers debited here that no region has settled yet."""
    settled_elsewhere: Counter[str] = field(default_factory=Counter)
    """Per region: transfers debited here and settled there (still on this region's book)."""
    settled_for: Counter[str] = field(default_factory=Counter)
    """Per region: legs settled here for transfers debited there (taken off this book)."""
    unpaired: int = 0
    """Legs settled here for a transfer no region has (yet): a problem unless tolerated."""
    tolerated: int = 0
    """Of `unpaired`, the legs whose debit the reader may still meet."""

    def explained(self) -> int:
        """What the book must be: every term is a list of legs the journals name."""
        return (
            self.in_flight
            + sum(self.settled_elsewhere.values())
            - sum(self.settled_for.values())
            - self.unpaired
        )


@dataclass
class Reconciliation:
    settled_for_others: dict[str, frozenset[TransferKey]]
    """Per region: its legs that settle another region's transfer."""
    figures: dict[AssetKey, dict[str, RegionTransit]]
    problems: list[str]

    def global_book(self, key: AssetKey) -> int:
        return sum(region.book for region in self.figures[key].values())

    def global_in_flight(self, key: AssetKey) -> int:
        return sum(region.in_flight for region in self.figures[key].values())


def reconcile(
    books: Mapping[str, Books], tolerated: frozenset[TransferKey] = frozenset()
) -> Reconciliation:
    """`tolerated`: legs whose transfer a reader of a live journal may still meet."""
    debited: dict[TransferKey, tuple[str, InFlight]] = {}
    for region, book in books.items():
        for key, transfer in book.in_flight.items():
            debited[key] = (region, transfer)
    figures: dict[AssetKey, dict[str, RegionTransit]] = {}

    def figure(program: str, asset: str, region: str) -> RegionTransit:
        per_region = figures.setdefault((program, asset), {})
        return per_region.setdefault(region, RegionTransit())

    problems: list[str] = []
    settled: dict[TransferKey, str] = {}
    settled_for: dict[str, set[TransferKey]] = {region: set() for region in books}
    for region, book in books.items():
        for key, (event_id, leg) in sorted(book.early.items()):
            found = debited.get(key)
            if found is None or key in settled:
                # No region debited it, or another settled it: the region's own check names
                # the leg (it settles no transfer there).
                unpaired = figure(key[0], leg.asset, region)
                unpaired.unpaired += leg.amount
                if key in tolerated:
                    unpaired.tolerated += leg.amount
                if found is not None:
                    problems.append(
                        f"{event_id}: {leg.request_id} settles {found[1].request_id} of "
                        f"{found[0]}, already settled in {settled[key]}"
                    )
                continue
            source, transfer = found
            settled[key] = region
            settled_for[region].add(key)
            if (leg.asset, leg.amount) != (transfer.asset, transfer.amount):
                problems.append(
                    f"{event_id}: {leg.request_id} moves {leg.amount} {leg.asset} in {region}, "
                    f"its transfer {transfer.request_id} of {source} {transfer.amount} "
                    f"{transfer.asset}"
                )
            figure(key[0], leg.asset, region).settled_for[source] += leg.amount
            figure(key[0], transfer.asset, source).settled_elsewhere[region] += transfer.amount
    for key, (source, transfer) in debited.items():
        if key not in settled:
            figure(key[0], transfer.asset, source).in_flight += transfer.amount
    for region, book in books.items():
        for (program, asset, account), amount in book.postings.items():
            if account == TRANSIT:
                figure(program, asset, region).book += amount
    for region_figures in figures.values():
        for region in books:
            region_figures.setdefault(region, RegionTransit())
    problems += _global_problems(figures) + _owners_problems(books)
    return Reconciliation(
        {region: frozenset(keys) for region, keys in settled_for.items()}, figures, problems
    )


def _owners_problems(books: Mapping[str, Books]) -> list[str]:
    """Only the home decides an account: no two regions may have decided its events in one
    epoch. A region's last epoch of an account is its state's (live, or the stub a HANDOFF
    left); a copy behind its source shows an older epoch, never another region's."""
    deciders: dict[tuple[str, str, int], list[str]] = {}
    for region, book in books.items():
        for (program, account), state in book.states.items():
            deciders.setdefault((program, account, state.epoch), []).append(region)
    return [
        f"{program}:{account} was decided in {' and '.join(sorted(regions))} at epoch {epoch} "
        f"(two homes)"
        for (program, account, epoch), regions in sorted(deciders.items())
        if len(regions) > 1
    ]


def _global_problems(figures: dict[AssetKey, dict[str, RegionTransit]]) -> list[str]:
    problems = []
    for (program, asset), per_region in sorted(figures.items()):
        book = sum(region.book for region in per_region.values())
        flying = sum(region.in_flight - region.unpaired for region in per_region.values())
        if book + sum(region.tolerated for region in per_region.values()) < 0:
            problems.append(f"{TRANSIT} of {program} {asset} across regions is negative: {book}")
        if book != flying:
            problems.append(
                f"{TRANSIT} of {program} {asset} across regions is {book}, transfers in flight "
                f"carry {flying}"
            )
    return problems
