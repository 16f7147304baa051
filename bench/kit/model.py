"""The bench's own expectation of the ledger: plain integers per account, no ledger code.

It knows only what the bench workload sends (one asset whose clawback policy allows
negative balances, holds that never time out during a run, no transfers), so the balances
are plain sums: when the journal folds to something else, one of the two is wrong. The same
model is the decision function of the Faust peer (`faust_peer.py`), which is why an account
is a small JSON-able value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

APPLIED = "APPLIED"
REJECTED = "REJECTED"
DUPLICATE = "DUPLICATE"
POSITIVE_AMOUNT_OPERATIONS = frozenset({"ACCRUE", "REDEEM", "HOLD", "REVERSE", "CAPTURE"})
CLIENT_OPERATIONS = frozenset({"ACCRUE", "REDEEM", "HOLD", "CAPTURE", "RELEASE", "REVERSE"})


@dataclass(frozen=True, slots=True)
class ModelRequest:
    request_id: str
    account: str
    operation: str
    amount: int = 0
    reference: str | None = None
    reason: str | None = None

    def content(self) -> list[object]:
        """What makes two requests with the same id the same request (JSON-able)."""
        return [self.operation, self.amount, self.reference, self.reason]


@dataclass(frozen=True, slots=True)
class ModelOutcome:
    status: str
    reason: str | None = None


@dataclass
class ModelAccount:
    available: int = 0
    held: int = 0
    # request id -> [content, reason]: every request with a final outcome, applied (reason
    # None) or rejected; a retry answers DUPLICATE of it (docs/domain.md, Idempotency).
    applied: dict[str, list[object]] = field(default_factory=dict)
    # ACCRUE, REDEEM and CAPTURE that REVERSE may undo: id -> [operation, amount, reversed]
    originals: dict[str, list[Any]] = field(default_factory=dict)
    open_holds: dict[str, int] = field(default_factory=dict)  # hold id -> amount
    closed_holds: list[str] = field(default_factory=list)

    def apply(self, request: ModelRequest) -> ModelOutcome:
        if request.operation not in CLIENT_OPERATIONS:
            # The bench writes the public requests topic, where only client operations are
            # permitted; such a refusal is not remembered.
            return ModelOutcome(REJECTED, "operation_not_permitted")
        seen = self.applied.get(request.request_id)
        if seen is not None:
            content, reason = seen
            if content == request.content():
                return ModelOutcome(DUPLICATE, reason)  # type: ignore[arg-type]
            return ModelOutcome(REJECTED, "idempotency_conflict")
        reason = self._decide(request)
        self.applied[request.request_id] = [request.content(), reason]
        if reason is not None:
            return ModelOutcome(REJECTED, reason)
        return ModelOutcome(APPLIED)

    def _decide(self, r: ModelRequest) -> str | None:
        op = r.operation
        if op in POSITIVE_AMOUNT_OPERATIONS and r.amount <= 0:
            return "amount_must_be_positive"
        if op == "ACCRUE":
            self.available += r.amount
            self.originals[r.request_id] = [op, r.amount, 0]
        elif op in ("REDEEM", "HOLD"):
            if max(self.available, 0) < r.amount:
                return "insufficient_funds"
            self.available -= r.amount
            if op == "REDEEM":
                self.originals[r.request_id] = [op, r.amount, 0]
            else:
                self.held += r.amount
                self.open_holds[r.request_id] = r.amount
        elif op in ("CAPTURE", "RELEASE"):
            return self._close_hold(r)
        elif op == "REVERSE":
            return self._reverse(r)
        else:
            raise AssertionError(f"the bench model does not know {op}")
        return None

    def _close_hold(self, r: ModelRequest) -> str | None:
        hold_id = r.reference or ""
        amount = self.open_holds.get(hold_id)
        if amount is None:
            return "hold_not_open" if hold_id in self.closed_holds else "reference_not_found"
        captured = r.amount if r.operation == "CAPTURE" else 0
        if captured > amount:
            return "capture_exceeds_hold"
        del self.open_holds[hold_id]
        self.closed_holds.append(hold_id)
        self.held -= amount
        self.available += amount - captured
        if r.operation == "CAPTURE":
            self.originals[r.request_id] = [r.operation, captured, 0]
        return None

    def _reverse(self, r: ModelRequest) -> str | None:
        original = self.originals.get(r.reference or "")
        if original is None:
            return "reference_not_found"
        operation, amount, reversed_ = original
        if reversed_ == amount:
            return "already_reversed"
        if reversed_ + r.amount > amount:
            return "reversal_exceeds_original"
        # Undoing a credit takes value back (negative allowed), undoing a debit gives it back.
        self.available += -r.amount if operation == "ACCRUE" else r.amount
        original[2] = reversed_ + r.amount
        return None

    def to_json(self) -> bytes:
        return json.dumps(
            [
                self.available,
                self.held,
                self.applied,
                self.originals,
                self.open_holds,
                self.closed_holds,
            ],
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes | None) -> ModelAccount:
        if not data:
            return cls()
        available, held, applied, originals, open_holds, closed_holds = json.loads(data)
        return cls(available, held, applied, originals, open_holds, closed_holds)


class LedgerModel:
    """Every account of a workload, in the order the workload sends each account's requests."""

    def __init__(self) -> None:
        self.accounts: dict[str, ModelAccount] = {}

    def apply(self, request: ModelRequest) -> ModelOutcome:
        account = self.accounts.get(request.account)
        if account is None:
            account = self.accounts[request.account] = ModelAccount()
        return account.apply(request)

    def balances(self) -> dict[str, tuple[int, int]]:
        """account -> (available, held)."""
        return {name: (a.available, a.held) for name, a in self.accounts.items()}
