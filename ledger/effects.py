"""What an applied operation changes, and the lot arithmetic every operation shares.

`Context` is what an operation is decided with (the account, the request, the asset, the clock);
`Effect` is what it changes before it becomes a journal event (ledger/decide.py turns it into
one). `credit` and `claw_back` are the two ways value enters or leaves an account's lots."""

from __future__ import annotations

import msgspec

from ledger import lots as lotbook
from ledger.model import (
    INT64_MAX,
    INT64_MIN,
    AccountState,
    Balance,
    Channel,
    Hold,
    Lot,
    Posting,
    Request,
    Reversible,
)
from ledger.programs import Asset, ClawbackPolicy, Program
from ledger.reasons import Reason


class Effect(msgspec.Struct, gc=False):
    """What an applied operation changes, before it becomes a LedgerEvent."""

    postings: list[Posting]
    available: int
    held: int
    lots: list[Lot]
    holds_opened: tuple[Hold, ...] = ()
    holds_closed: tuple[str, ...] = ()
    reversibles: tuple[Reversible, ...] = ()
    emitted: tuple[Request, ...] = ()


class Context(msgspec.Struct, gc=False):
    state: AccountState
    request: Request
    now: int
    program: Program
    asset: Asset
    sequence: int
    """Sequence the event gets if applied."""
    balance: Balance
    lots: tuple[Lot, ...]
    channel: Channel


def lot_expiry(c: Context) -> int | None:
    """The request's expiry, else now + the asset's lot lifetime rounded up to the asset's
    expiry granularity (so a day's credits share one expiry, and one lot)."""
    if c.request.expires_at_ms is not None:
        return c.request.expires_at_ms
    lifetime = c.asset.lot_lifetime_ms
    if lifetime is None:
        return None
    expires = c.now + lifetime
    granularity = c.asset.lot_expiry_granularity_ms
    if granularity:
        expires = -(-expires // granularity) * granularity
    return expires


def credit(
    c: Context, parts: tuple[tuple[int, int | None], ...], counterpart: str
) -> Effect | Reason:
    """Credit slices as lots; a negative balance absorbs the earliest-expiring first. A slice
    whose expiry already has a lot joins it; a new lot's id is `<sequence>` for one slice,
    `<sequence>.<n>` for several.
    """
    total = sum(amount for amount, _ in parts)
    balance = c.balance
    # Bounding available + held keeps every later release from overflowing too.
    if balance.available + balance.held + total > INT64_MAX:
        return Reason.BALANCE_OVERFLOW
    debt = -balance.available if balance.available < 0 else 0
    code = c.asset.code
    sequence = c.sequence
    single = len(parts) == 1
    if not single:
        parts = tuple(sorted(parts, key=_part_order))
    changed: dict[int | None, Lot] = {}
    for index, (amount, expires) in enumerate(parts):
        if debt:
            paid = amount if amount <= debt else debt
            debt -= paid
            amount -= paid
        if not amount:
            continue
        lot = changed.get(expires) or lotbook.lot_with_expiry(c.lots, expires)
        if lot is None:
            lot_id = str(sequence) if single else f"{sequence}.{index}"
            lot = Lot(lot_id, code, 0, expires, sequence)
        changed[expires] = Lot(lot.lot_id, code, lot.amount + amount, expires, lot.created_sequence)
    return Effect(
        postings=[Posting(counterpart, code, -total), Posting(c.request.account_id, code, total)],
        available=balance.available + total,
        held=balance.held,
        lots=list(changed.values()),
    )


def _part_order(part: tuple[int, int | None]) -> int:
    return lotbook.NEVER if part[1] is None else part[1]


def claw_back(
    c: Context,
    amount: int,
    first_expiry: int | None,
    counterpart: str,
    refusal: Reason,
    first: bool = True,
) -> Effect | Reason:
    """Debit as a correction: the lot of `first_expiry` first (when `first`), then every lot
    in spending order (expired ones too, they would vanish anyway); a shortfall follows the
    asset's clawback policy."""
    balance = c.balance
    shortfall = amount - (balance.available if balance.available > 0 else 0)
    if shortfall > 0:
        if c.asset.clawback is ClawbackPolicy.REJECT:
            return refusal
        if balance.available - amount < INT64_MIN:
            return Reason.BALANCE_OVERFLOW
    ordered = c.lots
    if first:
        head = tuple(lot for lot in ordered if lot.expires_at_ms == first_expiry)
        ordered = head + tuple(lot for lot in ordered if lot.expires_at_ms != first_expiry)
    changed, _, _ = lotbook.take(ordered, amount, None)
    code = c.asset.code
    return Effect(
        postings=[Posting(c.request.account_id, code, -amount), Posting(counterpart, code, amount)],
        available=balance.available - amount,
        held=balance.held,
        lots=changed,
    )
