"""An independent, deliberately simple model of the ledger, for the tests and the benchmarks.

It shares no code with `ledger/`: plain integers per account and asset, applied in the order
the workload sends requests for each account. The workloads that use it avoid what would make
it complicated (lot expiry during a run, hold timeouts), so balances are plain sums: a
disagreement with the journal is a bug in one of the two, never a modelling shortcut.

The rules it knows, written plainly: every outcome is final (a retry answers DUPLICATE of the
first outcome, with the rejection's reason; other content under the same id is
`idempotency_conflict`, which is not remembered), and a request may only ask for what the
channel it came through allows (`operation_not_permitted`, not remembered either).

An account is a JSON-able value (`to_json`/`from_json`): the Faust peer of `ledger bench`
(bench/faust_app.py) keeps one per account in its table and decides with this same model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

APPLIED = "APPLIED"
REJECTED = "REJECTED"
DUPLICATE = "DUPLICATE"
ALLOW_NEGATIVE = {"points", "game_coins"}  # clawback policies of config/programs.toml
CLIENT = {"ACCRUE", "REDEEM", "HOLD", "CAPTURE", "RELEASE", "REVERSE", "TRANSFER"}
PERMITTED = {
    "public": CLIENT,
    "operator": CLIENT | {"ADJUST"},
    "system": {"TRANSFER_CREDIT", "TRANSFER_REFUND", "EXPIRE", "HOLD_TIMEOUT"},
}
POSITIVE = {"ACCRUE", "REDEEM", "HOLD", "TRANSFER", "REVERSE", "CAPTURE"}


@dataclass
class _Original:
    operation: str
    asset: str
    amount: int
    reversed: int = 0


@dataclass
class _Hold:
    asset: str
    amount: int
    open: bool = True


@dataclass(frozen=True)
class Outcome:
    status: str  # APPLIED | REJECTED | DUPLICATE
    reason: str | None = None  # of a rejection, or of the rejection a DUPLICATE repeats


@dataclass(frozen=True)
class ModelRequest:
    request_id: str
    account: str
    operation: str
    asset: str
    amount: int = 0
    reference: str | None = None
    counterparty: str | None = None
    reason: str | None = None

    def content(self) -> tuple[object, ...]:
        """What makes two requests with the same id the same request."""
        return (
            self.operation,
            self.asset,
            self.amount,
            self.reference,
            self.counterparty,
            self.reason,
        )


@dataclass
class ModelAccount:
    available: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    # id -> content, of every request with a final outcome (applied or rejected)
    remembered: dict[str, tuple[object, ...]] = field(default_factory=dict)
    originals: dict[str, _Original] = field(default_factory=dict)
    holds: dict[str, _Hold] = field(default_factory=dict)
    first: dict[str, Outcome] = field(default_factory=dict)  # id -> the first, final outcome

    def balance(self, asset: str) -> tuple[int, int]:
        """(available, held) of one asset."""
        return self.available.get(asset, 0), self.held.get(asset, 0)

    def apply(self, request: ModelRequest, channel: str = "public") -> Outcome:
        if request.operation not in PERMITTED[channel]:
            return Outcome(REJECTED, "operation_not_permitted")
        seen = self.remembered.get(request.request_id)
        if seen is not None:
            if seen == request.content():
                return Outcome(DUPLICATE, self.first[request.request_id].reason)
            return Outcome(REJECTED, "idempotency_conflict")
        reason = self._decide(request)
        outcome = Outcome(APPLIED) if reason is None else Outcome(REJECTED, reason)
        self.remembered[request.request_id] = request.content()
        self.first[request.request_id] = outcome
        return outcome

    def _decide(self, r: ModelRequest) -> str | None:
        op = r.operation
        if op in POSITIVE and r.amount <= 0:
            return "amount_must_be_positive"
        if op == "ACCRUE":
            self._add(r.asset, r.amount)
            self.originals[r.request_id] = _Original(op, r.asset, r.amount)
        elif op in {"REDEEM", "TRANSFER", "HOLD"}:
            if max(self.available.get(r.asset, 0), 0) < r.amount:
                return "insufficient_funds"
            self._add(r.asset, -r.amount)
            if op == "REDEEM":
                self.originals[r.request_id] = _Original(op, r.asset, r.amount)
            if op == "HOLD":
                self.held[r.asset] = self.held.get(r.asset, 0) + r.amount
                self.holds[r.request_id] = _Hold(r.asset, r.amount)
        elif op in {"CAPTURE", "RELEASE"}:
            return self._close_hold(r)
        elif op == "REVERSE":
            return self._reverse(r)
        elif op == "ADJUST":
            available = self.available.get(r.asset, 0)
            if r.amount < 0 and available < -r.amount and r.asset not in ALLOW_NEGATIVE:
                return "insufficient_funds"
            self._add(r.asset, r.amount)
        else:
            raise AssertionError(f"the model does not know {op}")
        return None

    def _close_hold(self, r: ModelRequest) -> str | None:
        hold = self.holds.get(r.reference or "")
        if hold is None:
            return "reference_not_found"
        if not hold.open:
            return "hold_not_open"
        captured = r.amount if r.operation == "CAPTURE" else 0
        if captured > hold.amount:
            return "capture_exceeds_hold"
        hold.open = False
        self.held[r.asset] = self.held.get(r.asset, 0) - hold.amount
        self._add(r.asset, hold.amount - captured)
        if r.operation == "CAPTURE":
            self.originals[r.request_id] = _Original(r.operation, r.asset, captured)
        return None

    def _reverse(self, r: ModelRequest) -> str | None:
        original = self.originals.get(r.reference or "")
        if original is None:
            return "reference_not_found"
        if original.reversed == original.amount:
            return "already_reversed"
        if original.reversed + r.amount > original.amount:
            return "reversal_exceeds_original"
        if original.operation == "ACCRUE":
            # Undoing a credit takes value back (negative only where the asset allows it).
            if self.available.get(r.asset, 0) < r.amount and r.asset not in ALLOW_NEGATIVE:
                return "accrual_already_spent"
            self._add(r.asset, -r.amount)
        else:
            self._add(r.asset, r.amount)  # undoing a debit gives it back
        original.reversed += r.amount
        return None

    def _add(self, asset: str, amount: int) -> None:
        self.available[asset] = self.available.get(asset, 0) + amount

    def to_json(self) -> bytes:
        return json.dumps(
            [
                self.available,
                self.held,
                self.remembered,
                {
                    k: [o.operation, o.asset, o.amount, o.reversed]
                    for k, o in self.originals.items()
                },
                {k: [h.asset, h.amount, h.open] for k, h in self.holds.items()},
                {k: [o.status, o.reason] for k, o in self.first.items()},
            ],
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | None) -> ModelAccount:
        if not data:
            return cls()
        available, held, remembered, originals, holds, first = json.loads(data)
        return cls(
            available,
            held,
            {k: tuple(v) for k, v in remembered.items()},
            {k: _Original(*v) for k, v in originals.items()},
            {k: _Hold(*v) for k, v in holds.items()},
            {k: Outcome(*v) for k, v in first.items()},
        )


class LedgerModel:
    """Every account of a workload, in the order the workload sends each account's requests."""

    def __init__(self) -> None:
        self.accounts: dict[str, ModelAccount] = {}

    def account(self, name: str) -> ModelAccount:
        return self.accounts.setdefault(name, ModelAccount())

    def balance(self, name: str, asset: str) -> tuple[int, int]:
        return self.account(name).balance(asset)

    def balances(self, asset: str) -> dict[str, tuple[int, int]]:
        """account -> (available, held) of one asset."""
        return {name: account.balance(asset) for name, account in self.accounts.items()}

    def credit(self, name: str, asset: str, amount: int) -> None:
        """A transfer's credit leg: always applies to the receiver accounts of the workload."""
        self.account(name)._add(asset, amount)

    def apply(self, request: ModelRequest, channel: str = "public") -> Outcome:
        return self.account(request.account).apply(request, channel)
