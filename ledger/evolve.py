"""evolve(state, event): the state after an event, from the event alone.

Folding an account's journal from nothing with this function gives exactly the state `decide`
returned (decide itself builds its new state with it), and exactly what the state changelog
holds. DUPLICATE events change nothing; a REJECTED event changes nothing either unless it is
a final rejection (ledger.idempotency.remembers), which only forgets and remembers receipts.

Apply order matters and is fixed: forget (receipts, reversibles), then upsert lots, holds,
reversibles, then remember the request. A request id reused after its receipt was forgotten
moves to the end of the receipts, keeping them oldest first. A reversal record that the event
creates (its request_id is the event's) goes last too; one it updates (a reversal, an expiry
of an accrued lot) keeps its place.
"""

from __future__ import annotations

from ledger.idempotency import receipt_of, remembers
from ledger.lots import apply_lot_changes
from ledger.model import AccountState, LedgerEvent, Lot, Operation, Receipt, Status
from ledger.moves import installed


def evolve(state: AccountState | None, event: LedgerEvent) -> AccountState:
    if state is None:
        state = AccountState(program=event.program, account_id=event.account_id)
    if event.status is not Status.APPLIED:
        return _remember_rejection(state, event) if remembers(event) else state
    if event.request.operation is Operation.INSTALL:
        # The account arrives whole: what was here before (a stub, or nothing) is replaced.
        return _after(installed(event), event)
    assert event.sequence == state.sequence + 1, (
        f"{event.event_id}: sequence {event.sequence} does not follow {state.sequence}"
    )
    assert (event.program, event.account_id) == (state.program, state.account_id)
    request = event.request

    balances = state.balances
    if event.balances:
        balances = dict(balances)
        for balance in event.balances:
            balances[balance.asset] = balance

    lots = state.lots
    if event.lots:
        lots = dict(lots)
        by_asset: dict[str, list[Lot]] = {}
        for lot in event.lots:
            by_asset.setdefault(lot.asset, []).append(lot)
        for asset, changes in by_asset.items():
            updated = apply_lot_changes(lots.get(asset, ()), changes)
            if updated:
                lots[asset] = updated
            else:
                lots.pop(asset, None)

    holds = state.holds
    if event.holds_opened or event.holds_closed:
        holds = dict(holds)
        for hold_id in event.holds_closed:
            del holds[hold_id]
        for hold in event.holds_opened:
            holds[hold.hold_id] = hold

    reversibles = state.reversibles
    if event.reversibles or event.forgotten_reversibles:
        reversibles = dict(reversibles)
        for request_id in event.forgotten_reversibles:
            del reversibles[request_id]
        for reversible in event.reversibles:
            if reversible.request_id == request.request_id:
                # A new record goes last even if an expired one had the same id.
                reversibles.pop(reversible.request_id, None)
            reversibles[reversible.request_id] = reversible

    return AccountState(
        program=state.program,
        account_id=state.account_id,
        sequence=event.sequence,
        clock_ms=event.processed_at_ms,
        balances=balances,
        lots=lots,
        holds=holds,
        receipts=_receipts_after(state, event),
        reversibles=reversibles,
        epoch=state.epoch,
        moved_to=request.to_region if request.operation is Operation.HANDOFF else state.moved_to,
    )


def _after(state: AccountState, event: LedgerEvent) -> AccountState:
    """`state` at the event's sequence and clock, remembering the event's request."""
    receipts = dict(state.receipts)
    request_id = event.request.request_id
    receipts.pop(request_id, None)
    receipts[request_id] = receipt_of(event)
    return AccountState(
        program=state.program,
        account_id=state.account_id,
        sequence=event.sequence,
        clock_ms=event.processed_at_ms,
        balances=state.balances,
        lots=state.lots,
        holds=state.holds,
        receipts=receipts,
        reversibles=state.reversibles,
        epoch=state.epoch,
        moved_to=state.moved_to,
    )


def _remember_rejection(state: AccountState, event: LedgerEvent) -> AccountState:
    assert event.sequence == state.sequence, (
        f"{event.event_id}: rejection at sequence {event.sequence}, account at {state.sequence}"
    )
    reversibles = state.reversibles
    if event.forgotten_reversibles:
        reversibles = dict(reversibles)
        for request_id in event.forgotten_reversibles:
            del reversibles[request_id]
    return AccountState(
        program=state.program,
        account_id=state.account_id,
        sequence=state.sequence,
        clock_ms=max(state.clock_ms, event.processed_at_ms),
        balances=state.balances,
        lots=state.lots,
        holds=state.holds,
        receipts=_receipts_after(state, event),
        reversibles=reversibles,
        epoch=state.epoch,
        moved_to=state.moved_to,
    )


def _receipts_after(state: AccountState, event: LedgerEvent) -> dict[str, Receipt]:
    receipts = dict(state.receipts)
    for request_id in event.forgotten_request_ids:
        del receipts[request_id]
    request_id = event.request.request_id
    receipts.pop(request_id, None)
    receipts[request_id] = receipt_of(event)
    return receipts
