"""The ledger's plain data: requests in, events out, account state in between.

Every type is a frozen `msgspec.Struct` (slotted, not tracked by the garbage collector: values
never refer back to their holders) or an enum, so values can be shared between the old and the
new state without copying. A struct is built in a fifth of a frozen dataclass's time and
`msgspec.structs.replace` in a tenth; the core builds several per request. Containers inside
`AccountState` are dicts and tuples that are never mutated after construction: `decide` and
`evolve` build new ones (copy on write).

Amounts are Python ints in minor units of their asset, kept inside the signed 64-bit range of
the Avro `long` they travel as. Times are epoch milliseconds (`*_ms`). There are no floats.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from ledger.reasons import Reason

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class Operation(StrEnum):
    """What a request asks for. Semantics: docs/domain.md and ledger/decide.py."""

    ACCRUE = "ACCRUE"
    REDEEM = "REDEEM"
    HOLD = "HOLD"
    CAPTURE = "CAPTURE"
    RELEASE = "RELEASE"
    REVERSE = "REVERSE"
    ADJUST = "ADJUST"
    TRANSFER = "TRANSFER"
    TRANSFER_CREDIT = "TRANSFER_CREDIT"
    TRANSFER_REFUND = "TRANSFER_REFUND"
    EXPIRE = "EXPIRE"
    HOLD_TIMEOUT = "HOLD_TIMEOUT"
    HANDOFF = "HANDOFF"
    INSTALL = "INSTALL"
    # What an older reader decodes a newer writer's operation as; always rejected.
    UNKNOWN = "UNKNOWN"


CLIENT_OPERATIONS = frozenset(
    {
        Operation.ACCRUE,
        Operation.REDEEM,
        Operation.HOLD,
        Operation.CAPTURE,
        Operation.RELEASE,
        Operation.REVERSE,
        Operation.TRANSFER,
    }
)
"""What shops, payment flows and partners may ask for."""

ELEVATED_OPERATIONS = frozenset({Operation.ADJUST, Operation.HANDOFF})
"""Operator corrections and moves between regions: only through a channel an operator grants."""

SYSTEM_OPERATIONS = frozenset(
    {
        Operation.TRANSFER_CREDIT,
        Operation.TRANSFER_REFUND,
        Operation.EXPIRE,
        Operation.HOLD_TIMEOUT,
        Operation.INSTALL,
    }
)
"""Operations only the ledger itself generates (timers, transfer legs, an account's arrival)."""

MOVES = frozenset({Operation.HANDOFF, Operation.INSTALL})
"""Operations on a whole account (every asset): its move from one region to another."""

# The principal of the ledger's own requests (transfer legs, timers).
SYSTEM_PRINCIPAL = "system"
RESERVED_ID_PREFIXES = ("expire:", "hold-timeout:", "credit:", "refund:", "install:")
"""request_id prefixes of system requests; a client request using one is rejected."""


class Channel(StrEnum):
    """Where a request came from, which is what grants its authority.

    `principal` inside a request is information written by whoever produced it; the channel is
    decided by the ledger from the topic a record was read from (each topic has its own ACLs),
    or is `system` for what the ledger generates itself (timers).
    """

    PUBLIC = "public"
    """The public requests topic: producers, partners and the gateway; client operations."""
    OPERATOR = "operator"
    """The operator topic (or the gateway with the adjustments scope): client operations and
    elevated ones (ADJUST)."""
    SYSTEM = "system"
    """The internal topic only the core writes, and timers: transfer legs, expiry, timeouts."""


PERMITTED_OPERATIONS: dict[Channel, frozenset[Operation]] = {
    Channel.PUBLIC: CLIENT_OPERATIONS,
    Channel.OPERATOR: CLIENT_OPERATIONS | ELEVATED_OPERATIONS,
    Channel.SYSTEM: SYSTEM_OPERATIONS,
}
"""What each channel may ask for; anything else is rejected `operation_not_permitted`."""


class Status(StrEnum):
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"


class CarriedLot(msgspec.Struct, frozen=True, gc=False):
    """A slice of value moved by a transfer leg, keeping its original expiry."""

    amount: int
    expires_at_ms: int | None


class Request(msgspec.Struct, frozen=True, gc=False):
    request_id: str
    program: str
    account_id: str
    operation: Operation
    asset: str
    amount: int = 0
    reference: str | None = None
    counterparty_account_id: str | None = None
    expires_at_ms: int | None = None
    reason: str | None = None
    requested_at_ms: int = 0
    principal: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    carried_lots: tuple[CarriedLot, ...] = ()
    to_region: str = ""
    """HANDOFF, INSTALL: the region the account moves to."""
    carried_state: AccountState | None = None
    """INSTALL: the account as its old home handed it over, at its new epoch."""


class Posting(msgspec.Struct, frozen=True, gc=False):
    """One double-entry line: `account` is a customer account id or an `@system` account."""

    account: str
    asset: str
    amount: int


class Lot(msgspec.Struct, frozen=True, gc=False):
    """Value of one asset credited together with one expiry (None = never expires).

    `amount` is what is neither spent nor reserved by a hold. Lot ids are deterministic:
    the sequence of the creating event, plus `.n` when one event creates several lots.
    """

    lot_id: str
    asset: str
    amount: int
    expires_at_ms: int | None
    created_sequence: int


class Hold(msgspec.Struct, frozen=True, gc=False):
    """An open reservation. `portions` are the lot slices it took, in capture order."""

    hold_id: str
    asset: str
    amount: int
    expires_at_ms: int
    portions: tuple[Lot, ...]
    sequence: int = 0
    """Sequence of the HOLD event: with it the timeout's id is unique for all time, even when
    the hold's request_id is used again after the idempotency window."""


class Balance(msgspec.Struct, frozen=True, gc=False):
    asset: str
    available: int
    held: int


class Receipt(msgspec.Struct, frozen=True, gc=False):
    """Idempotency memory of a request's final outcome: applied (`reason` None) or rejected.

    `sequence` is the event's: the new sequence for an applied request, the unchanged one for
    a rejection. A retry answers DUPLICATE with this sequence and this reason.
    """

    request_id: str
    content_hash: str
    sequence: int
    operation: Operation
    remembered_at_ms: int
    reason: Reason | None = None


class Reversible(msgspec.Struct, frozen=True, gc=False):
    """An ACCRUE, REDEEM or CAPTURE that REVERSE can still undo."""

    request_id: str
    operation: Operation
    asset: str
    amount: int
    reversed_amount: int
    lot_id: str | None
    recorded_at_ms: int
    expires_at_ms: int | None = None
    """ACCRUE only: when the accrued value expires. Once it has, the accrual cannot be
    reversed (`accrual_expired`): its value left the customer, spent or expired."""


class AccountState(msgspec.Struct, frozen=True, gc=False):
    """One account. `lots` maps asset -> lots in spending order (see ledger/lots.py).

    `receipts` and `reversibles` keep insertion order (oldest first), which is what makes
    pruning them cheap and deterministic.
    """

    program: str
    account_id: str
    sequence: int = 0
    clock_ms: int = 0
    balances: dict[str, Balance] = msgspec.field(default_factory=dict)
    lots: dict[str, tuple[Lot, ...]] = msgspec.field(default_factory=dict)
    holds: dict[str, Hold] = msgspec.field(default_factory=dict)
    receipts: dict[str, Receipt] = msgspec.field(default_factory=dict)
    reversibles: dict[str, Reversible] = msgspec.field(default_factory=dict)
    epoch: int = 0
    """Ownership epoch: how many times the account moved between regions."""
    moved_to: str = ""
    """The region it was handed over to, when it no longer lives here (a stub: no value)."""


class LedgerEvent(msgspec.Struct, frozen=True, gc=False):
    """The outcome of one request against one account.

    For APPLIED events the change fields are the complete delta from the previous state, so
    `evolve` needs nothing else. REJECTED and DUPLICATE events carry the unchanged sequence
    and no balance changes; a remembered rejection (ledger.idempotency.remembers) adds its
    receipt and lists the ids it forgets, like an applied event.
    """

    event_id: str
    program: str
    account_id: str
    sequence: int
    status: Status
    reason: Reason | None
    original_sequence: int | None
    processed_at_ms: int
    content_hash: str
    request: Request
    channel: Channel = Channel.PUBLIC
    postings: tuple[Posting, ...] = ()
    balances: tuple[Balance, ...] = ()
    lots: tuple[Lot, ...] = ()
    holds_opened: tuple[Hold, ...] = ()
    holds_closed: tuple[str, ...] = ()
    reversibles: tuple[Reversible, ...] = ()
    forgotten_request_ids: tuple[str, ...] = ()
    forgotten_reversibles: tuple[str, ...] = ()
    program_version: int = 0
    """The version of the program's definition the request was decided with (0: the program
    was unknown, or the event predates versions)."""
    region: str = ""
    """The region whose core decided it ("" without regions)."""
    epoch: int = 0
    """The account's ownership epoch when it was decided."""
