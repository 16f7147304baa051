"""The JSON a partner receives for a journal event: stable, documented, integers only."""

from __future__ import annotations

import json

from ledger.model import LedgerEvent


def event_payload(event: LedgerEvent) -> bytes:
    request = event.request
    body = {
        "event_id": event.event_id,
        "program": event.program,
        "account_id": event.account_id,
        "sequence": event.sequence,
        "status": event.status.value,
        "reason": event.reason.value if event.reason else None,
        "processed_at_ms": event.processed_at_ms,
        "request": {
            "request_id": request.request_id,
            "operation": request.operation.value,
            "asset": request.asset,
            "amount": request.amount,
            "reference": request.reference,
            "counterparty_account_id": request.counterparty_account_id,
            "principal": request.principal,
            "metadata": dict(request.metadata),
        },
        "balances": [
            {"asset": b.asset, "available": b.available, "held": b.held} for b in event.balances
        ],
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
