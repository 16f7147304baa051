"""Why a request was rejected: one closed enum, ordered by precedence.

When a request breaks several rules, the reason reported is the one declared first here
(highest precedence). `decide` checks in exactly this order, so the order is part of the
contract and is tested (`tests/unit/ledger/scenarios/precedence.txt`).

The order follows what a request is made of: first whether it can be routed and trusted at all
(program, operation, channel, id, staleness, idempotency), then its own fields (date, asset,
amount, reason, expiry, references present), then what it refers to in the account
(references, holds, reversals), and last whether the account can afford it (funds, clawback,
overflow).

The idempotency check splits the list in two. A rejection for a reason up to and including
`idempotency_conflict` is not remembered: it is about the ledger, the channel or an id that
belongs to someone else, and the same request would be rejected the same way again. A
rejection for any later reason is final: the request_id remembers it for the idempotency
window, and a retry answers DUPLICATE of it (`REMEMBERED_REASONS`).

Codes are facts about the request or the account, never reused for something else. Adding a
code is backward compatible on the wire (the journal carries it as a string); renaming one is not.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # --- can the request be routed and trusted --------------------------------------------------
    PROGRAM_UNKNOWN = "program_unknown"
    """The program is not in the configuration."""
    OPERATION_UNKNOWN = "operation_unknown"
    """The operation is not one this ledger version knows (a newer writer's symbol)."""
    OPERATION_NOT_PERMITTED = "operation_not_permitted"
    """The channel the request came through may not ask for this operation (a system
    operation on a public topic, an ADJUST outside the operator channel)."""
    REQUEST_ID_RESERVED = "request_id_reserved"
    """A client request uses an id prefix the ledger reserves for its own requests."""
    ACCOUNT_ID_RESERVED = "account_id_reserved"
    """The account or the counterparty is named like a system account (`@...`): a member
    account of that name would blur the books (its balance counted as the system's)."""
    ACCOUNT_MOVED = "account_moved"
    """The account lives in another region now: what is left here is a stub naming its home.
    The core forwards such requests home; only one decided against the stub meets this."""
    STALE_REQUEST = "stale_request"
    """requested_at_ms is older than the program's idempotency window."""
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    """The request_id already has an outcome (applied or rejected) for different content."""
    # --- from here on, a rejection is final: its request_id remembers it ----------------------
    REQUESTED_IN_FUTURE = "requested_in_future"
    """requested_at_ms is later than now plus the program's allowed clock skew."""
    # --- the request's own fields ---------------------------------------------------------------
    ASSET_UNKNOWN = "asset_unknown"
    """The asset is not configured for the program."""
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    """The operation needs an amount > 0."""
    AMOUNT_MUST_BE_NONZERO = "amount_must_be_nonzero"
    """An ADJUST of 0 would record nothing."""
    AMOUNT_EXCEEDS_LIMIT = "amount_exceeds_limit"
    """The amount is above the asset's amount_max per request."""
    REASON_REQUIRED = "reason_required"
    """An ADJUST without a human reason."""
    EXPIRY_IN_PAST = "expiry_in_past"
    """The requested expires_at_ms (lot expiry or hold timeout) is not after now."""
    HOLD_TIMEOUT_EXCEEDS_MAX = "hold_timeout_exceeds_max"
    """A HOLD asks to stay open longer than the program's hold_timeout_max."""
    REFERENCE_MISSING = "reference_missing"
    """The operation acts on an earlier request, lot or hold but names none."""
    COUNTERPARTY_MISSING = "counterparty_missing"
    """A transfer leg without the other account."""
    TRANSFER_TO_SELF = "transfer_to_self"
    """A TRANSFER whose destination is the source account."""
    ASSET_NOT_TRANSFERABLE = "asset_not_transferable"
    """A TRANSFER of an asset configured as not transferable."""
    LOTS_INCONSISTENT = "lots_inconsistent"
    """A transfer leg whose carried lots do not sum to its amount."""
    REGION_UNKNOWN = "region_unknown"
    """A HANDOFF to no region, to a region the deployment does not have, or to the account's
    home itself (the last two decided by the core, which knows the regions)."""
    # --- what the request refers to -------------------------------------------------------------
    REFERENCE_NOT_FOUND = "reference_not_found"
    """The referenced request, lot or hold is unknown to the account (or already forgotten)."""
    REFERENCE_WRONG_KIND = "reference_wrong_kind"
    """The reference exists but is not of a kind the operation can act on."""
    REFERENCE_ASSET_MISMATCH = "reference_asset_mismatch"
    """The request's asset differs from the asset of what it references."""
    HOLD_NOT_OPEN = "hold_not_open"
    """The referenced HOLD was already captured, released or timed out."""
    HOLD_EXPIRED = "hold_expired"
    """The hold's timeout has passed; only its timeout can close it now."""
    TIMER_NOT_DUE = "timer_not_due"
    """An EXPIRE or HOLD_TIMEOUT arrived before the lot's expiry or the hold's timeout."""
    CAPTURE_EXCEEDS_HOLD = "capture_exceeds_hold"
    """A CAPTURE of more than the hold reserves."""
    ALREADY_REVERSED = "already_reversed"
    """The referenced request has been reversed in full already."""
    REVERSAL_EXCEEDS_ORIGINAL = "reversal_exceeds_original"
    """Earlier reversals plus this one would exceed the original amount."""
    ACCRUAL_EXPIRED = "accrual_expired"
    """REVERSE of an ACCRUE whose value has expired: it already left the customer, spent or
    expired, and charging it again would take it twice (an operator ADJUST corrects)."""
    ACCOUNT_UNKNOWN = "account_unknown"
    """A HANDOFF of an account that has no state here: there is nothing to move."""
    EPOCH_STALE = "epoch_stale"
    """An INSTALL of an epoch the account has already reached here: an older move's."""
    # --- can the account afford it --------------------------------------------------------------
    INSUFFICIENT_FUNDS = "insufficient_funds"
    """Spendable (unexpired, unreserved) balance is below the amount."""
    ACCRUAL_ALREADY_SPENT = "accrual_already_spent"
    """Reversing an ACCRUE whose value was spent, under the asset's `reject` clawback policy."""
    BALANCE_OVERFLOW = "balance_overflow"
    """The balance would leave the signed 64-bit range of the wire type."""
    ACCOUNT_IN_DEBT = "account_in_debt"
    """A HANDOFF of an account with a negative balance: it pays its debt back where it is."""
    # --- can the ledger write the outcome -------------------------------------------------------
    OUTPUT_TOO_LARGE = "output_too_large"
    """The outcome cannot be written: its event, its transfer leg or the account's state would
    exceed the record size limit (decided by the core, not by `decide`: see `refuse`)."""


PRECEDENCE: dict[Reason, int] = {reason: rank for rank, reason in enumerate(Reason)}
"""Rank of each reason, 0 = highest precedence."""

REMEMBERED_REASONS = frozenset(
    reason for reason in Reason if PRECEDENCE[reason] > PRECEDENCE[Reason.IDEMPOTENCY_CONFLICT]
)
"""Reasons decided after the idempotency check: such a rejection is the request's final
outcome, remembered by its request_id like an applied one."""
