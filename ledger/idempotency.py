"""What makes two requests "the same", which outcomes are final, and when an id is forgotten.

Content hash: BLAKE2b-128 over the fields that decide the outcome. `requested_at_ms`,
`principal` and `metadata` are left out on purpose: a client retrying a request stamps a new
time and may carry a new trace id or other labels, and that is still the same request. The
gateway uses this very function for its own idempotency records, so HTTP and Kafka agree on
what a retry is.

Finality: an applied request, and a request rejected for a reason decided after the
idempotency check (`ledger.reasons.REMEMBERED_REASONS`), leave a `Receipt`: a retry with the
same content answers DUPLICATE of that first outcome (its sequence, its reason), other content
under the same id is `idempotency_conflict`. Timers are the exception: they are generated from
state and guarded by it, so their rejections are not remembered (`remembers`).

Memory: a receipt is remembered from `max(processed_at_ms, requested_at_ms)` for an applied
request and from `processed_at_ms` for a rejection (a far-future date must not keep it for
ever). It counts while younger than the program's idempotency window, or while it names an
open hold (so a hold id can never be reused while the hold lives). Requests older than the
window are rejected as `stale_request`, so a forgotten id can never be decided twice.
Forgetting is explicit and deterministic: every event that adds a receipt lists the receipts
and reversible records it drops (`forgotten_*`), oldest first, at most `FORGET_PER_EVENT_MAX`
of each, and `evolve` just deletes them. So remembering rejections keeps state bounded by the
activity of one window, as remembering applied requests does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ledger.model import Hold, LedgerEvent, Operation, Receipt, Request, Reversible, Status
from ledger.reasons import REMEMBERED_REASONS, Reason

FORGET_PER_EVENT_MAX = 64
"""Bound on the ids one event forgets, so one event after a long silence stays small."""

_TIMERS = frozenset({Operation.EXPIRE, Operation.HOLD_TIMEOUT})


def remembers_rejection(operation: Operation, reason: Reason) -> bool:
    """Whether a rejection is the request's final outcome, kept under its request_id."""
    return reason in REMEMBERED_REASONS and operation not in _TIMERS


def remembers(event: LedgerEvent) -> bool:
    """Whether `event` leaves a receipt: applied, or a final rejection."""
    if event.status is Status.APPLIED:
        return True
    return (
        event.status is Status.REJECTED
        and event.reason is not None
        and remembers_rejection(event.request.operation, event.reason)
    )


def receipt_of(event: LedgerEvent) -> Receipt:
    request = event.request
    if event.status is Status.APPLIED:
        return Receipt(
            request.request_id,
            event.content_hash,
            event.sequence,
            request.operation,
            max(event.processed_at_ms, request.requested_at_ms),
        )
    return Receipt(
        request.request_id,
        event.content_hash,
        event.sequence,
        request.operation,
        event.processed_at_ms,
        event.reason,
    )


def content_hash(request: Request) -> str:
    content: tuple[object, ...] = (
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
    if request.to_region:  # only moves name one: every other request keeps its hash
        content += (request.to_region,)
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
