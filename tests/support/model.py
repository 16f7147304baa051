"""An independent, deliberately simple model of the ledger for end-to-end checks.

It shares no code with `ledger/`: plain integers per account and asset, applied in the order
the workload sends requests for each account. The workloads that use it avoid what would make
it complicated (lot expiry during the test, hold timeouts), so balances are plain sums: a
disagreement with the journal is a bug in one of the two, never a modelling shortcut.

The rules it knows, written plainly: every outcome is final (a retry answers DUPLICATE of the
first outcome, with the rejection's reason; other content under the same id is
`idempotency_conflict`, which is not remembered), and a request may only ask for what the
channel it came through allows (`operation_not_permitted`, not remembered either).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALLOW_NEGATIVE = {"points", "game_coins"}  # clawback policies of config/programs.toml
CLIENT = {"ACCRUE", "REDEEM", "HOLD", "CAPTURE", "RELEASE", "REVERSE", "TRANSFER"}
PERMITTED = {
    "public": CLIENT,
    "operator": CLIENT | {"ADJUST"},
    "system": {"TRANSFER_CREDIT", "TRANSFER_REFUND", "EXPIRE", "HOLD_TIMEOUT"},
}


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


@dataclass
class ModelAccount:
    available: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    remembered: dict[str, tuple[object, ...]] = field(default_factory=dict)  # id -> content, of
    # every request with a final outcome (applied or rejected)
    originals: dict[str, _Original] = field(default_factory=dict)
    holds: dict[str, _Hold] = field(default_factory=dict)
    first: dict[str, Outcome] = field(default_factory=dict)  # id -> the first, final outcome


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
        return (
            self.operation,
            self.asset,
            self.amount,
            self.reference,
            self.counterparty,
            self.reason,
        )


class LedgerModel:
    def __init__(self) -> None:
        self.accounts: dict[str, ModelAccount] = {}

    def account(self, name: str) -> ModelAccount:
        return self.accounts.setdefault(name, ModelAccount())

    def balance(self, name: str, asset: str) -> tuple[int, int]:
        account = self.account(name)
        return account.available.get(asset, 0), account.held.get(asset, 0)

    def credit(self, name: str, asset: str, amount: int) -> None:
        """A transfer's credit leg: always applies to the receiver accounts of the workload."""
        account = self.account(name)
        account.available[asset] = account.available.get(asset, 0) + amount

    def apply(self, request: ModelRequest, channel: str = "public") -> Outcome:
        account = self.account(request.account)
        if request.operation not in PERMITTED[channel]:
            return Outcome("REJECTED", "operation_not_permitted")
        seen = account.remembered.get(request.request_id)
        if seen is not None:
            if seen == request.content():
                return Outcome("DUPLICATE", account.first[request.request_id].reason)
            return Outcome("REJECTED", "idempotency_conflict")
        reason = self._decide(account, request)
        outcome = Outcome("APPLIED") if reason is None else Outcome("REJECTED", reason)
        account.remembered[request.request_id] = request.content()
        account.first[request.request_id] = outcome
        return outcome

    def _decide(self, account: ModelAccount, r: ModelRequest) -> str | None:
        available = account.available.get(r.asset, 0)
        held = account.held.get(r.asset, 0)
        op = r.operation
        if op in {"ACCRUE", "REDEEM", "HOLD", "TRANSFER", "REVERSE", "CAPTURE"} and r.amount <= 0:
            return "amount_must_be_positive"
        if op == "ACCRUE":
            account.available[r.asset] = available + r.amount
            account.originals[r.request_id] = _Original(op, r.asset, r.amount)
        elif op in {"REDEEM", "TRANSFER", "HOLD"}:
            if max(available, 0) < r.amount:
                return "insufficient_funds"
            account.available[r.asset] = available - r.amount
            if op == "REDEEM":
                account.originals[r.request_id] = _Original(op, r.asset, r.amount)
            if op == "HOLD":
                account.held[r.asset] = held + r.amount
                account.holds[r.request_id] = _Hold(r.asset, r.amount)
        elif op in {"CAPTURE", "RELEASE"}:
            hold = account.holds.get(r.reference or "")
            if hold is None:
                return "reference_not_found"
            if not hold.open:
                return "hold_not_open"
            captured = r.amount if op == "CAPTURE" else 0
            if captured > hold.amount:
                return "capture_exceeds_hold"
            hold.open = False
            account.held[r.asset] = held - hold.amount
            account.available[r.asset] = available + hold.amount - captured
            if op == "CAPTURE":
                account.originals[r.request_id] = _Original(op, r.asset, captured)
        elif op == "REVERSE":
            original = account.originals.get(r.reference or "")
            if original is None:
                return "reference_not_found"
            if original.reversed == original.amount:
                return "already_reversed"
            if original.reversed + r.amount > original.amount:
                return "reversal_exceeds_original"
            if original.operation == "ACCRUE":
                if available < r.amount and r.asset not in ALLOW_NEGATIVE:
                    return "accrual_already_spent"
                account.available[r.asset] = available - r.amount
            else:
                account.available[r.asset] = available + r.amount
            original.reversed += r.amount
        elif op == "ADJUST":
            if r.amount < 0 and available < -r.amount and r.asset not in ALLOW_NEGATIVE:
                return "insufficient_funds"
            account.available[r.asset] = available + r.amount
        else:
            raise AssertionError(f"the model does not know {op}")
        return None
