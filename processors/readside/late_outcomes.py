"""Outcomes applied without the mirror's own publishing (rebuild, gap heal), announced after.

The mirror publishes each outcome in the Lua call that applies it. Events applied in build
mode (a self-heal rebuild, a healed gap) publish nothing, yet a gateway may be waiting for one
of them. Only recent events can have a waiter: the gateway waits at most its outcome timeout,
so only events the core processed within that time are announced.
"""

from __future__ import annotations

import time

import redis

from ledger.model import LedgerEvent
from readmodel.keys import outcome_channel, outcome_to_json, reply_channel, valid_reply_to
from readmodel.projection import event_outcome
from settings import Settings


def waiting_since_ms(settings: Settings) -> int:
    """The oldest processing time a waiting gateway can still care about."""
    return time.time_ns() // 1_000_000 - settings.gateway_outcome_timeout_ms


class RecentOutcomes:
    """Collects the outcomes of events processed at or after `since_ms` (None: none)."""

    def __init__(self, since_ms: int | None) -> None:
        self.since_ms = since_ms
        self.outcomes: list[tuple[str | None, str]] = []  # (reply_to, outcome)

    def note(self, event: LedgerEvent, reply_to: bytes | None = None) -> None:
        """`reply_to`: the event's REPLY_TO_HEADER, the gateway process that waits for it."""
        if self.since_ms is not None and event.processed_at_ms >= self.since_ms:
            self.outcomes.append((valid_reply_to(reply_to), outcome_to_json(event_outcome(event))))

    def publish(self, client: redis.Redis, prefix: str) -> None:
        """Publish once the events are visible in the live model, not before."""
        if not self.outcomes:
            return
        pipe = client.pipeline(transaction=False)
        for reply_to, outcome in self.outcomes:
            channel = (
                outcome_channel(prefix) if reply_to is None else reply_channel(prefix, reply_to)
            )
            pipe.publish(channel, outcome)
        pipe.execute()
        self.outcomes.clear()
