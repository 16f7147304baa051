"""One line of an account's recent history, as stored (JSON) in its bounded history list."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

# Compact JSON (no spaces), UTF-8 as is; a fifth of json.dumps's time on the mirror's path.
_JSON = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class PostingView:
    account: str
    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An event of the account: APPLIED ones and also REJECTED and DUPLICATE ones.

    `sequence` is the account sequence after the event (unchanged for REJECTED/DUPLICATE),
    `asset` and `amount` come from the request, `postings` are the event's double-entry lines
    (this account and the program's system accounts).
    """

    sequence: int
    event_id: str
    request_id: str
    operation: str
    status: str
    reason: str | None
    asset: str
    amount: int
    postings: tuple[PostingView, ...]
    processed_at_ms: int


def history_entry_to_json(entry: HistoryEntry) -> str:
    return _JSON.encode(
        {
            "sequence": entry.sequence,
            "event_id": entry.event_id,
            "request_id": entry.request_id,
            "operation": entry.operation,
            "status": entry.status,
            "reason": entry.reason,
            "asset": entry.asset,
            "amount": entry.amount,
            "postings": [
                {"account": p.account, "asset": p.asset, "amount": p.amount} for p in entry.postings
            ],
            "processed_at_ms": entry.processed_at_ms,
        }
    ).decode()


def parse_history_entry(raw: str | bytes) -> HistoryEntry:
    """Raises ValueError, KeyError or TypeError on a malformed entry."""
    data: Any = json.loads(raw)
    return HistoryEntry(
        sequence=int(data["sequence"]),
        event_id=str(data["event_id"]),
        request_id=str(data["request_id"]),
        operation=str(data["operation"]),
        status=str(data["status"]),
        reason=None if data["reason"] is None else str(data["reason"]),
        asset=str(data["asset"]),
        amount=int(data["amount"]),
        postings=tuple(
            PostingView(str(p["account"]), str(p["asset"]), int(p["amount"]))
            for p in data["postings"]
        ),
        processed_at_ms=int(data["processed_at_ms"]),
    )
