"""The HTTP contract: request and response bodies, with an example for every operation.

Amounts are JSON integers in minor units, or decimal strings in major units of the asset
(`"12.50"`), converted exactly by gateway/amounts.py. JSON numbers with a fraction are refused:
no float ever becomes an amount. Identifiers are restricted to characters that are safe in
Kafka keys (`program:account_id`) and Redis keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from gateway.amounts import DECIMAL_PATTERN
from gateway.region_models import RegionalAnswer
from ledger.model import INT64_MAX, INT64_MIN
from schemas.limits import (
    ACCOUNT_ID_LENGTH_MAX,
    METADATA_ENTRIES_MAX,
    METADATA_KEY_LENGTH_MAX,
    METADATA_VALUE_LENGTH_MAX,
    NAME_LENGTH_MAX,
    REASON_LENGTH_MAX,
    REQUEST_ID_LENGTH_MAX,
)

# Lengths are the contract's (schemas/limits.py): the core dead-letters what exceeds them.
ACCOUNT_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.@+-]{{0,{ACCOUNT_ID_LENGTH_MAX - 1}}}$"
REQUEST_ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{REQUEST_ID_LENGTH_MAX - 1}}}$"
PROGRAM_PATTERN = rf"^[A-Za-z0-9_.-]{{1,{NAME_LENGTH_MAX}}}$"
BATCH_REQUESTS_MAX = 1000

AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]
RequestId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
AssetCode = Annotated[str, StringConstraints(pattern=PROGRAM_PATTERN)]
Amount = Annotated[
    Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
    | Annotated[str, StringConstraints(pattern=DECIMAL_PATTERN)],
    Field(
        description="Integer in minor units (150 = 1.50 with scale 2), or a decimal string in "
        'major units with at most the asset\'s scale of decimals ("1.50").'
    ),
]
EpochMs = Annotated[StrictInt, Field(ge=0, le=INT64_MAX, description="epoch milliseconds")]
Metadata = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=METADATA_KEY_LENGTH_MAX)],
        Annotated[str, StringConstraints(max_length=METADATA_VALUE_LENGTH_MAX)],
    ],
    Field(max_length=METADATA_ENTRIES_MAX, description="free-form labels kept in the journal"),
]


class _Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: AccountId
    asset: AssetCode
    request_id: RequestId | None = Field(
        default=None,
        description="Unique per account; same as the Idempotency-Key header (give either). "
        "Generated (UUIDv7) when neither is given, which makes the call not retryable.",
    )
    metadata: Metadata = Field(default_factory=dict)


class Accrue(_Transaction):
    """Credit a lot that expires at `expires_at_ms`, or after the asset's lot lifetime."""

    operation: Literal["ACCRUE"]
    amount: Amount
    expires_at_ms: EpochMs | None = None


class Redeem(_Transaction):
    """Spend unexpired value, earliest expiry first."""

    operation: Literal["REDEEM"]
    amount: Amount


class Hold(_Transaction):
    """Reserve value until CAPTURE, RELEASE or the timeout `expires_at_ms`."""

    operation: Literal["HOLD"]
    amount: Amount
    expires_at_ms: EpochMs | None = None


class Capture(_Transaction):
    """Spend all or part of an open hold; `reference` is the HOLD's request_id."""

    operation: Literal["CAPTURE"]
    amount: Amount
    reference: RequestId


class Release(_Transaction):
    """Give an open hold back in full; `reference` is the HOLD's request_id."""

    operation: Literal["RELEASE"]
    reference: RequestId


class Reverse(_Transaction):
    """Undo all or part of an earlier ACCRUE, REDEEM or CAPTURE named by `reference`."""

    operation: Literal["REVERSE"]
    amount: Amount
    reference: RequestId
    expires_at_ms: EpochMs | None = None


class Adjust(_Transaction):
    """Operator correction by a signed amount, with a reason (scope adjustments:write)."""

    operation: Literal["ADJUST"]
    amount: Amount
    reason: Annotated[str, StringConstraints(min_length=1, max_length=REASON_LENGTH_MAX)]
    expires_at_ms: EpochMs | None = None


class Transfer(_Transaction):
    """Move value to another account of the program, keeping each lot's expiry."""

    operation: Literal["TRANSFER"]
    amount: Amount
    counterparty_account_id: AccountId


Transaction = Annotated[
    Accrue | Redeem | Hold | Capture | Release | Reverse | Adjust | Transfer,
    Field(discriminator="operation"),
]

TRANSACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "accrue": {
        "summary": "ACCRUE 120 points",
        "value": {"operation": "ACCRUE", "account_id": "ann", "asset": "points", "amount": 120},
    },
    "accrue_decimal": {
        "summary": "ACCRUE 12.50 INR of cashback (decimal string)",
        "value": {
            "operation": "ACCRUE",
            "account_id": "ann",
            "asset": "cashback_inr",
            "amount": "12.50",
            "metadata": {"order": "o-1001"},
        },
    },
    "redeem": {
        "summary": "REDEEM 50 points",
        "value": {"operation": "REDEEM", "account_id": "ann", "asset": "points", "amount": 50},
    },
    "hold": {
        "summary": "HOLD 30 points for a checkout",
        "value": {"operation": "HOLD", "account_id": "ann", "asset": "points", "amount": 30},
    },
    "capture": {
        "summary": "CAPTURE 20 of a hold",
        "value": {
            "operation": "CAPTURE",
            "account_id": "ann",
            "asset": "points",
            "amount": 20,
            "reference": "checkout-42-hold",
        },
    },
    "release": {
        "summary": "RELEASE a hold",
        "value": {
            "operation": "RELEASE",
            "account_id": "ann",
            "asset": "points",
            "reference": "checkout-42-hold",
        },
    },
    "reverse": {
        "summary": "REVERSE 10 of an accrual (refund)",
        "value": {
            "operation": "REVERSE",
            "account_id": "ann",
            "asset": "points",
            "amount": 10,
            "reference": "order-1001-accrue",
        },
    },
    "adjust": {
        "summary": "ADJUST by -5 (needs adjustments:write)",
        "value": {
            "operation": "ADJUST",
            "account_id": "ann",
            "asset": "points",
            "amount": -5,
            "reason": "goodwill correction, ticket 778",
        },
    },
    "transfer": {
        "summary": "TRANSFER 25 points to bob",
        "value": {
            "operation": "TRANSFER",
            "account_id": "ann",
            "asset": "points",
            "amount": 25,
            "counterparty_account_id": "bob",
        },
    },
}


class BatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {**TRANSACTION_EXAMPLES["accrue"]["value"], "request_id": "o-1-accrue"},
                        {**TRANSACTION_EXAMPLES["redeem"]["value"], "request_id": "o-2-redeem"},
                    ]
                }
            ]
        },
    )

    requests: list[Transaction] = Field(min_length=1, max_length=BATCH_REQUESTS_MAX)


# --- responses -------------------------------------------------------------------------------


class BalanceOut(BaseModel):
    asset: str
    scale: int = Field(description="decimal places of one unit of the asset")
    available: int = Field(description="minor units")
    held: int = Field(description="minor units reserved by open holds")
    available_decimal: str = Field(description="`available` in major units, exact")
    held_decimal: str


class TransactionOut(BaseModel):
    """A request's outcome. PENDING: accepted, outcome not known yet; poll `status_url`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "order-1001-accrue",
                    "program": "acme",
                    "account_id": "ann",
                    "status": "APPLIED",
                    "operation": "ACCRUE",
                    "reason": None,
                    "sequence": 1,
                    "event_id": "acme:ann:1",
                    "processed_at_ms": 1764100000000,
                    "original_sequence": None,
                    "balances": [
                        {
                            "asset": "points",
                            "scale": 0,
                            "available": 120,
                            "held": 0,
                            "available_decimal": "120",
                            "held_decimal": "0",
                        }
                    ],
                    "status_url": "/v1/programs/acme/accounts/ann/requests/order-1001-accrue",
                }
            ]
        }
    )

    request_id: str
    program: str
    account_id: str
    status: Literal["PENDING", "APPLIED", "REJECTED", "DUPLICATE"]
    operation: str | None = None
    reason: str | None = Field(default=None, description="reason code when REJECTED")
    sequence: int | None = None
    event_id: str | None = None
    processed_at_ms: int | None = None
    original_sequence: int | None = None
    balances: list[BalanceOut] = Field(
        default_factory=list, description="balances after, of the assets the event touched"
    )
    status_url: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details; `code` is the machine-readable reason."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


class BatchItemOut(BaseModel):
    index: int
    request_id: str
    http_status: int = Field(description="what the single-request endpoint would have answered")
    result: TransactionOut | None = None
    problem: ProblemOut | None = None
    replayed: bool = False


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class QualifyingAssetOut(BaseModel):
    asset: str
    scale: int | None = Field(description="null for an asset this gateway has not seen yet")
    earned: int = Field(description="minor units earned in the window (accruals less reversals)")
    earned_decimal: str | None


class QualifyingPointsOut(BaseModel):
    program: str
    account_id: str
    window_days: int = Field(
        description="the rolling window: the last 365 UTC days, today included"
    )
    as_of_ms: int = Field(description="when this answer was computed (the window ends that day)")
    updated_at_ms: int | None = Field(
        description="decision time of the last event that changed the member's figure"
    )
    folded_to_ms: int = Field(
        description="decision time of the newest journal event the extension has folded: "
        "far behind `as_of_ms` while it catches up (a first start folds the whole journal)"
    )
    assets: list[QualifyingAssetOut]


class AccountBalancesOut(RegionalAnswer):
    program: str
    account_id: str
    sequence: int = Field(description="account sequence after its last applied event")
    balances: list[BalanceOut]


class PostingOut(BaseModel):
    account: str
    asset: str
    amount: int


class HistoryEntryOut(BaseModel):
    sequence: int
    event_id: str
    request_id: str
    operation: str
    status: str
    reason: str | None
    asset: str
    amount: int
    postings: list[PostingOut]
    processed_at_ms: int


class HistoryOut(RegionalAnswer):
    program: str
    account_id: str
    entries: list[HistoryEntryOut] = Field(description="newest first")
    next_before_sequence: int | None = Field(
        default=None,
        description="pass as before_sequence for the next (older) page; null at the end",
    )


class AssetTotalsOut(BaseModel):
    asset: str
    scale: int | None
    issued: int
    redeemed: int
    expired: int
    adjusted: int
    outstanding: int
    held: int
    in_transit: int


class TotalsOut(BaseModel):
    program: str
    assets: list[AssetTotalsOut]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, bool] = Field(default_factory=dict)
