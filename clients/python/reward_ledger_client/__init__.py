"""Typed Python client of the reward ledger's HTTP API, sync (`LedgerClient`) and async
(`AsyncLedgerClient`). Installable on its own: `pip install ./clients/python`."""

from reward_ledger_client.aio import AsyncLedgerClient
from reward_ledger_client.client import LedgerClient
from reward_ledger_client.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    LedgerError,
    NotFound,
    RateLimited,
    Rejected,
    ServerError,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from reward_ledger_client.models import (
    AccountBalances,
    AssetTotals,
    Balance,
    BatchItem,
    HistoryEntry,
    HistoryPage,
    Outcome,
    Posting,
    ProgramVersion,
    QualifyingPoints,
)
from reward_ledger_client.protocol import StreamEvent

__all__ = [
    "AccountBalances",
    "AssetTotals",
    "AsyncLedgerClient",
    "Balance",
    "BatchItem",
    "Conflict",
    "Forbidden",
    "HistoryEntry",
    "HistoryPage",
    "InvalidRequest",
    "LedgerClient",
    "LedgerError",
    "NotFound",
    "Outcome",
    "Posting",
    "ProgramVersion",
    "QualifyingPoints",
    "RateLimited",
    "Rejected",
    "ServerError",
    "StreamEvent",
    "TooLarge",
    "Unauthenticated",
    "Unavailable",
]
