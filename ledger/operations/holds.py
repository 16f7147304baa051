"""Holds: HOLD reserves value, CAPTURE spends (part of) it, RELEASE and HOLD_TIMEOUT give it back.

Each returns the effect to apply or the reason to reject, after the common and field checks
(ledger/decide.py)."""

from __future__ import annotations

from ledger import lots as lotbook
from ledger.accounts import (
    EXPIRED,
    HOLDS,
    REDEMPTIONS,
)
from ledger.effects import Context, Effect
from ledger.idempotency import (
    live_receipt,
)
from ledger.model import (
    Hold,
    Lot,
    Operation,
    Posting,
    Reversible,
)
from ledger.reasons import Reason


def hold(c: Context) -> Effect | Reason:
    """HOLD: reserve value until CAPTURE, RELEASE or the timeout (expires_at_ms, default
    now + the program's hold_timeout_default). The hold takes slices of unexpired lots in
    spending order and keeps them, with their expiries, inside the hold: a slice under an open
    hold cannot expire. The hold id is the request_id.

    Postings: account -a, @holds +a. Reasons (besides field checks expiry_in_past,
    hold_timeout_exceeds_max): insufficient_funds.
    """
    amount = c.request.amount
    if lotbook.spendable_total(c.lots, c.balance.available, c.now) < amount:
        return Reason.INSUFFICIENT_FUNDS
    changed, taken, _ = lotbook.take(c.lots, amount, c.now)
    expires = c.request.expires_at_ms
    if expires is None:
        expires = c.now + c.program.hold_timeout_default_ms
    code = c.asset.code
    return Effect(
        postings=[Posting(c.request.account_id, code, -amount), Posting(HOLDS, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held + amount,
        lots=changed,
        holds_opened=(Hold(c.request.request_id, code, amount, expires, tuple(taken), c.sequence),),
    )


def capture(c: Context) -> Effect | Reason:
    """CAPTURE: spend `amount` of an open hold (full or partial); the rest is released at once.
    The captured part comes from the hold's earliest-expiring slices.

    Postings: @holds -h, @redemptions +a, account +(h-a), and for released slices whose lot
    expired meanwhile (after a negative balance is paid back): account -x, @expired +x.
    Reasons: reference_not_found,
    reference_wrong_kind, reference_asset_mismatch, hold_not_open, hold_expired,
    capture_exceeds_hold.
    """
    hold = _open_hold(c)
    if isinstance(hold, Reason):
        return hold
    if c.now >= hold.expires_at_ms:
        return Reason.HOLD_EXPIRED
    amount = c.request.amount
    if amount > hold.amount:
        return Reason.CAPTURE_EXCEEDS_HOLD
    effect = _close_hold(c, hold, amount)
    effect.reversibles = (
        *effect.reversibles,
        Reversible(c.request.request_id, Operation.CAPTURE, hold.asset, amount, 0, None, c.now),
    )
    return effect


def release(c: Context) -> Effect | Reason:
    """RELEASE: give an open hold back in full. Like any credit, the value coming back pays a
    negative balance first; then slices whose lot expired meanwhile expire now.

    Postings: @holds -h, account +h (account -x, @expired +x for expired slices).
    Reasons: reference_not_found, reference_wrong_kind, reference_asset_mismatch,
    hold_not_open, hold_expired.
    """
    hold = _open_hold(c)
    if isinstance(hold, Reason):
        return hold
    if c.now >= hold.expires_at_ms:
        return Reason.HOLD_EXPIRED
    return _close_hold(c, hold, 0)


def hold_timeout(c: Context) -> Effect | Reason:
    """HOLD_TIMEOUT (system, id `hold-timeout:<hold_id>`): release a hold whose timeout passed.

    Postings as RELEASE. Reasons: reference_not_found, reference_wrong_kind,
    reference_asset_mismatch, hold_not_open, timer_not_due.
    """
    hold = _open_hold(c)
    if isinstance(hold, Reason):
        return hold
    if c.now < hold.expires_at_ms:
        return Reason.TIMER_NOT_DUE
    return _close_hold(c, hold, 0)


def _open_hold(c: Context) -> Hold | Reason:
    reference = c.request.reference
    assert reference is not None
    hold = c.state.holds.get(reference)
    if hold is None:
        receipt = live_receipt(
            c.state.receipts, c.state.holds, reference, c.now, c.program.idempotency_window_ms
        )
        if receipt is None:
            return Reason.REFERENCE_NOT_FOUND
        if receipt.operation is not Operation.HOLD:
            return Reason.REFERENCE_WRONG_KIND
        return Reason.HOLD_NOT_OPEN
    if hold.asset != c.asset.code:
        return Reason.REFERENCE_ASSET_MISMATCH
    return hold


def _close_hold(c: Context, hold: Hold, captured: int) -> Effect:
    """Capture `captured` from the front slices and give the rest back, as a credit does: a
    negative balance is paid back first (earliest-expiring slices first); of what is left, a
    slice whose lot expired meanwhile expires now, the others return to their lots."""
    code = hold.asset
    account = c.request.account_id
    postings = [Posting(HOLDS, code, -hold.amount)]
    if captured:
        postings.append(Posting(REDEMPTIONS, code, captured))
    returned: dict[int | None, Lot] = {}
    expired = 0
    to_skip = captured
    debt = -c.balance.available if c.balance.available < 0 else 0
    for part in hold.portions:
        amount = part.amount
        if to_skip:
            spent = amount if amount <= to_skip else to_skip
            to_skip -= spent
            amount -= spent
        if debt and amount:
            paid = amount if amount <= debt else debt
            debt -= paid
            amount -= paid
        if not amount:
            continue
        if not lotbook.is_spendable(part, c.now):
            expired += amount
            continue
        # Back to the lot of its expiry: the one now holding that expiry, or the one it came
        # from (recreated when it was emptied meanwhile).
        expires = part.expires_at_ms
        lot = returned.get(expires) or lotbook.lot_with_expiry(c.lots, expires) or part
        base = 0 if lot is part else lot.amount
        returned[expires] = Lot(lot.lot_id, code, base + amount, expires, lot.created_sequence)
    released = hold.amount - captured
    if released:
        postings.append(Posting(account, code, released))
    if expired:
        postings.append(Posting(account, code, -expired))
        postings.append(Posting(EXPIRED, code, expired))
    return Effect(
        postings=postings,
        available=c.balance.available + released - expired,
        held=c.balance.held - hold.amount,
        lots=list(returned.values()),
        holds_closed=(hold.hold_id,),
    )
