"""Lots: spending order, taking value out of lots, and putting it back.

Spending order is earliest expiry first, non-expiring lots last, ties broken by the sequence
that created the lot (older first) and then by lot id. An account holds at most one lot per
asset and expiry (decide merges value credited with an expiry that has a lot into it), so
the state grows with the number of distinct expiries, not with the number of credits. Every
lot tuple in an `AccountState` is kept in this order, by `decide` and `evolve` alike, through
`apply_lot_changes`.

A lot is *spendable* while `now < expires_at_ms`. Between its expiry and the EXPIRE timer that
removes it, an expired lot still counts in `available` but cannot be redeemed, held or
transferred; corrections (clawback, negative ADJUST) may take it, earliest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.model import INT64_MAX, Lot

NEVER = INT64_MAX + 1
"""Sort key of a lot that never expires: after every representable expiry."""


def spending_key(lot: Lot) -> tuple[int, int, str]:
    expires = lot.expires_at_ms
    return (NEVER if expires is None else expires, lot.created_sequence, lot.lot_id)


def is_spendable(lot: Lot, now_ms: int) -> bool:
    return lot.expires_at_ms is None or lot.expires_at_ms > now_ms


def spendable_total(lots: tuple[Lot, ...], available: int, now_ms: int) -> int:
    """Available minus the expired lots waiting for their EXPIRE (they sort first)."""
    for lot in lots:
        expires = lot.expires_at_ms
        if expires is None or expires > now_ms:
            break
        available -= lot.amount
    return available


def take(lots: Iterable[Lot], amount: int, now_ms: int | None) -> tuple[list[Lot], list[Lot], int]:
    """Take up to `amount` from `lots` in the given order.

    `now_ms` None takes from expired lots too (corrections); otherwise only spendable ones.
    Returns (changed lots with their remaining amount, the slices taken, amount still missing).
    """
    changed: list[Lot] = []
    taken: list[Lot] = []
    missing = amount
    for lot in lots:
        if missing == 0:
            break
        if now_ms is not None and not is_spendable(lot, now_ms):
            continue
        part = lot.amount if lot.amount <= missing else missing
        missing -= part
        # Built directly: dataclasses.replace costs several times more on this hot path.
        expires, sequence = lot.expires_at_ms, lot.created_sequence
        changed.append(Lot(lot.lot_id, lot.asset, lot.amount - part, expires, sequence))
        taken.append(Lot(lot.lot_id, lot.asset, part, expires, sequence))
    return changed, taken, missing


def apply_lot_changes(lots: tuple[Lot, ...], changes: Sequence[Lot]) -> tuple[Lot, ...]:
    """Upsert `changes` (amount after; 0 removes the lot) and keep spending order."""
    if len(changes) == 1 and changes[0].amount:
        # The common ACCRUE: one new lot, usually expiring after every existing one.
        change = changes[0]
        if (not lots or spending_key(lots[-1]) < spending_key(change)) and all(
            lot.lot_id != change.lot_id for lot in lots
        ):
            return (*lots, change)
    by_id = {lot.lot_id: lot for lot in lots}
    for change in changes:
        if change.amount == 0:
            by_id.pop(change.lot_id, None)
        else:
            by_id[change.lot_id] = change
    return tuple(sorted(by_id.values(), key=spending_key))


def lot_with_expiry(lots: Iterable[Lot], expires_at_ms: int | None) -> Lot | None:
    """The lot holding value with this expiry, if the account has one."""
    return next((lot for lot in lots if lot.expires_at_ms == expires_at_ms), None)
