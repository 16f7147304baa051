"""What the API answers, as typed, immutable values. Amounts are integers in minor units, with
their exact `Decimal` in major units beside them; never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Balance:
    asset: str
    scale: int
    available: int
    held: int
    available_decimal: Decimal
    held_decimal: Decimal

    @classmethod
    def of(cls, data: dict[str, Any]) -> Balance:
        return cls(
            data["asset"],
            int(data["scale"]),
            int(data["available"]),
            int(data["held"]),
            Decimal(data["available_decimal"]),
            Decimal(data["held_decimal"]),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """A request's outcome. PENDING: accepted, not decided yet (poll `request_status`)."""

    request_id: str
    program: str
    account_id: str
    status: str
    operation: str | None
    reason: str | None
    sequence: int | None
    event_id: str | None
    processed_at_ms: int | None
    original_sequence: int | None
    balances: tuple[Balance, ...]
    status_url: str

    @property
    def final(self) -> bool:
        return self.status != "PENDING"

    def balance(self, asset: str) -> Balance | None:
        return next((b for b in self.balances if b.asset == asset), None)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            data["request_id"],
            data["program"],
            data["account_id"],
            data["status"],
            data.get("operation"),
            data.get("reason"),
            data.get("sequence"),
            data.get("event_id"),
            data.get("processed_at_ms"),
            data.get("original_sequence"),
            tuple(Balance.of(b) for b in data.get("balances", ())),
            data["status_url"],
        )


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a batch: its outcome, or the error the single endpoint would raise."""

    index: int
    request_id: str
    http_status: int
    outcome: Outcome | None
    problem: dict[str, Any] | None
    replayed: bool

    @classmethod
    def of(cls, data: dict[str, Any]) -> BatchItem:
        result = data.get("result")
        return cls(
            int(data["index"]),
            data["request_id"],
            int(data["http_status"]),
            Outcome.of(result) if result else None,
            data.get("problem"),
            bool(data.get("replayed", False)),
        )


@dataclass(frozen=True, slots=True)
class AccountBalances:
    program: str
    account_id: str
    sequence: int
    balances: tuple[Balance, ...]
    # With regions: the account's home, when its last event was decided there, and how far
    # this region's copy of the home's journal was behind (None without regions).
    home_region: str | None = None
    as_of_ms: int | None = None
    replication_lag_ms: int | None = None

    def balance(self, asset: str) -> Balance | None:
        return next((b for b in self.balances if b.asset == asset), None)

    @classmethod
    def of(cls, data: dict[str, Any]) -> AccountBalances:
        return cls(
            data["program"],
            data["account_id"],
            int(data["sequence"]),
            tuple(Balance.of(b) for b in data["balances"]),
            data.get("home_region"),
            data.get("as_of_ms"),
            data.get("replication_lag_ms"),
        )


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    sequence: int
    event_id: str
    request_id: str
    operation: str
    status: str
    reason: str | None
    asset: str
    amount: int
    postings: tuple[Posting, ...]
    processed_at_ms: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            int(data["sequence"]),
            data["event_id"],
            data["request_id"],
            data["operation"],
            data["status"],
            data.get("reason"),
            data["asset"],
            int(data["amount"]),
            tuple(Posting(p["account"], p["asset"], int(p["amount"])) for p in data["postings"]),
            int(data["processed_at_ms"]),
        )


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    """Newest first."""
    next_before_sequence: int | None
    """Pass as `before_sequence` for the next (older) page; None at the end."""

    @classmethod
    def of(cls, data: dict[str, Any]) -> HistoryPage:
        return cls(
            tuple(HistoryEntry.of(e) for e in data["entries"]), data.get("next_before_sequence")
        )


@dataclass(frozen=True, slots=True)
class AssetTotals:
    asset: str
    scale: int | None
    issued: int
    redeemed: int
    expired: int
    adjusted: int
    outstanding: int
    held: int
    in_transit: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> AssetTotals:
        return cls(
            data["asset"],
            data.get("scale"),
            int(data["issued"]),
            int(data["redeemed"]),
            int(data["expired"]),
            int(data["adjusted"]),
            int(data["outstanding"]),
            int(data["held"]),
            int(data["in_transit"]),
        )


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    """One version of a program's definition (the keys of `[programs.<name>]` in the
    ledger's programs.toml)."""

    program: str
    version: int
    change: str
    changed_at_ms: int
    changed_by: str
    definition: dict[str, Any]

    @classmethod
    def of(cls, data: dict[str, Any]) -> ProgramVersion:
        return cls(
            data["program"],
            int(data["version"]),
            data["change"],
            int(data["changed_at_ms"]),
            data["changed_by"],
            dict(data["definition"]),
        )


@dataclass(frozen=True, slots=True)
class QualifyingPoints:
    """What an account earned over the last `window_days` (accruals less reversed accruals),
    per asset in minor units and as exact decimals."""

    program: str
    account_id: str
    window_days: int
    as_of_ms: int
    updated_at_ms: int | None
    folded_to_ms: int
    earned: dict[str, int]
    earned_decimal: dict[str, Decimal | None]

    @classmethod
    def of(cls, data: dict[str, Any]) -> QualifyingPoints:
        assets = data["assets"]
        return cls(
            data["program"],
            data["account_id"],
            int(data["window_days"]),
            int(data["as_of_ms"]),
            None if data.get("updated_at_ms") is None else int(data["updated_at_ms"]),
            int(data["folded_to_ms"]),
            {a["asset"]: int(a["earned"]) for a in assets},
            {
                a["asset"]: None if a["earned_decimal"] is None else Decimal(a["earned_decimal"])
                for a in assets
            },
        )
