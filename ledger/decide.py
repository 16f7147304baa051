"""decide(state, request, now, programs): the outcome of one request, as data.

Pure: no I/O, no wall clock (`now_ms` is injected), no randomness. The new state is always
`evolve(state, event)`, so the journal alone rebuilds every account.

The account clock never runs backwards: `now = max(now_ms, state.clock_ms)`.

Checks run in the precedence order of `ledger.reasons.Reason`; the first failing one is the
reason. Every operation first passes the common checks:

    program_unknown, operation_unknown,
    operation_not_permitted (the channel may not ask for it: ledger.model.PERMITTED_OPERATIONS),
    request_id_reserved, account_id_reserved, account_moved (a stub: ledger/moves.py),
    stale_request (not for system operations: see below),
    duplicate -> DUPLICATE of the first outcome, idempotency_conflict,
    requested_in_future (not for system operations), asset_unknown

then the field checks (`_check_fields`) and the state checks its own function lists
(ledger/operations/: value, holds, transfers; `Context` and `Effect` in ledger/effects.py).
A rejection changes no balance, lot or hold. One decided after the idempotency check is
final: the returned state remembers it (a receipt, ledger/idempotency.py), so a retry answers
DUPLICATE with the same reason. Any other rejection, and every DUPLICATE, returns the very
state object passed in (a new empty one for a new account).

System operations (transfer legs, timers) are exempt from the date checks: they are dated by
the processor that generated them, they may wait in Kafka longer than a window (a stopped
partition must not strand a transfer in @transit), and they are exactly once by construction:
ids unique for all time, delivered inside the core's transactions, timers guarded by state.

Double entry: postings name the customer account by its id and the program's system accounts
by `@name`. Per asset, each event's postings sum to zero, so the trial balance over all
accounts, system ones included, stays zero:

    @issuance      source of accrued value (goes negative as value is issued)
    @redemptions   value spent (REDEEM, CAPTURE)
    @expired       value that expired
    @adjustments   counterpart of operator corrections
    @transit       value between a transfer's debit leg and its credit or refund leg
    @holds         value reserved by open holds (still the customer's, not spendable)

A move between regions (HANDOFF, INSTALL: ledger/moves.py) is about the whole account, so it
skips the asset and field checks; its value travels through @transit like a transfer's. An
INSTALL is decided even for a program unknown here, for the same reason a leg is never stale.
"""

from __future__ import annotations

import msgspec

from ledger import moves
from ledger.accounts import (
    is_system,
)
from ledger.effects import Context, Effect
from ledger.evolve import evolve
from ledger.idempotency import (
    content_hash,
    live_receipt,
    receipts_to_forget,
    remembers_rejection,
    reversibles_to_forget,
)
from ledger.model import (
    MOVES,
    PERMITTED_OPERATIONS,
    RESERVED_ID_PREFIXES,
    SYSTEM_OPERATIONS,
    AccountState,
    Balance,
    Channel,
    LedgerEvent,
    Operation,
    Request,
    Status,
)
from ledger.operations import OPERATIONS
from ledger.operations.transfers import refund_for
from ledger.programs import Asset, Program, Programs
from ledger.reasons import Reason

_POSITIVE_AMOUNT = frozenset(
    {
        Operation.ACCRUE,
        Operation.REDEEM,
        Operation.HOLD,
        Operation.CAPTURE,
        Operation.REVERSE,
        Operation.TRANSFER,
        Operation.TRANSFER_CREDIT,
        Operation.TRANSFER_REFUND,
    }
)


# Limits bind what a client asks for; legs, captures and reversals are bounded by what they
# refer to.
_LIMITED_AMOUNT = frozenset(
    {Operation.ACCRUE, Operation.REDEEM, Operation.HOLD, Operation.ADJUST, Operation.TRANSFER}
)


_USES_EXPIRY = frozenset({Operation.ACCRUE, Operation.ADJUST, Operation.HOLD, Operation.REVERSE})


_NEEDS_REFERENCE = frozenset(
    {
        Operation.CAPTURE,
        Operation.RELEASE,
        Operation.REVERSE,
        Operation.EXPIRE,
        Operation.HOLD_TIMEOUT,
        Operation.TRANSFER_CREDIT,
        Operation.TRANSFER_REFUND,
    }
)


_TRANSFER_LEGS = frozenset(
    {Operation.TRANSFER, Operation.TRANSFER_CREDIT, Operation.TRANSFER_REFUND}
)


class Decision(msgspec.Struct, frozen=True, gc=False):
    event: LedgerEvent
    state: AccountState
    emitted: tuple[Request, ...] = ()


class _Asked(msgspec.Struct, frozen=True, gc=False):
    """What every outcome of one request shares, before it is decided."""

    state: AccountState
    request: Request
    now: int
    digest: str
    channel: Channel
    program: Program | None


def decide(
    state: AccountState | None,
    request: Request,
    now_ms: int,
    programs: Programs,
    channel: Channel = Channel.PUBLIC,
) -> Decision:
    """Decide one request against one account (`state=None`: an account never seen).

    `channel` is where the request came from (the topic it was read from, or `system` for
    timers): it decides which operations the request may ask for, whatever its `principal`
    says. The default is the least trusted one.

    Reasons common to every operation: as listed in this module's doc, then the operation's
    own (see its function in ledger/operations/, or ledger/moves.py).
    """
    if state is None:
        state = AccountState(program=request.program, account_id=request.account_id)
    now = now_ms if now_ms > state.clock_ms else state.clock_ms
    program = programs.get(request.program)
    asked = _Asked(state, request, now, content_hash(request), channel, program)
    if program is None:
        return _without_program(asked)
    operation = request.operation
    if operation is Operation.UNKNOWN:
        return _reject(asked, Reason.OPERATION_UNKNOWN)
    if operation not in PERMITTED_OPERATIONS[channel]:
        return _reject(asked, Reason.OPERATION_NOT_PERMITTED)
    system = operation in SYSTEM_OPERATIONS
    if not system and request.request_id.startswith(RESERVED_ID_PREFIXES):
        return _reject(asked, Reason.REQUEST_ID_RESERVED)
    if is_system(request.account_id) or is_system(request.counterparty_account_id or ""):
        return _reject(asked, Reason.ACCOUNT_ID_RESERVED)
    if state.moved_to and operation is not Operation.INSTALL:
        return _reject(asked, Reason.ACCOUNT_MOVED)
    if not system and request.requested_at_ms < now - program.idempotency_window_ms:
        return _reject(asked, Reason.STALE_REQUEST)
    receipt = live_receipt(
        state.receipts, state.holds, request.request_id, now, program.idempotency_window_ms
    )
    if receipt is not None:
        if receipt.content_hash != asked.digest:
            return _reject(asked, Reason.IDEMPOTENCY_CONFLICT)
        return _duplicate(asked, receipt.sequence, receipt.reason)
    if not system and request.requested_at_ms > now + program.clock_skew_max_ms:
        return _reject(asked, Reason.REQUESTED_IN_FUTURE)
    if operation in MOVES:  # the whole account, every asset
        return _move(asked, program.version)
    asset = program.assets.get(request.asset)
    if asset is None:
        return _reject(asked, Reason.ASSET_UNKNOWN)
    reason = _check_fields(request, now, program, asset)
    if reason is not None:
        return _reject(asked, reason)
    balance = state.balances.get(asset.code) or Balance(asset.code, 0, 0)
    context = Context(
        state,
        request,
        now,
        program,
        asset,
        state.sequence + 1,
        balance,
        state.lots.get(asset.code, ()),
        channel,
    )
    outcome = OPERATIONS[operation](context)
    if isinstance(outcome, Reason):
        return _reject(asked, outcome)
    return _apply(context, asked.digest, outcome)


def _without_program(asked: _Asked) -> Decision:
    """program_unknown, except for an INSTALL: the HANDOFF took the value out of the old
    home's books already, and refused here it would stay in @transit for good. The account
    arrives; this region's programs decide what comes next (program_unknown while it lacks
    the program)."""
    operation = asked.request.operation
    if operation is Operation.INSTALL and operation in PERMITTED_OPERATIONS[asked.channel]:
        return _move(asked, version=0)
    return _reject(asked, Reason.PROGRAM_UNKNOWN)


def _move(asked: _Asked, version: int) -> Decision:
    """HANDOFF or INSTALL: ledger/moves.py."""
    request = asked.request
    move = moves.handoff if request.operation is Operation.HANDOFF else moves.install
    moved = move(asked.state, request, asked.now, asked.digest, asked.channel, version)
    if isinstance(moved, Reason):
        return _reject(asked, moved)
    event, emitted = moved
    return Decision(event, evolve(asked.state, event), emitted)


def refuse(
    state: AccountState | None,
    request: Request,
    now_ms: int,
    programs: Programs,
    channel: Channel,
    reason: Reason,
) -> Decision:
    """The rejection of `request` for a reason decided outside the rules: the core could not
    write what `decide` answered (`output_too_large`). Like any rejection after the
    idempotency check it is final, and a refused credit leg is refunded."""
    if state is None:
        state = AccountState(program=request.program, account_id=request.account_id)
    now = now_ms if now_ms > state.clock_ms else state.clock_ms
    program = programs.get(request.program)
    return _reject(_Asked(state, request, now, content_hash(request), channel, program), reason)


def _check_fields(request: Request, now: int, program: Program, asset: Asset) -> Reason | None:
    """Checks that need only the request and the configuration, in precedence order."""
    operation = request.operation
    amount = request.amount
    if operation in _POSITIVE_AMOUNT and amount <= 0:
        return Reason.AMOUNT_MUST_BE_POSITIVE
    if operation is Operation.ADJUST and amount == 0:
        return Reason.AMOUNT_MUST_BE_NONZERO
    if operation in _LIMITED_AMOUNT and abs(amount) > asset.amount_max:
        return Reason.AMOUNT_EXCEEDS_LIMIT
    if operation is Operation.ADJUST and not (request.reason and request.reason.strip()):
        return Reason.REASON_REQUIRED
    expires = request.expires_at_ms
    if operation in _USES_EXPIRY and expires is not None:
        if expires <= now:
            return Reason.EXPIRY_IN_PAST
        if operation is Operation.HOLD and expires > now + program.hold_timeout_max_ms:
            return Reason.HOLD_TIMEOUT_EXCEEDS_MAX
    if operation in _NEEDS_REFERENCE and not request.reference:
        return Reason.REFERENCE_MISSING
    if operation in _TRANSFER_LEGS:
        counterparty = request.counterparty_account_id
        if not counterparty:
            return Reason.COUNTERPARTY_MISSING
        if counterparty == request.account_id:
            return Reason.TRANSFER_TO_SELF
        if operation is Operation.TRANSFER:
            if not asset.transferable:
                return Reason.ASSET_NOT_TRANSFERABLE
        elif (
            not request.carried_lots
            or any(lot.amount <= 0 for lot in request.carried_lots)
            or sum(lot.amount for lot in request.carried_lots) != amount
        ):
            return Reason.LOTS_INCONSISTENT
    return None


def _apply(c: Context, digest: str, effect: Effect) -> Decision:
    state = c.state
    request = c.request
    sequence = c.sequence
    forgotten_receipts, forgotten_reversibles = _forgetting(state, c.now, c.program)
    event = LedgerEvent(
        event_id=f"{state.program}:{state.account_id}:{sequence}",
        program=state.program,
        account_id=state.account_id,
        sequence=sequence,
        status=Status.APPLIED,
        reason=None,
        original_sequence=None,
        processed_at_ms=c.now,
        content_hash=digest,
        request=request,
        channel=c.channel,
        postings=tuple(effect.postings),
        balances=(Balance(c.asset.code, effect.available, effect.held),),
        lots=tuple(effect.lots),
        holds_opened=effect.holds_opened,
        holds_closed=effect.holds_closed,
        reversibles=effect.reversibles,
        forgotten_request_ids=forgotten_receipts,
        forgotten_reversibles=forgotten_reversibles,
        program_version=c.program.version,
        epoch=state.epoch,
    )
    return Decision(event, evolve(state, event), effect.emitted)


def _forgetting(
    state: AccountState, now: int, program: Program
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        receipts_to_forget(state.receipts, state.holds, now, program.idempotency_window_ms),
        reversibles_to_forget(state.reversibles, now, program.reversal_window_ms),
    )


def _not_applied(
    asked: _Asked,
    status: Status,
    reason: Reason | None,
    original_sequence: int | None,
    forgotten: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> LedgerEvent:
    state = asked.state
    request = asked.request
    return LedgerEvent(
        event_id=f"{state.program}:{state.account_id}:{state.sequence}:{status.value}:"
        f"{request.request_id}",
        program=state.program,
        account_id=state.account_id,
        sequence=state.sequence,
        status=status,
        reason=reason,
        original_sequence=original_sequence,
        processed_at_ms=asked.now,
        content_hash=asked.digest,
        request=request,
        channel=asked.channel,
        forgotten_request_ids=forgotten[0],
        forgotten_reversibles=forgotten[1],
        program_version=0 if asked.program is None else asked.program.version,
        epoch=state.epoch,
    )


def _duplicate(asked: _Asked, original_sequence: int, reason: Reason | None) -> Decision:
    """The first outcome again: the original's sequence, and its reason if it was rejected."""
    event = _not_applied(asked, Status.DUPLICATE, reason, original_sequence)
    return Decision(event, asked.state)


def _reject(asked: _Asked, reason: Reason) -> Decision:
    request = asked.request
    if asked.program is None or not remembers_rejection(request.operation, reason):
        return Decision(_not_applied(asked, Status.REJECTED, reason, None), asked.state)
    forgotten = _forgetting(asked.state, asked.now, asked.program)
    event = _not_applied(asked, Status.REJECTED, reason, None, forgotten)
    emitted: tuple[Request, ...] = ()
    if (
        request.operation is Operation.TRANSFER_CREDIT
        # A leg that names no source or reference was not written by the ledger.
        and request.counterparty_account_id
        and request.counterparty_account_id != request.account_id
        and request.reference
    ):
        emitted = (refund_for(request, request.counterparty_account_id, asked.now),)
    return Decision(event, evolve(asked.state, event), emitted)
