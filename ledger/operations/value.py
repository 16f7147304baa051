"""Operations that move value in or out of an account: ACCRUE, REDEEM, REVERSE, ADJUST, EXPIRE.

Each returns the effect to apply or the reason to reject, after the common and field checks
(ledger/decide.py)."""

from __future__ import annotations

from msgspec.structs import replace

from ledger import lots as lotbook
from ledger.accounts import (
    ADJUSTMENTS,
    EXPIRED,
    ISSUANCE,
    REDEMPTIONS,
)
from ledger.effects import Context, Effect, claw_back, credit, lot_expiry
from ledger.idempotency import (
    live_receipt,
    live_reversible,
)
from ledger.model import (
    Operation,
    Posting,
    Reversible,
)
from ledger.reasons import Reason

_REVERSIBLE = frozenset({Operation.ACCRUE, Operation.REDEEM, Operation.CAPTURE})


def accrue(c: Context) -> Effect | Reason:
    """ACCRUE: credit a new lot expiring at expires_at_ms or now + the asset's lot lifetime
    (never, if the asset has none). A negative balance is paid back first.

    Postings: @issuance -a, account +a. Reasons: balance_overflow.
    """
    amount = c.request.amount
    expires = lot_expiry(c)
    effect = credit(c, ((amount, expires),), ISSUANCE)
    if isinstance(effect, Reason):
        return effect
    lot_id = effect.lots[0].lot_id if effect.lots else None
    effect.reversibles = (
        Reversible(
            c.request.request_id,
            Operation.ACCRUE,
            c.asset.code,
            amount,
            0,
            lot_id,
            c.now,
            expires,
        ),
    )
    return effect


def redeem(c: Context) -> Effect | Reason:
    """REDEEM: spend from unexpired lots, earliest expiry first, non-expiring last.

    Postings: account -a, @redemptions +a. Reasons: insufficient_funds.
    """
    amount = c.request.amount
    if lotbook.spendable_total(c.lots, c.balance.available, c.now) < amount:
        return Reason.INSUFFICIENT_FUNDS
    changed, _, _ = lotbook.take(c.lots, amount, c.now)
    account = c.request.account_id
    code = c.asset.code
    return Effect(
        postings=[Posting(account, code, -amount), Posting(REDEMPTIONS, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held,
        lots=changed,
        reversibles=(
            Reversible(c.request.request_id, Operation.REDEEM, code, amount, 0, None, c.now),
        ),
    )


def reverse(c: Context) -> Effect | Reason:
    """REVERSE: undo all or part of an earlier ACCRUE, REDEEM or CAPTURE (reference =
    its request_id, within the program's reversal window). Reversals add up and never exceed
    the original.

    Reversing an ACCRUE takes the value back from the lot of its expiry first, then from the
    other lots in spending order (expired ones included). Once the accrual's expiry has
    passed it cannot be reversed (accrual_expired): its value already left the customer,
    spent or expired, and taking it again would charge it twice. If the account no longer
    has the value (spent, transferred), the asset's clawback policy decides: allow_negative
    takes what is there and leaves the balance negative; reject refuses with
    accrual_already_spent. Postings: account -a, @issuance +a.

    Reversing a REDEEM or CAPTURE credits a new lot expiring at expires_at_ms or now + the
    lot lifetime. Postings: @redemptions -a, account +a.

    Reasons: reference_not_found, reference_wrong_kind, reference_asset_mismatch,
    already_reversed, reversal_exceeds_original, accrual_expired, accrual_already_spent,
    balance_overflow.
    """
    reference = c.request.reference
    assert reference is not None
    original = live_reversible(c.state.reversibles, reference, c.now, c.program.reversal_window_ms)
    if original is None:
        receipt = live_receipt(
            c.state.receipts, c.state.holds, reference, c.now, c.program.idempotency_window_ms
        )
        if receipt is None or receipt.operation in _REVERSIBLE:
            return Reason.REFERENCE_NOT_FOUND
        return Reason.REFERENCE_WRONG_KIND
    if original.asset != c.asset.code:
        return Reason.REFERENCE_ASSET_MISMATCH
    if original.reversed_amount == original.amount:
        return Reason.ALREADY_REVERSED
    amount = c.request.amount
    if original.reversed_amount + amount > original.amount:
        return Reason.REVERSAL_EXCEEDS_ORIGINAL
    if original.operation is Operation.ACCRUE:
        expires = original.expires_at_ms
        if expires is not None and c.now >= expires:
            return Reason.ACCRUAL_EXPIRED
        effect = claw_back(c, amount, expires, ISSUANCE, Reason.ACCRUAL_ALREADY_SPENT)
    else:
        effect = credit(c, ((amount, lot_expiry(c)),), REDEMPTIONS)
    if isinstance(effect, Reason):
        return effect
    effect.reversibles = (replace(original, reversed_amount=original.reversed_amount + amount),)
    return effect


def adjust(c: Context) -> Effect | Reason:
    """ADJUST: operator correction by a signed amount, with a reason (the gateway requires
    the elevated scope). Positive: a new lot like ACCRUE (@adjustments -a, account +a).
    Negative: taken from lots in spending order, expired ones included; beyond the balance
    the clawback policy decides (account -a, @adjustments +a).

    Reasons (besides field checks amount_must_be_nonzero, reason_required):
    insufficient_funds, balance_overflow.
    """
    amount = c.request.amount
    if amount > 0:
        return credit(c, ((amount, lot_expiry(c)),), ADJUSTMENTS)
    return claw_back(c, -amount, None, ADJUSTMENTS, Reason.INSUFFICIENT_FUNDS, first=False)


def expire(c: Context) -> Effect | Reason:
    """EXPIRE (system, id `expire:<lot_id>`, reference = lot id): remove what is left of a lot
    whose expiry has passed. Slices under an open hold are not in the lot and stay untouched.

    Postings: account -x, @expired +x. Reasons: reference_not_found, timer_not_due.
    """
    lot = next((lot for lot in c.lots if lot.lot_id == c.request.reference), None)
    if lot is None:
        return Reason.REFERENCE_NOT_FOUND
    if lot.expires_at_ms is None or lot.expires_at_ms > c.now:
        return Reason.TIMER_NOT_DUE
    code = c.asset.code
    return Effect(
        postings=[
            Posting(c.request.account_id, code, -lot.amount),
            Posting(EXPIRED, code, lot.amount),
        ],
        available=c.balance.available - lot.amount,
        held=c.balance.held,
        lots=[replace(lot, amount=0)],
    )
