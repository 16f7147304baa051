"""Transfers between two accounts of a program: the debit (TRANSFER) moves value to @transit and
emits the credit leg; the credit leg (TRANSFER_CREDIT) or its refund (TRANSFER_REFUND) takes
it out. Legs are the ledger's own requests, on the internal topic."""

from __future__ import annotations

from ledger import lots as lotbook
from ledger.accounts import (
    TRANSIT,
)
from ledger.effects import Context, Effect, credit
from ledger.model import (
    SYSTEM_PRINCIPAL,
    CarriedLot,
    Operation,
    Posting,
    Request,
)
from ledger.reasons import Reason


def transfer(c: Context) -> Effect | Reason:
    """TRANSFER (debit leg): move value to `counterparty_account_id` in the same program.
    Takes unexpired lots in spending order and emits a TRANSFER_CREDIT request
    (id `credit:<source account>:<sequence of this event>`, unique for all time; reference =
    the TRANSFER's request_id) for the destination, carrying the slices with their expiries.

    Postings: account -a, @transit +a. Reasons (besides field checks counterparty_missing,
    transfer_to_self, asset_not_transferable): insufficient_funds.
    """
    amount = c.request.amount
    if lotbook.spendable_total(c.lots, c.balance.available, c.now) < amount:
        return Reason.INSUFFICIENT_FUNDS
    changed, taken, _ = lotbook.take(c.lots, amount, c.now)
    request = c.request
    destination = request.counterparty_account_id
    assert destination is not None
    credit = Request(
        request_id=f"credit:{request.account_id}:{c.sequence}",
        program=request.program,
        account_id=destination,
        operation=Operation.TRANSFER_CREDIT,
        asset=request.asset,
        amount=amount,
        reference=request.request_id,
        counterparty_account_id=request.account_id,
        requested_at_ms=c.now,
        principal=SYSTEM_PRINCIPAL,
        metadata=request.metadata,
        carried_lots=tuple(CarriedLot(part.amount, part.expires_at_ms) for part in taken),
    )
    code = c.asset.code
    return Effect(
        postings=[Posting(request.account_id, code, -amount), Posting(TRANSIT, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held,
        lots=changed,
        emitted=(credit,),
    )


def transfer_leg(c: Context) -> Effect | Reason:
    """TRANSFER_CREDIT / TRANSFER_REFUND (system): credit the carried slices as lots with
    their original expiries (an already passed expiry is expired by the next timer run).
    A credit leg rejected for good (a final rejection, ledger.reasons.REMEMBERED_REASONS)
    emits a TRANSFER_REFUND (id `refund:<destination>:<source sequence>`) to the source. A leg
    rejected before the idempotency check (not permitted on its channel, a conflicting id)
    refunds nothing: it is not the ledger's own, or it may have been applied already. A
    rejected refund leaves the value in @transit, named by the audit, for an operator.

    Postings: @transit -a, account +a. Reasons (besides field checks counterparty_missing,
    transfer_to_self, lots_inconsistent): balance_overflow.
    """
    parts = tuple((lot.amount, lot.expires_at_ms) for lot in c.request.carried_lots)
    return credit(c, parts, TRANSIT)


def refund_for(credit: Request, source: str, now: int) -> Request:
    # The credit leg's id ends with the source's sequence: unique for the source for all time.
    source_sequence = credit.request_id.rpartition(":")[2]
    return Request(
        request_id=f"refund:{credit.account_id}:{source_sequence}",
        program=credit.program,
        account_id=source,
        operation=Operation.TRANSFER_REFUND,
        asset=credit.asset,
        amount=credit.amount,
        reference=credit.reference,
        counterparty_account_id=credit.account_id,
        requested_at_ms=now,
        principal=SYSTEM_PRINCIPAL,
        metadata=credit.metadata,
        carried_lots=credit.carried_lots,
    )
