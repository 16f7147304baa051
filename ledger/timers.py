"""due_timers(state, now, programs): the system requests an account's clock has made due.

The stream processor calls this inside its transaction and feeds each request to `decide`, so
a timer's effect is exactly once like any other request. Ids and content are deterministic
and unique for all time (`expire:<lot_id>`, lot ids being made of account sequences, and
`hold-timeout:<hold sequence>:<hold_id>`, so a hold id used again after its window names a
new timer; requested_at_ms = the due time, amount 0), so a timer generated twice is a
DUPLICATE the second time, never a second expiry.

A lot is due when `expires_at_ms <= now`; a hold when its timeout `expires_at_ms <= now`.
Slices under an open hold are inside the hold, not the lot, so they never come due here.
"""

from __future__ import annotations

from ledger.model import SYSTEM_PRINCIPAL, AccountState, Operation, Request
from ledger.programs import Programs


def due_timers(state: AccountState, now_ms: int, programs: Programs) -> list[Request]:
    program = programs.get(state.program)
    if program is None:
        return []
    now = max(now_ms, state.clock_ms)
    due: list[Request] = []
    for asset, lots in state.lots.items():
        if asset not in program.assets:
            continue
        for lot in lots:
            expires = lot.expires_at_ms
            if expires is None or expires > now:
                break  # spending order: the rest expire later or never
            due.append(
                Request(
                    request_id=f"expire:{lot.lot_id}",
                    program=state.program,
                    account_id=state.account_id,
                    operation=Operation.EXPIRE,
                    asset=asset,
                    reference=lot.lot_id,
                    requested_at_ms=expires,
                    principal=SYSTEM_PRINCIPAL,
                )
            )
    for hold in state.holds.values():
        if hold.expires_at_ms <= now and hold.asset in program.assets:
            due.append(
                Request(
                    request_id=f"hold-timeout:{hold.sequence}:{hold.hold_id}",
                    program=state.program,
                    account_id=state.account_id,
                    operation=Operation.HOLD_TIMEOUT,
                    asset=hold.asset,
                    reference=hold.hold_id,
                    requested_at_ms=hold.expires_at_ms,
                    principal=SYSTEM_PRINCIPAL,
                )
            )
    return due


def next_due_ms(state: AccountState) -> int | None:
    """Earliest time a timer of this account comes due, for the processor's timer index."""
    times = [lots[0].expires_at_ms for lots in state.lots.values() if lots]
    times.extend(hold.expires_at_ms for hold in state.holds.values())
    known = [time for time in times if time is not None]
    return min(known) if known else None
