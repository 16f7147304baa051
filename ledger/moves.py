"""Moving an account between regions: HANDOFF at the old home, INSTALL at the new one.

An account lives in one region at a time (its home), the only one that decides its requests.
A move hands the whole account over through the journals, in two events:

- HANDOFF (operator, `to_region`) at the old home: the last event of the account's epoch e
  there. Its value leaves the region's books (per asset: the account -available, @holds -held,
  @transit +both), its lots, holds, reversal records and receipts are dropped, and the state
  left behind is a stub naming the new home (`moved_to`), which the core forwards every later
  request to. It emits the INSTALL, carrying the state as it was (at the HANDOFF's sequence,
  epoch e + 1) to the new home.
- INSTALL (system) at the new home: the first event of epoch e + 1, at the next sequence.
  The carried state becomes the account's, and its value enters the region's books (@transit
  -both, the account +available, @holds +held), which settles what the HANDOFF put in
  @transit, as a credit leg settles a transfer (ledger/invariants.py pairs them per asset).

Receipts and reversal records travel with the state, so a request retried at the new home
answers as it did at the old one, and holds and lots keep their ids, expiries and timers.
An account in debt (a negative balance) pays it back where it is: it cannot move.

Pure, like `decide`, which calls these after the checks common to every request.
"""

from __future__ import annotations

from ledger.accounts import HOLDS, TRANSIT
from ledger.idempotency import receipt_of
from ledger.model import (
    SYSTEM_PRINCIPAL,
    AccountState,
    Balance,
    Channel,
    LedgerEvent,
    Lot,
    Operation,
    Posting,
    Request,
    Status,
)
from ledger.reasons import Reason

Moved = tuple[LedgerEvent, tuple[Request, ...]]
"""A move's event, and what it emits (the INSTALL of a HANDOFF)."""


def install_id(account_id: str, handoff_sequence: int) -> str:
    """Unique for all time: an account hands over at most once per sequence."""
    return f"install:{account_id}:{handoff_sequence}"


def handoff(
    state: AccountState, request: Request, now: int, digest: str, channel: Channel, version: int
) -> Moved | Reason:
    """Reasons: region_unknown (no `to_region`), account_unknown (no state to move),
    account_in_debt (a negative balance)."""
    if not request.to_region:
        return Reason.REGION_UNKNOWN
    if state.sequence == 0:
        return Reason.ACCOUNT_UNKNOWN
    if any(balance.available < 0 for balance in state.balances.values()):
        return Reason.ACCOUNT_IN_DEBT
    sequence = state.sequence + 1
    account = state.account_id
    event = LedgerEvent(
        event_id=f"{state.program}:{account}:{sequence}",
        program=state.program,
        account_id=account,
        sequence=sequence,
        status=Status.APPLIED,
        reason=None,
        original_sequence=None,
        processed_at_ms=now,
        content_hash=digest,
        request=request,
        channel=channel,
        postings=_postings(account, state.balances, -1),
        balances=tuple(Balance(asset, 0, 0) for asset in sorted(state.balances)),
        lots=tuple(
            Lot(lot.lot_id, lot.asset, 0, lot.expires_at_ms, lot.created_sequence)
            for lots in state.lots.values()
            for lot in lots
        ),
        holds_closed=tuple(state.holds),
        forgotten_request_ids=tuple(state.receipts),
        forgotten_reversibles=tuple(state.reversibles),
        program_version=version,
        epoch=state.epoch,
    )
    # The HANDOFF's own outcome travels too: a retry of it at the new home is its DUPLICATE.
    receipts = {key: value for key, value in state.receipts.items() if key != request.request_id}
    receipts[request.request_id] = receipt_of(event)
    carried = AccountState(
        program=state.program,
        account_id=account,
        sequence=sequence,
        clock_ms=now,
        balances=state.balances,
        lots=state.lots,
        holds=state.holds,
        receipts=receipts,
        reversibles=state.reversibles,
        epoch=state.epoch + 1,
    )
    install = Request(
        request_id=install_id(account, sequence),
        program=state.program,
        account_id=account,
        operation=Operation.INSTALL,
        asset="",
        reference=request.request_id,
        requested_at_ms=now,
        principal=SYSTEM_PRINCIPAL,
        to_region=request.to_region,
        carried_state=carried,
    )
    return event, (install,)


def install(
    state: AccountState, request: Request, now: int, digest: str, channel: Channel, version: int
) -> Moved | Reason:
    """Reasons: epoch_stale (the account already reached that epoch here: an older move's
    INSTALL, or one for an account that lives here), account_unknown (no state, or another
    account's). Only a stub, or nothing, is replaced. The account's clock never runs back."""
    carried = request.carried_state
    if carried is None or (carried.program, carried.account_id) != (
        state.program,
        state.account_id,
    ):
        return Reason.ACCOUNT_UNKNOWN
    if carried.epoch <= state.epoch or (state.sequence and not state.moved_to):
        return Reason.EPOCH_STALE
    sequence = carried.sequence + 1
    account = state.account_id
    now = max(now, carried.clock_ms)
    event = LedgerEvent(
        event_id=f"{state.program}:{account}:{sequence}",
        program=state.program,
        account_id=account,
        sequence=sequence,
        status=Status.APPLIED,
        reason=None,
        original_sequence=None,
        processed_at_ms=now,
        content_hash=digest,
        request=request,
        channel=channel,
        postings=_postings(account, carried.balances, 1),
        balances=tuple(carried.balances[asset] for asset in sorted(carried.balances)),
        forgotten_request_ids=tuple(state.receipts),
        forgotten_reversibles=tuple(state.reversibles),
        program_version=version,
        epoch=carried.epoch,
    )
    return event, ()


def _postings(account: str, balances: dict[str, Balance], sign: int) -> tuple[Posting, ...]:
    """Per asset: the account's available and @holds' held (in with sign 1, out with -1),
    against @transit."""
    postings = []
    for asset, balance in sorted(balances.items()):
        if balance.available:
            postings.append(Posting(account, asset, sign * balance.available))
        if balance.held:
            postings.append(Posting(HOLDS, asset, sign * balance.held))
        if balance.available + balance.held:
            postings.append(Posting(TRANSIT, asset, -sign * (balance.available + balance.held)))
    return tuple(postings)


def installed(event: LedgerEvent) -> AccountState:
    """The state an applied INSTALL makes: the carried one, at the event's sequence and
    clock, remembering the INSTALL itself (its receipt is added by `evolve`)."""
    carried = event.request.carried_state
    assert carried is not None, f"{event.event_id}: an INSTALL without its state"
    return AccountState(
        program=carried.program,
        account_id=carried.account_id,
        sequence=event.sequence - 1,
        clock_ms=carried.clock_ms,
        balances=carried.balances,
        lots=carried.lots,
        holds=carried.holds,
        receipts=carried.receipts,
        reversibles=carried.reversibles,
        epoch=carried.epoch,
    )
