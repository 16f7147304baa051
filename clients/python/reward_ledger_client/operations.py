"""The transaction operations, written once for both clients: each builds its body and
hands it to `submit`, which returns the outcome (sync) or an awaitable of it (async)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from reward_ledger_client import protocol
from reward_ledger_client.protocol import Amount

R = TypeVar("R")


class Operations(Generic[R]):
    def submit(self, program: str, body: Mapping[str, Any], wait: bool = True) -> R:
        raise NotImplementedError

    def accrue(self, program: str, account_id: str, asset: str, amount: Amount, **extra: Any) -> R:
        """Credit `amount` (expiring at `expires_at_ms=` or after the asset's lifetime)."""
        return self.submit(
            program, protocol.transaction("ACCRUE", account_id, asset, amount, **extra)
        )

    def redeem(self, program: str, account_id: str, asset: str, amount: Amount, **extra: Any) -> R:
        return self.submit(
            program, protocol.transaction("REDEEM", account_id, asset, amount, **extra)
        )

    def hold(self, program: str, account_id: str, asset: str, amount: Amount, **extra: Any) -> R:
        return self.submit(
            program, protocol.transaction("HOLD", account_id, asset, amount, **extra)
        )

    def capture(
        self,
        program: str,
        account_id: str,
        asset: str,
        amount: Amount,
        reference: str,
        **extra: Any,
    ) -> R:
        """Spend all or part of the open hold whose request id is `reference`."""
        body = protocol.transaction(
            "CAPTURE", account_id, asset, amount, reference=reference, **extra
        )
        return self.submit(program, body)

    def release(self, program: str, account_id: str, asset: str, reference: str, **extra: Any) -> R:
        body = protocol.transaction("RELEASE", account_id, asset, reference=reference, **extra)
        return self.submit(program, body)

    def reverse(
        self,
        program: str,
        account_id: str,
        asset: str,
        amount: Amount,
        reference: str,
        **extra: Any,
    ) -> R:
        """Undo all or part of the ACCRUE, REDEEM or CAPTURE whose request id is `reference`."""
        body = protocol.transaction(
            "REVERSE", account_id, asset, amount, reference=reference, **extra
        )
        return self.submit(program, body)

    def adjust(
        self, program: str, account_id: str, asset: str, amount: Amount, reason: str, **extra: Any
    ) -> R:
        """Operator correction by a signed amount (needs adjustments:write)."""
        body = protocol.transaction("ADJUST", account_id, asset, amount, reason=reason, **extra)
        return self.submit(program, body)

    def transfer(
        self, program: str, account_id: str, asset: str, amount: Amount, to: str, **extra: Any
    ) -> R:
        body = protocol.transaction(
            "TRANSFER", account_id, asset, amount, counterparty_account_id=to, **extra
        )
        return self.submit(program, body)
