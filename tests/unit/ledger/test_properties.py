"""Stateful property tests: decide/evolve/due_timers against a deliberately simple model.

The model below shares no code with `ledger/`: lots are mutable lists, holds keep their slices
as plain tuples, and every rule is written the obvious way. After every step the machine checks
that the ledger agrees with the model on outcome and balances, and the invariants:

- balances are never negative for an asset whose clawback policy is `reject`;
- the trial balance (all postings, system accounts included) is zero per program and asset;
- duplicates and rejections leave the state identical (the very same object);
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
from ledger.model import AccountState, LedgerEvent, Operation, Request, Status
from ledger.programs import Programs, load_programs
from ledger.timers import due_timers
from tests.unit.ledger.conftest import SAMPLE_CONFIG

PROGRAMS: Programs = load_programs(SAMPLE_CONFIG)
DAY = 86_400_000
LIFETIME = {"points": 365 * DAY, "cashback_inr": 90 * DAY}
NEGATIVE_ALLOWED = {"points": True, "cashback_inr": False}
HOLD_TIMEOUT = 15 * 60_000
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
    lot_key: int | None
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
        self, account: str, asset: str, amount: int, now: int | None, first: int | None
    ) -> tuple[list[tuple[int, int | None, int]], int]:
        """Take from lots (only unexpired when now is given); returns slices taken."""
        book = self.books[(account, asset)]
        ordered = sorted(book.lots, key=ModelLot.order)
        ordered.sort(key=lambda lot: lot.key != first)
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
        """Close a hold; returns the amount expired at release."""
        hold.open = False
        book = self.books[(hold.account, hold.asset)]
        book.held -= hold.amount
        expired = 0
        for key, expires, amount in hold.slices:
            used = min(captured, amount)
            captured -= used
            amount -= used
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
        self.counter = 0
        self.fired_timers: set[tuple[str, str]] = set()

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

    def _submit(self, request: Request) -> LedgerEvent:
        before = self.states.get(request.account_id)
        decision = decide(before, request, self.now, PROGRAMS)
        event = decision.event
        if event.status is Status.APPLIED:
            assert event.sequence == (before.sequence if before else 0) + 1
            self.states[request.account_id] = decision.state
            self.events[request.account_id].append(event)
            self.applied.append(request)
            for posting in event.postings:
                self.totals[(posting.asset, posting.account)] += posting.amount
        else:
            assert event.sequence == (before.sequence if before else 0)
            if before is not None:
                assert decision.state is before
        for emitted in decision.emitted:
            self._submit(emitted)
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
        key = self.model._new_lot(account, asset, amount, expires)
        self.model.originals[request.request_id] = Original(account, asset, "ACCRUE", amount, key)

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
        if ok and original.operation == "ACCRUE" and not NEGATIVE_ALLOWED[original.asset]:
            ok = book.available() >= amount
        self._expect(request, ok)
        if not ok:
            return
        original.reversed += amount
        if original.operation == "ACCRUE":
            _, missing = self.model.take(
                original.account, original.asset, amount, None, original.lot_key
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

    @precondition(lambda self: self.applied)
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(self.applied[-20:]))
        before = self.states[original.account_id]
        decision = decide(before, original, self.now, PROGRAMS)
        assert decision.state is before and decision.emitted == ()
        if decision.event.status is Status.DUPLICATE:
            return
        # Only a request older than the idempotency window may stop being a duplicate; timers
        # are exempt from staleness and guarded by state instead: their lot or hold is gone.
        if original.operation in (Operation.EXPIRE, Operation.HOLD_TIMEOUT):
            assert decision.event.reason in ("reference_not_found", "hold_not_open")
        else:
            assert decision.event.reason == "stale_request"

    @rule(account=st.sampled_from(ACCOUNTS), amount=AMOUNTS)
    def rejected_request_changes_nothing(self, account: str, amount: int) -> None:
        before = self.states.get(account)
        request = self._request(account, Operation.REDEEM, "points", 10**6 + amount)
        decision = decide(before, request, self.now, PROGRAMS)
        assert decision.event.status is Status.REJECTED
        if before is not None:
            assert decision.state is before and decision.state == before

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
                self._expect(timer, True)
                self.fired_timers.add((account, timer.request_id))
                repeat = decide(self.states[account], timer, self.now, PROGRAMS)
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
