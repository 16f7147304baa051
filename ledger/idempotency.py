"""What makes two requests "the same", and when the ledger may forget a request id.

Content hash: BLAKE2b-128 over the fields that decide the outcome. `requested_at_ms`,
`principal` and `metadata` are left out on purpose: a client retrying a request stamps a new
time and may carry a new trace id, and that is still the same request.

Memory: each applied request leaves a `Receipt` remembered from
`max(processed_at_ms, requested_at_ms)`. A receipt counts while it is younger than the program's
idempotency window, or while it names an open hold (so a hold id can never be reused while the
hold lives). Requests older than the window are rejected as `stale_request`, so a forgotten id
can never be applied twice. Forgetting is explicit and deterministic: each applied event lists
the receipts and reversible records it drops (`forgotten_*`), oldest first, at most
`FORGET_PER_EVENT_MAX` of each, and `evolve` just deletes them. Rejected and duplicate events
never forget anything, because they must not change state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ledger.model import Hold, Receipt, Request, Reversible

FORGET_PER_EVENT_MAX = 64
"""Bound on the ids one event forgets, so one event after a long silence stays small."""


def content_hash(request: Request) -> str:
    content = (
        request.request_id,
        request.program,
        request.account_id,
        request.operation.value,
        request.asset,
        request.amount,
        request.reference,
        request.counterparty_account_id,
        request.expires_at_ms,
        request.reason,
        tuple((lot.amount, lot.expires_at_ms) for lot in request.carried_lots),
    )
    return hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()


def live_receipt(
    receipts: Mapping[str, Receipt],
    holds: Mapping[str, Hold],
    request_id: str,
    now_ms: int,
    window_ms: int,
) -> Receipt | None:
    receipt = receipts.get(request_id)
    if receipt is None:
        return None
    if receipt.remembered_at_ms + window_ms >= now_ms or request_id in holds:
        return receipt
    return None


def receipts_to_forget(
    receipts: Mapping[str, Receipt], holds: Mapping[str, Hold], now_ms: int, window_ms: int
) -> tuple[str, ...]:
    forgotten: list[str] = []
    for request_id, receipt in receipts.items():
        if receipt.remembered_at_ms + window_ms >= now_ms:
            # Oldest first: the rest is (nearly) as young; stragglers go on a later event.
            break
        if request_id in holds:
            continue
        forgotten.append(request_id)
        if len(forgotten) == FORGET_PER_EVENT_MAX:
            break
    return tuple(forgotten)


def live_reversible(
    reversibles: Mapping[str, Reversible], request_id: str, now_ms: int, window_ms: int
) -> Reversible | None:
    reversible = reversibles.get(request_id)
    if reversible is None or reversible.recorded_at_ms + window_ms < now_ms:
        return None
    return reversible


def reversibles_to_forget(
    reversibles: Mapping[str, Reversible], now_ms: int, window_ms: int
) -> tuple[str, ...]:
    forgotten: list[str] = []
    for request_id, reversible in reversibles.items():
        if reversible.recorded_at_ms + window_ms >= now_ms:
            break
        forgotten.append(request_id)
        if len(forgotten) == FORGET_PER_EVENT_MAX:
            break
    return tuple(forgotten)
