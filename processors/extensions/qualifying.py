"""The worked example: each member's qualifying points over a rolling 12 months (the input of
tier rules), folded from the journal into a windowed Faust table and served by the API.

The table is tumbling by UTC day, relative to each event's `processed_at_ms` (the ledger's
decision time, so a refold of the same journal lands every event on the same day), and
forgets days older than the window. Each day's entry holds what the member earned that day
per asset and the sequence of the last event folded into it: an event at or below that
sequence was folded before a restart and is not counted again (an account's events come in
sequence order, so every earlier event of that day is in the entry too). After each event
the day's whole figure is written to Redis (readmodel/qualifying.py), where the gateway sums
the last 365 days: `GET /v1/programs/{p}/accounts/{a}/qualifying-points`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from ledger.model import LedgerEvent
from ledger.qualifying import DAY_MS, WINDOW_DAYS, day_of, earned
from processors.extensions.kit import journal_app, journal_events, journal_topic
from readmodel.qualifying import QualifyingStore
from schemas.contracts import WireContracts
from settings import Settings

log = logging.getLogger("ledger.extensions.qualifying")

NAME = "qualifying"
TABLE = "qualifying-days"
HEARTBEAT_S = 5.0
REDIS_RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)


def qualifying_app(settings: Settings, contracts: WireContracts) -> Any:
    app = journal_app(settings, NAME)
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    store = QualifyingStore(client, settings.redis_key_prefix)
    # The decision time of the event being folded: the table's clock; and the newest folded.
    folding = {"at_s": 0.0, "newest_ms": 0}
    days = (
        app.Table(TABLE, default=dict, partitions=app.conf.topic_partitions)
        .tumbling(timedelta(milliseconds=DAY_MS), expires=timedelta(days=WINDOW_DAYS + 1))
        .relative_to(lambda _event: folding["at_s"])
    )

    @app.agent(journal_topic(app, settings))  # type: ignore[untyped-decorator]
    async def fold(stream: Any) -> None:
        async for event, _ in journal_events(stream, contracts):
            folding["newest_ms"] = max(folding["newest_ms"], event.processed_at_ms)
            amounts = earned(event)
            if not amounts:
                continue
            folding["at_s"] = event.processed_at_ms / 1000
            key = json.dumps([event.program, event.account_id])
            entry = dict(days[key].value() or {})
            if event.sequence > entry.get("sequence", 0):  # else: folded before a restart
                totals: dict[str, int] = dict(entry.get("earned", {}))
                for asset, amount in amounts.items():
                    totals[asset] = totals.get(asset, 0) + amount
                days[key] = {"sequence": event.sequence, "earned": totals}
            # Redis keeps its own sequence guard: Faust may commit its position ahead of a
            # table write a SIGKILL lost, and the served figure must not miss that event.
            await _store(store, event.program, event.account_id, event, amounts)

    @app.timer(HEARTBEAT_S)  # type: ignore[untyped-decorator]
    async def beat() -> None:
        try:
            await store.beat(int(time.time() * 1000), int(folding["newest_ms"]))
        except RedisError as error:
            log.warning("heartbeat not written: %s", error)

    return app


async def _store(
    store: QualifyingStore,
    program: str,
    account_id: str,
    event: LedgerEvent,
    amounts: dict[str, int],
) -> None:
    """Count the event in Redis, waiting out a Redis outage (only this extension waits)."""
    attempt = 0
    while True:
        try:
            await store.add_event(
                program,
                account_id,
                event.sequence,
                event.processed_at_ms,
                amounts,
                day_of(event.processed_at_ms),
            )
            return
        except RedisError as error:
            delay = REDIS_RETRY_S[min(attempt, len(REDIS_RETRY_S) - 1)]
            attempt += 1
            log.warning(
                "qualifying points of %s:%s not stored (%s); again in %.1f s",
                program,
                account_id,
                error,
                delay,
            )
            await asyncio.sleep(delay)
