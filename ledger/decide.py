"""decide(state, request, now, programs): the outcome of one request, as data.

Pure: no I/O, no wall clock (`now_ms` is injected), no randomness. The new state is always
`evolve(state, event)`, so the journal alone rebuilds every account.

The account clock never runs backwards: `now = max(now_ms, state.clock_ms)`.

Checks run in the precedence order of `ledger.reasons.Reason`; the first failing one is the
reason. Every operation first passes the common checks:

    program_unknown, operation_unknown,
    operation_not_permitted (the channel may not ask for it: ledger.model.PERMITTED_OPERATIONS),
    request_id_reserved, stale_request (not for system operations: see below),
    duplicate -> DUPLICATE of the first outcome, idempotency_conflict,
    requested_in_future (not for system operations), asset_unknown

then the field and state checks its own docstring lists. A rejection changes no balance, lot
or hold. One decided after the idempotency check is final: the returned state remembers it
(a receipt, ledger/idempotency.py), so a retry answers DUPLICATE with the same reason. Any
other rejection, and every DUPLICATE, returns the very state object passed in (a new empty one
for a new account).

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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger import lots as lotbook
from ledger.accounts import (
    ADJUSTMENTS,
    EXPIRED,
    HOLDS,
    ISSUANCE,
    REDEMPTIONS,
    TRANSIT,
    is_system,
)
from ledger.evolve import evolve
from ledger.idempotency import (
    content_hash,
    live_receipt,
    live_reversible,
    receipts_to_forget,
    remembers_rejection,
    reversibles_to_forget,
)
from ledger.model import (
    INT64_MAX,
    INT64_MIN,
    PERMITTED_OPERATIONS,
    RESERVED_ID_PREFIXES,
    SYSTEM_OPERATIONS,
    AccountState,
    Balance,
    CarriedLot,
    Channel,
    Hold,
    LedgerEvent,
    Lot,
    Operation,
    Posting,
    Request,
    Reversible,
    Status,
)
from ledger.programs import Asset, ClawbackPolicy, Program, Programs
from ledger.reasons import Reason

SYSTEM_PRINCIPAL = "system"

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
_REVERSIBLE = frozenset({Operation.ACCRUE, Operation.REDEEM, Operation.CAPTURE})


@dataclass(frozen=True, slots=True)
class Decision:
    event: LedgerEvent
    state: AccountState
    emitted: tuple[Request, ...] = ()


@dataclass(slots=True)
class _Effect:
    """What an applied operation changes, before it becomes a LedgerEvent."""

    postings: list[Posting]
    available: int
    held: int
    lots: list[Lot]
    holds_opened: tuple[Hold, ...] = ()
    holds_closed: tuple[str, ...] = ()
    reversibles: tuple[Reversible, ...] = ()
    emitted: tuple[Request, ...] = ()


@dataclass(slots=True)
class _Context:
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


@dataclass(frozen=True, slots=True)
class _Asked:
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

    Reasons common to every operation, in order: program_unknown, operation_unknown,
    operation_not_permitted, request_id_reserved, stale_request, idempotency_conflict,
    requested_in_future, asset_unknown; then the operation's own (see each `_op` function).
    """
    if state is None:
        state = AccountState(program=request.program, account_id=request.account_id)
    now = now_ms if now_ms > state.clock_ms else state.clock_ms
    program = programs.get(request.program)
    asked = _Asked(state, request, now, content_hash(request), channel, program)
    if program is None:
        return _reject(asked, Reason.PROGRAM_UNKNOWN)
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
    asset = program.assets.get(request.asset)
    if asset is None:
        return _reject(asked, Reason.ASSET_UNKNOWN)
    reason = _check_fields(request, now, program, asset)
    if reason is not None:
        return _reject(asked, reason)
    balance = state.balances.get(asset.code) or Balance(asset.code, 0, 0)
    context = _Context(
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
    outcome = _OPERATIONS[operation](context)
    if isinstance(outcome, Reason):
        return _reject(asked, outcome)
    return _apply(context, asked.digest, outcome)


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


# --- operations -----------------------------------------------------------------------------
# Each returns the effect to apply or the reason to reject, after the common and field checks.


def _accrue(c: _Context) -> _Effect | Reason:
    """ACCRUE: credit a new lot expiring at expires_at_ms or now + the asset's lot lifetime
    (never, if the asset has none). A negative balance is paid back first.

    Postings: @issuance -a, account +a. Reasons: balance_overflow.
    """
    amount = c.request.amount
    expires = _lot_expiry(c)
    effect = _credit(c, ((amount, expires),), ISSUANCE)
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


def _redeem(c: _Context) -> _Effect | Reason:
    """REDEEM: spend from unexpired lots, earliest expiry first, non-expiring last.

    Postings: account -a, @redemptions +a. Reasons: insufficient_funds.
    """
    amount = c.request.amount
    if lotbook.spendable_total(c.lots, c.balance.available, c.now) < amount:
        return Reason.INSUFFICIENT_FUNDS
    changed, _, _ = lotbook.take(c.lots, amount, c.now)
    account = c.request.account_id
    code = c.asset.code
    return _Effect(
        postings=[Posting(account, code, -amount), Posting(REDEMPTIONS, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held,
        lots=changed,
        reversibles=(
            Reversible(c.request.request_id, Operation.REDEEM, code, amount, 0, None, c.now),
        ),
    )


def _hold(c: _Context) -> _Effect | Reason:
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
    return _Effect(
        postings=[Posting(c.request.account_id, code, -amount), Posting(HOLDS, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held + amount,
        lots=changed,
        holds_opened=(Hold(c.request.request_id, code, amount, expires, tuple(taken), c.sequence),),
    )


def _capture(c: _Context) -> _Effect | Reason:
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


def _release(c: _Context) -> _Effect | Reason:
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


def _hold_timeout(c: _Context) -> _Effect | Reason:
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


def _reverse(c: _Context) -> _Effect | Reason:
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
        effect = _claw_back(c, amount, expires, ISSUANCE, Reason.ACCRUAL_ALREADY_SPENT)
    else:
        effect = _credit(c, ((amount, _lot_expiry(c)),), REDEMPTIONS)
    if isinstance(effect, Reason):
        return effect
    effect.reversibles = (replace(original, reversed_amount=original.reversed_amount + amount),)
    return effect


def _adjust(c: _Context) -> _Effect | Reason:
    """ADJUST: operator correction by a signed amount, with a reason (the gateway requires
    the elevated scope). Positive: a new lot like ACCRUE (@adjustments -a, account +a).
    Negative: taken from lots in spending order, expired ones included; beyond the balance
    the clawback policy decides (account -a, @adjustments +a).

    Reasons (besides field checks amount_must_be_nonzero, reason_required):
    insufficient_funds, balance_overflow.
    """
    amount = c.request.amount
    if amount > 0:
        return _credit(c, ((amount, _lot_expiry(c)),), ADJUSTMENTS)
    return _claw_back(c, -amount, None, ADJUSTMENTS, Reason.INSUFFICIENT_FUNDS, first=False)


def _transfer(c: _Context) -> _Effect | Reason:
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
    return _Effect(
        postings=[Posting(request.account_id, code, -amount), Posting(TRANSIT, code, amount)],
        available=c.balance.available - amount,
        held=c.balance.held,
        lots=changed,
        emitted=(credit,),
    )


def _transfer_leg(c: _Context) -> _Effect | Reason:
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
    return _credit(c, parts, TRANSIT)


def _expire(c: _Context) -> _Effect | Reason:
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
    return _Effect(
        postings=[
            Posting(c.request.account_id, code, -lot.amount),
            Posting(EXPIRED, code, lot.amount),
        ],
        available=c.balance.available - lot.amount,
        held=c.balance.held,
        lots=[replace(lot, amount=0)],
    )


# --- shared steps ---------------------------------------------------------------------------


def _lot_expiry(c: _Context) -> int | None:
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


def _credit(
    c: _Context, parts: tuple[tuple[int, int | None], ...], counterpart: str
) -> _Effect | Reason:
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
    return _Effect(
        postings=[Posting(counterpart, code, -total), Posting(c.request.account_id, code, total)],
        available=balance.available + total,
        held=balance.held,
        lots=list(changed.values()),
    )


def _part_order(part: tuple[int, int | None]) -> int:
    return lotbook.NEVER if part[1] is None else part[1]


def _claw_back(
    c: _Context,
    amount: int,
    first_expiry: int | None,
    counterpart: str,
    refusal: Reason,
    first: bool = True,
) -> _Effect | Reason:
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
    return _Effect(
        postings=[Posting(c.request.account_id, code, -amount), Posting(counterpart, code, amount)],
        available=balance.available - amount,
        held=balance.held,
        lots=changed,
    )


def _open_hold(c: _Context) -> Hold | Reason:
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


def _close_hold(c: _Context, hold: Hold, captured: int) -> _Effect:
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
    return _Effect(
        postings=postings,
        available=c.balance.available + released - expired,
        held=c.balance.held - hold.amount,
        lots=list(returned.values()),
        holds_closed=(hold.hold_id,),
    )


# --- events ---------------------------------------------------------------------------------


def _apply(c: _Context, digest: str, effect: _Effect) -> Decision:
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
        emitted = (_refund_for(request, request.counterparty_account_id, asked.now),)
    return Decision(event, evolve(asked.state, event), emitted)


def _refund_for(credit: Request, source: str, now: int) -> Request:
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


_OPERATIONS = {
    Operation.ACCRUE: _accrue,
    Operation.REDEEM: _redeem,
    Operation.HOLD: _hold,
    Operation.CAPTURE: _capture,
    Operation.RELEASE: _release,
    Operation.HOLD_TIMEOUT: _hold_timeout,
    Operation.REVERSE: _reverse,
    Operation.ADJUST: _adjust,
    Operation.TRANSFER: _transfer,
    Operation.TRANSFER_CREDIT: _transfer_leg,
    Operation.TRANSFER_REFUND: _transfer_leg,
    Operation.EXPIRE: _expire,
}
