"""Stateful property tests: decide/evolve/due_timers against a deliberately simple model.

The model below shares no code with `ledger/`: lots are mutable lists, holds keep their slices
as plain tuples, and every rule is written the obvious way. After every step the machine checks
that the ledger agrees with the model on outcome and balances, and the invariants:

- balances are never negative for an asset whose clawback policy is `reject`;
- every invariant of ledger/invariants.py after every event (trial balance, lots sum to
  max(available, 0), held = open holds, @holds, @transit = legs in flight, never negative);
- duplicates leave the state identical (the very same object); a rejection changes nothing
  but the memory of its request id, and its retry answers DUPLICATE with the same reason;
- a system operation or an ADJUST on the public channel is refused and changes nothing;
- folding an account's events gives its state;
- timers fire exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.decide import decide
from ledger.evolve import evolve
from ledger.idempotency import remembers
from ledger.invariants import Books
from ledger.model import (
    SYSTEM_OPERATIONS,
    AccountState,
    CarriedLot,
    Channel,
    LedgerEvent,
    Operation,
    Request,
    Status,
)
from ledger.programs import Programs
from ledger.timers import due_timers
from settings.programs import load_programs
from tests.unit.ledger.conftest import SAMPLE_CONFIG

PROGRAMS: Programs = load_programs(SAMPLE_CONFIG)
DAY = 86_400_000
LIFETIME = {"points": 365 * DAY, "cashback_inr": 90 * DAY}
NEGATIVE_ALLOWED = {"points": True, "cashback_inr": False}
HOLD_TIMEOUT = 15 * 60_000
WINDOW = PROGRAMS["acme"].idempotency_window_ms
LEGS = (Operation.TRANSFER_CREDIT, Operation.TRANSFER_REFUND)
ACCOUNTS = ("ann", "ben")
ASSETS = ("points", "cashback_inr")
EXPIRIES = st.sampled_from([None, 5 * 60_000, 30 * 60_000, 2 * 3_600_000])
AMOUNTS = st.integers(min_value=1, max_value=120)
INFINITY = float("inf")


# --- the model ------------------------------------------------------------------------------


@dataclass
class ModelLot:
    key: int
    expires: int | None
    amount: int

    def order(self) -> tuple[float, int]:
        return (INFINITY if self.expires is None else self.expires, self.key)


@dataclass
class ModelBook:
    lots: list[ModelLot] = field(default_factory=list)
    debt: int = 0
    held: int = 0

    def available(self) -> int:
        return sum(lot.amount for lot in self.lots) - self.debt

    def spendable(self, now: int) -> int:
        return sum(lot.amount for lot in self.lots if lot.expires is None or lot.expires > now)


@dataclass
class ModelHold:
    account: str
    asset: str
    amount: int
    expires: int
    slices: list[tuple[int, int | None, int]]  # (lot key, expiry, amount)
    open: bool = True


@dataclass
class Original:
    account: str
    asset: str
    operation: str
    amount: int
    expires: int | None  # of an accrual's value
    reversed: int = 0


class Model:
    def __init__(self) -> None:
        self.books: dict[tuple[str, str], ModelBook] = defaultdict(ModelBook)
        self.holds: dict[str, ModelHold] = {}
        self.originals: dict[str, Original] = {}
        self.next_key = 0

    def _new_lot(self, account: str, asset: str, amount: int, expires: int | None) -> int | None:
        book = self.books[(account, asset)]
        paid = min(book.debt, amount)
        book.debt -= paid
        if amount - paid == 0:
            return None
        self.next_key += 1
        book.lots.append(ModelLot(self.next_key, expires, amount - paid))
        return self.next_key

    def credit_slices(self, account: str, asset: str, slices: list[tuple[int | None, int]]) -> None:
        for expires, amount in sorted(slices, key=lambda s: INFINITY if s[0] is None else s[0]):
            self._new_lot(account, asset, amount, expires)

    def take(
        self,
        account: str,
        asset: str,
        amount: int,
        now: int | None,
        first: int | None = None,
        expiry_first: bool = False,
    ) -> tuple[list[tuple[int, int | None, int]], int]:
        """Take from lots (only unexpired when now is given); returns slices taken. With
        `expiry_first`, lots expiring at `first` go first (a reversal takes back its own)."""
        book = self.books[(account, asset)]
        ordered = sorted(book.lots, key=ModelLot.order)
        if expiry_first:
            ordered.sort(key=lambda lot: lot.expires != first)
        taken: list[tuple[int, int | None, int]] = []
        for lot in ordered:
            if amount == 0:
                break
            if now is not None and lot.expires is not None and lot.expires <= now:
                continue
            part = min(lot.amount, amount)
            lot.amount -= part
            amount -= part
            taken.append((lot.key, lot.expires, part))
        book.lots = [lot for lot in book.lots if lot.amount > 0]
        return taken, amount

    def release(self, hold: ModelHold, captured: int, now: int) -> int:
        """Close a hold; returns the amount expired at release. What comes back pays a
        negative balance first, earliest-expiring slices first."""
        hold.open = False
        book = self.books[(hold.account, hold.asset)]
        book.held -= hold.amount
        expired = 0
        for key, expires, amount in hold.slices:
            used = min(captured, amount)
            captured -= used
            amount -= used
            paid = min(book.debt, amount)
            book.debt -= paid
            amount -= paid
            if amount == 0:
                continue
            if expires is not None and expires <= now:
                expired += amount
                continue
            lot = next((lot for lot in book.lots if lot.key == key), None)
            if lot is None:
                book.lots.append(ModelLot(key, expires, amount))
            else:
                lot.amount += amount
        return expired


# --- the machine ----------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000_000
        self.model = Model()
        self.states: dict[str, AccountState] = {}
        self.events: dict[str, list[LedgerEvent]] = defaultdict(list)
        self.totals: dict[tuple[str, str], int] = defaultdict(int)
        self.applied: list[Request] = []
        self.first_outcomes: dict[tuple[str, str], tuple[Request, str | None]] = {}
        """(account, request_id) -> the request and its first outcome's reason (None:
        applied), for every request whose outcome is final."""
        self.counter = 0
        self.fired_timers: set[tuple[str, str]] = set()
        self.books = Books()

    # -- plumbing --

    def _id(self) -> str:
        self.counter += 1
        return f"r{self.counter}"

    def _request(
        self, account: str, operation: Operation, asset: str, amount: int, **extra: Any
    ) -> Request:
        return Request(
            request_id=self._id(),
            program="acme",
            account_id=account,
            operation=operation,
            asset=asset,
            amount=amount,
            requested_at_ms=self.now,
            **extra,
        )

    def _submit(self, request: Request, channel: Channel | None = None) -> LedgerEvent:
        if channel is None:
            channel = Channel.OPERATOR if request.operation is Operation.ADJUST else Channel.PUBLIC
        before = self.states.get(request.account_id)
        decision = decide(before, request, self.now, PROGRAMS, channel)
        event = decision.event
        if event.status is Status.APPLIED:
            assert event.sequence == (before.sequence if before else 0) + 1
            self.applied.append(request)
            for posting in event.postings:
                self.totals[(posting.asset, posting.account)] += posting.amount
        else:
            assert event.sequence == (before.sequence if before else 0)
            assert event.postings == () and event.lots == () and event.balances == ()
            if before is not None and event.status is Status.DUPLICATE:
                assert decision.state is before
        if remembers(event):
            self.states[request.account_id] = decision.state
            self.events[request.account_id].append(event)
            key = (request.account_id, request.request_id)
            self.first_outcomes[key] = (request, event.reason)
        elif before is not None:
            assert decision.state is before
        assert self.books.add(event) == []
        for emitted in decision.emitted:
            self._submit(emitted, Channel.SYSTEM)
        return event

    def _expect(self, request: Request, applies: bool) -> LedgerEvent:
        event = self._submit(request)
        assert (event.status is Status.APPLIED) == applies, (request, event.reason)
        return event

    # -- rules --

    @rule(
        account=st.sampled_from(ACCOUNTS),
        asset=st.sampled_from(ASSETS),
        amount=AMOUNTS,
        expiry=EXPIRIES,
    )
    def accrue(self, account: str, asset: str, amount: int, expiry: int | None) -> None:
        expires = self.now + (expiry if expiry is not None else LIFETIME[asset])
        request = self._request(account, Operation.ACCRUE, asset, amount, expires_at_ms=expires)
        self._expect(request, True)
        self.model._new_lot(account, asset, amount, expires)
        self.model.originals[request.request_id] = Original(
            account, asset, "ACCRUE", amount, expires
        )

    @rule(account=st.sampled_from(ACCOUNTS), asset=st.sampled_from(ASSETS), amount=AMOUNTS)
    def redeem(self, account: str, asset: str, amount: int) -> None:
        request = self._request(account, Operation.REDEEM, asset, amount)
        ok = self.model.books[(account, asset)].spendable(self.now) >= amount
        self._expect(request, ok)
        if ok:
            self.model.take(account, asset, amount, self.now, None)
            self.model.originals[request.request_id] = Original(
                account, asset, "REDEEM", amount, None
            )

    @rule(account=st.sampled_from(ACCOUNTS), asset=st.sampled_from(ASSETS), amount=AMOUNTS)
    def hold(self, account: str, asset: str, amount: int) -> None:
        request = self._request(account, Operation.HOLD, asset, amount)
        book = self.model.books[(account, asset)]
        ok = book.spendable(self.now) >= amount
        self._expect(request, ok)
        if ok:
            slices, _ = self.model.take(account, asset, amount, self.now, None)
            book.held += amount
            self.model.holds[request.request_id] = ModelHold(
                account, asset, amount, self.now + HOLD_TIMEOUT, slices
            )

    @precondition(lambda self: self.model.holds)
    @rule(data=st.data(), capture=st.booleans())
    def close_hold(self, data: st.DataObject, capture: bool) -> None:
        hold_id = data.draw(st.sampled_from(sorted(self.model.holds)))
        hold = self.model.holds[hold_id]
        amount = data.draw(st.integers(1, hold.amount + 5)) if capture else 0
        operation = Operation.CAPTURE if capture else Operation.RELEASE
        request = self._request(hold.account, operation, hold.asset, amount, reference=hold_id)
        ok = hold.open and self.now < hold.expires and amount <= hold.amount
        self._expect(request, ok)
        if ok:
            self.model.release(hold, amount, self.now)
            if capture:
                self.model.originals[request.request_id] = Original(
                    hold.account, hold.asset, "CAPTURE", amount, None
                )

    @precondition(lambda self: self.model.originals)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        original_id = data.draw(st.sampled_from(sorted(self.model.originals)))
        original = self.model.originals[original_id]
        amount = data.draw(st.integers(1, original.amount + 3))
        request = self._request(
            original.account, Operation.REVERSE, original.asset, amount, reference=original_id
        )
        book = self.model.books[(original.account, original.asset)]
        ok = original.reversed + amount <= original.amount
        # An accrual whose value expired cannot be reversed: it left the customer already.
        expired = original.expires is not None and self.now >= original.expires
        if ok and original.operation == "ACCRUE" and expired:
            ok = False
        if ok and original.operation == "ACCRUE" and not NEGATIVE_ALLOWED[original.asset]:
            ok = book.available() >= amount
        event = self._expect(request, ok)
        if not ok:
            if (
                original.operation == "ACCRUE"
                and expired
                and original.reversed + amount <= (original.amount)
            ):
                assert event.reason == "accrual_expired"
            return
        original.reversed += amount
        if original.operation == "ACCRUE":
            _, missing = self.model.take(
                original.account, original.asset, amount, None, original.expires, True
            )
            book.debt += missing
        else:
            expires = self.now + LIFETIME[original.asset]
            self.model.credit_slices(original.account, original.asset, [(expires, amount)])

    @rule(
        account=st.sampled_from(ACCOUNTS),
        asset=st.sampled_from(ASSETS),
        amount=st.integers(-150, 150).filter(bool),
    )
    def adjust(self, account: str, asset: str, amount: int) -> None:
        request = self._request(account, Operation.ADJUST, asset, amount, reason="correction")
        book = self.model.books[(account, asset)]
        ok = amount > 0 or NEGATIVE_ALLOWED[asset] or book.available() >= -amount
        self._expect(request, ok)
        if ok and amount > 0:
            self.model.credit_slices(account, asset, [(self.now + LIFETIME[asset], amount)])
        elif ok:
            _, missing = self.model.take(account, asset, -amount, None, None)
            book.debt += missing

    @rule(account=st.sampled_from(ACCOUNTS), beyond=st.integers(1, 50))
    def claw_back_beyond_the_balance(self, account: str, beyond: int) -> None:
        """Debt while value is held or in lots: what comes back later must pay it first."""
        available = self.model.books[(account, "points")].available()
        self.adjust(account, "points", -(max(available, 0) + beyond))

    @rule(source=st.sampled_from(ACCOUNTS), amount=AMOUNTS)
    def transfer(self, source: str, amount: int) -> None:
        destination = ACCOUNTS[1 - ACCOUNTS.index(source)]
        request = self._request(
            source, Operation.TRANSFER, "points", amount, counterparty_account_id=destination
        )
        ok = self.model.books[(source, "points")].spendable(self.now) >= amount
        self._expect(request, ok)
        if ok:
            slices, _ = self.model.take(source, "points", amount, self.now, None)
            self.model.credit_slices(
                destination, "points", [(expires, part) for _, expires, part in slices]
            )

    @precondition(lambda self: self.first_outcomes)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Any request sent again: the first outcome again, applied or rejected."""
        key = data.draw(st.sampled_from(sorted(self.first_outcomes)[-30:]))
        original, reason = self.first_outcomes[key]
        before = self.states[original.account_id]
        if original.operation in SYSTEM_OPERATIONS:
            channel = Channel.SYSTEM
            if original.operation in LEGS and self.now - original.requested_at_ms > WINDOW:
                # A leg is delivered again only by a transaction that did not commit, so never
                # after its window: legs are exempt from staleness (docs/domain.md).
                return
        elif original.operation is Operation.ADJUST:
            channel = Channel.OPERATOR
        else:
            channel = Channel.PUBLIC
        decision = decide(before, original, self.now, PROGRAMS, channel)
        assert decision.emitted == ()
        if decision.event.status is Status.DUPLICATE:
            assert decision.state is before
            assert decision.event.reason == reason
            return
        assert decision.state is before
        # Only a request older than the idempotency window may stop being a duplicate; timers
        # are exempt from staleness and guarded by state instead: their lot or hold is gone.
        if original.operation in (Operation.EXPIRE, Operation.HOLD_TIMEOUT):
            assert decision.event.reason in ("reference_not_found", "hold_not_open")
        else:
            assert decision.event.reason == "stale_request"

    @rule(account=st.sampled_from(ACCOUNTS), amount=AMOUNTS)
    def rejected_request_moves_nothing(self, account: str, amount: int) -> None:
        before = self.states.get(account)
        request = self._request(account, Operation.REDEEM, "points", 10**6 + amount)
        event = self._expect(request, False)
        assert event.reason == "amount_exceeds_limit"
        after = self.states[account]
        if before is not None:
            assert (after.sequence, after.balances, after.lots, after.holds) == (
                before.sequence,
                before.balances,
                before.lots,
                before.holds,
            )

    @rule(
        account=st.sampled_from(ACCOUNTS),
        operation=st.sampled_from(
            [
                Operation.TRANSFER_CREDIT,
                Operation.TRANSFER_REFUND,
                Operation.EXPIRE,
                Operation.HOLD_TIMEOUT,
                Operation.ADJUST,
            ]
        ),
        amount=st.integers(1, 10**6),
    )
    def forged_on_the_public_channel(self, account: str, operation: Operation, amount: int) -> None:
        """Anyone who can write the public topic: refused, nothing moves, nothing remembered."""
        before = self.states.get(account)
        other = ACCOUNTS[1 - ACCOUNTS.index(account)]
        forged = Request(
            request_id=f"credit:{other}:{self.counter}",
            program="acme",
            account_id=account,
            operation=operation,
            asset="points",
            amount=amount,
            reference="1",
            counterparty_account_id=other,
            reason="forged",
            requested_at_ms=self.now,
            principal="system",
            carried_lots=(CarriedLot(amount, None),),
        )
        event = self._submit(forged, Channel.PUBLIC)
        assert event.reason == "operation_not_permitted"
        assert self.states.get(account) is before

    @rule(step=st.sampled_from([60_000, 10 * 60_000, 3_600_000, DAY]))
    def advance_and_run_timers(self, step: int) -> None:
        self.now += step
        expected_expired = 0
        for hold in self.model.holds.values():
            if hold.open and hold.expires <= self.now:
                expected_expired += self.model.release(hold, 0, self.now)
        for book in self.model.books.values():
            for lot in book.lots:
                if lot.expires is not None and lot.expires <= self.now:
                    expected_expired += lot.amount
                    lot.amount = 0
            book.lots = [lot for lot in book.lots if lot.amount > 0]
        expired_before = sum(v for (_, a), v in self.totals.items() if a == "@expired")
        for account in ACCOUNTS:
            state = self.states.get(account)
            if state is None:
                continue
            for timer in due_timers(state, self.now, PROGRAMS):
                assert (account, timer.request_id) not in self.fired_timers
                assert self._submit(timer, Channel.SYSTEM).status is Status.APPLIED
                self.fired_timers.add((account, timer.request_id))
                repeat = decide(self.states[account], timer, self.now, PROGRAMS, Channel.SYSTEM)
                assert repeat.event.status is Status.DUPLICATE
            assert due_timers(self.states[account], self.now, PROGRAMS) == []
        expired_after = sum(v for (_, a), v in self.totals.items() if a == "@expired")
        assert expired_after - expired_before == expected_expired

    # -- invariants --

    @invariant()
    def balances_match_the_model(self) -> None:
        for account in ACCOUNTS:
            state = self.states.get(account)
            for asset in ASSETS:
                book = self.model.books[(account, asset)]
                balance = state.balances.get(asset) if state else None
                actual = (balance.available, balance.held) if balance else (0, 0)
                assert actual == (book.available(), book.held), (account, asset)
                if not NEGATIVE_ALLOWED[asset]:
                    assert actual[0] >= 0

    @invariant()
    def trial_balance_is_zero(self) -> None:
        sums: dict[str, int] = defaultdict(int)
        for (asset, _), amount in self.totals.items():
            sums[asset] += amount
        assert all(total == 0 for total in sums.values()), dict(sums)
        for account in ACCOUNTS:
            state = self.states.get(account)
            for asset in ASSETS:
                balance = state.balances.get(asset) if state else None
                posted = self.totals.get((asset, account), 0)
                assert posted == (balance.available if balance else 0)

    @invariant()
    def books_hold_every_invariant(self) -> None:
        assert self.books.problems() == []

    @invariant()
    def fold_of_events_is_the_state(self) -> None:
        for account, events in self.events.items():
            folded: AccountState | None = None
            for event in events:
                folded = evolve(folded, event)
            assert folded == self.states[account]


LedgerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase
