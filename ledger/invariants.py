"""The books' invariants, and `Books`: the journal folded into what they are checked against.

Pure: events in, readable problems out (never an assertion), so the same code serves the
property tests (after every event), `ledger audit` and the mirror's continuous audit.

Per account and asset (`account_problems`):
- the lots sum to max(available, 0), and every lot is positive and in spending order
  (a negative balance has no lots: later credits pay it back first);
- held equals the sum of the open holds, and every hold equals the sum of its slices.

Per program and asset, over the whole journal (`Books.problems`):
- the trial balance is zero: all postings, system accounts included, sum to nothing;
- each customer account's postings sum to its available balance;
- `@holds` equals the sum of every account's held;
- `@transit` equals the value of the transfer legs in flight (debited, neither credited
  nor refunded yet), and is never negative.

Per event (`Books.add`): the sequence continues (+1 per APPLIED event, unchanged otherwise),
the postings balance per asset, the balances the event states are those of the fold, a
credit or refund leg settles a transfer that is in flight, for its amount, no two legs settle
one transfer, and an INSTALL lands only where the account is unknown or a stub.

A leg whose transfer has not been folded yet is kept `early` rather than reported at once:
journal partitions are read side by side, so a reader can meet a credit (on the
destination's partition) before the debit (on the source's) that was committed first. When
the debit comes, the two settle; a leg still early at the end settles no transfer, which is
what a forged leg does. An auditor reading a live journal reads its tail once more and
tolerates only what the last read brought (`problems(tolerated=...)`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ledger.accounts import HOLDS, SYSTEM_PREFIX, TRANSIT
from ledger.evolve import evolve
from ledger.lots import spending_key
from ledger.model import AccountState, LedgerEvent, Operation, Status

AccountKey = tuple[str, str]
"""(program, account_id)"""
TransferKey = tuple[str, str, int, str]
"""(program, source account, sequence of the TRANSFER or HANDOFF event, asset): what one
leg settles (a move's value travels per asset, like one transfer per asset)."""


def account_problems(state: AccountState) -> list[str]:
    name = f"{state.program}:{state.account_id}"
    problems = []
    assets = set(state.balances) | set(state.lots) | {h.asset for h in state.holds.values()}
    for asset in sorted(assets):
        balance = state.balances.get(asset)
        available, held = (balance.available, balance.held) if balance else (0, 0)
        lots = state.lots.get(asset, ())
        in_lots = sum(lot.amount for lot in lots)
        if in_lots != max(available, 0):
            problems.append(
                f"{name} {asset}: lots sum to {in_lots}, available is {available} "
                f"(lots must sum to max(available, 0))"
            )
        problems += [
            f"{name} {asset}: lot {lot.lot_id} holds {lot.amount}"
            for lot in lots
            if lot.amount <= 0
        ]
        if list(lots) != sorted(lots, key=spending_key):
            problems.append(f"{name} {asset}: lots are not in spending order")
        holds = [hold for hold in state.holds.values() if hold.asset == asset]
        in_holds = sum(hold.amount for hold in holds)
        if in_holds != held:
            problems.append(f"{name} {asset}: open holds sum to {in_holds}, held is {held}")
        problems += [
            f"{name} {asset}: hold {hold.hold_id} is {hold.amount}, its slices sum to "
            f"{sum(part.amount for part in hold.portions)}"
            for hold in holds
            if sum(part.amount for part in hold.portions) != hold.amount
        ]
    return problems


@dataclass(frozen=True, slots=True)
class InFlight:
    asset: str
    amount: int
    request_id: str


@dataclass
class Books:
    """Every account's state and every posting, folded from journal events in order."""

    states: dict[AccountKey, AccountState] = field(default_factory=dict)
    postings: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(program, asset, account or @system) -> sum of postings"""
    in_flight: dict[TransferKey, InFlight] = field(default_factory=dict)
    early: dict[TransferKey, tuple[str, InFlight]] = field(default_factory=dict)
    """Legs folded before their transfer: key -> (event id, what the leg moved)."""
    events: int = 0

    def add(self, event: LedgerEvent) -> list[str]:
        """Fold one event; returns what is wrong with it (nothing is folded if its sequence
        does not continue the account's)."""
        self.events += 1
        key = (event.program, event.account_id)
        before = self.states.get(key)
        sequence = before.sequence if before else 0
        applied = event.status is Status.APPLIED
        expected = sequence + 1 if applied else sequence
        carried = event.request.carried_state
        if applied and event.request.operation is Operation.INSTALL and carried is not None:
            # An account arriving from another region continues the sequence it left at; here
            # it was unknown, or a stub of an older move.
            expected = carried.sequence + 1
            if before is not None and before.sequence and not before.moved_to:
                return [
                    f"{event.event_id}: INSTALL of {event.request.request_id} over an account "
                    f"that lives here (at sequence {before.sequence})"
                ]
        if event.sequence != expected:
            return [
                f"{event.event_id}: {event.status.value} at sequence {event.sequence}, "
                f"the account is at {sequence}"
            ]
        try:
            self.states[key] = evolve(before, event)
        except (AssertionError, KeyError, ValueError) as error:
            return [f"{event.event_id}: cannot be folded ({error!r})"]
        if not applied:
            return []
        problems = self._postings(event)
        state = self.states[key]
        for balance in event.balances:
            folded = state.balances.get(balance.asset)
            if folded != balance:
                problems.append(f"{event.event_id}: states {balance}, the fold has {folded}")
        return problems + self._transit(event)

    def _postings(self, event: LedgerEvent) -> list[str]:
        per_asset: Counter[str] = Counter()
        for posting in event.postings:
            per_asset[posting.asset] += posting.amount
            self.postings[(event.program, posting.asset, posting.account)] += posting.amount
        return [
            f"{event.event_id}: postings of {asset} sum to {total}"
            for asset, total in per_asset.items()
            if total
        ]

    def _transit(self, event: LedgerEvent) -> list[str]:
        request = event.request
        operation = request.operation
        if operation is Operation.TRANSFER:
            moved = InFlight(request.asset, request.amount, request.request_id)
            return self._debited((event.program, event.account_id, event.sequence), moved)
        if operation in (Operation.HANDOFF, Operation.INSTALL):
            return self._moved(event)
        if operation is Operation.TRANSFER_CREDIT:
            source = request.counterparty_account_id or ""
        elif operation is Operation.TRANSFER_REFUND:
            source = event.account_id
        else:
            return []
        _, _, number = request.request_id.rpartition(":")
        moved = InFlight(request.asset, request.amount, request.request_id)
        key = (event.program, source, int(number) if number.isdigit() else -1)
        return self._settled(event.event_id, key, moved)

    def _moved(self, event: LedgerEvent) -> list[str]:
        """A HANDOFF debits, per asset, what an INSTALL credits (both postings to @transit)."""
        request = event.request
        handoff = request.operation is Operation.HANDOFF
        carried = request.carried_state
        sequence = event.sequence if handoff or carried is None else carried.sequence
        problems = []
        for posting in event.postings:
            if posting.account != TRANSIT:
                continue
            moved = InFlight(posting.asset, abs(posting.amount), request.request_id)
            key = (event.program, event.account_id, sequence)
            if handoff:
                problems += self._debited(key, moved)
            else:
                problems += self._settled(event.event_id, key, moved)
        return problems

    def _debited(self, key: tuple[str, str, int], moved: InFlight) -> list[str]:
        full = (*key, moved.asset)
        early = self.early.pop(full, None)
        if early is None:
            self.in_flight[full] = moved
            return []
        return _settles(early[0], early[1], moved)

    def _settled(self, event_id: str, key: tuple[str, str, int], moved: InFlight) -> list[str]:
        full = (*key, moved.asset)
        transfer = self.in_flight.pop(full, None)
        if transfer is not None:
            return _settles(event_id, moved, transfer)
        first = self.early.get(full)
        if first is not None:
            # Both may not wait for the debit: one of them settles nothing. The first stays
            # early; the sums of @transit name the value the second moved.
            return [
                f"{event_id}: {moved.request_id} settles {':'.join(map(str, key))} "
                f"{moved.asset}, which {first[0]} settles already"
            ]
        self.early[full] = (event_id, moved)
        return []

    def problems(self, tolerated: frozenset[TransferKey] = frozenset()) -> list[str]:
        """Every book-wide invariant, now; legs in `tolerated` may still meet their transfer."""
        problems = [
            f"{event_id}: {leg.request_id} settles no transfer"
            for key, (event_id, leg) in sorted(self.early.items())
            if key not in tolerated
        ]
        for state in self.states.values():
            problems += account_problems(state)
        trial: Counter[tuple[str, str]] = Counter()
        holds: Counter[tuple[str, str]] = Counter()
        transit: Counter[tuple[str, str]] = Counter()
        for (program, asset, account), amount in self.postings.items():
            trial[(program, asset)] += amount
            if account == HOLDS:
                holds[(program, asset)] += amount
            elif account == TRANSIT:
                transit[(program, asset)] += amount
            elif not account.startswith(SYSTEM_PREFIX):
                customer = self.states.get((program, account))
                balance = customer.balances.get(asset) if customer else None
                available = balance.available if balance else 0
                if amount != available:
                    problems.append(
                        f"{program}:{account} {asset}: postings sum to {amount}, "
                        f"available is {available}"
                    )
        problems += [
            f"trial balance of {program} {asset} is {total}, not 0"
            for (program, asset), total in sorted(trial.items())
            if total
        ]
        held: Counter[tuple[str, str]] = Counter()
        for (program, _), state in self.states.items():
            for balance in state.balances.values():
                held[(program, balance.asset)] += balance.held
        for key in sorted(set(held) | set(holds)):
            if held[key] != holds[key]:
                problems.append(
                    f"{HOLDS} of {key[0]} {key[1]} is {holds[key]}, accounts hold {held[key]}"
                )
        # In flight: debited, not settled. An early leg moved value out of @transit before its
        # debit was folded; a tolerated one is counted as if the debit had been.
        flying: Counter[tuple[str, str]] = Counter()
        tolerated_early: Counter[tuple[str, str]] = Counter()
        for (program, _, _, _), leg in self.in_flight.items():
            flying[(program, leg.asset)] += leg.amount
        for transfer, (_, leg) in self.early.items():
            flying[(transfer[0], leg.asset)] -= leg.amount
            if transfer in tolerated:
                tolerated_early[(transfer[0], leg.asset)] += leg.amount
        for key in sorted(set(flying) | set(transit)):
            if transit[key] + tolerated_early[key] < 0:
                problems.append(f"{TRANSIT} of {key[0]} {key[1]} is negative: {transit[key]}")
            if transit[key] != flying[key]:
                problems.append(
                    f"{TRANSIT} of {key[0]} {key[1]} is {transit[key]}, transfers in flight "
                    f"carry {flying[key]}"
                )
        return problems


def _settles(event_id: str, leg: InFlight, transfer: InFlight) -> list[str]:
    if (leg.asset, leg.amount) == (transfer.asset, transfer.amount):
        return []
    return [
        f"{event_id}: {leg.request_id} moves {leg.amount} {leg.asset}, its transfer "
        f"{transfer.request_id} {transfer.amount} {transfer.asset}"
    ]
