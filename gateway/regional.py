"""Reads in a region: this region's model and each other region's copied journal's model.

Every region's mirror keeps one model per journal (its own, and `<prefix>@<region>:` for each
other region's copy, settings.journal_copy), so an account homed anywhere is readable here.
Which model answers for an account is the one holding its latest state: the highest account
sequence, which only the account's home advances. Answers say which region that is and how
fresh the copy is; without regions there is one model and nothing changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio

from readmodel.keys import RequestStatus, copy_freshness_key, copy_link_key
from readmodel.reader import BalanceView, ReadModel
from settings import Settings


@dataclass(frozen=True, slots=True)
class Located:
    """Where an account's state was found, and how current that copy is."""

    region: str | None  # None: no regions
    model: ReadModel
    balances: list[BalanceView]
    # The decision time of the last event the copy holds for the account (None: unseen).
    as_of_ms: int | None = None
    # How far the copy was behind its home when it last took events; 0 at home.
    replication_lag_ms: int | None = None

    def stated(self) -> dict[str, object]:
        """The fields an answer adds to say so (none without regions)."""
        if self.region is None:
            return {}
        return {
            "home_region": self.region,
            "as_of_ms": self.as_of_ms,
            "replication_lag_ms": self.replication_lag_ms,
        }


HEARTBEAT_INTERVAL_MS = 1_000
"""MirrorMaker 2's `emit.heartbeats.interval.seconds` (1 in the regions stack): a healthy
link's newest heartbeat is up to this old plus the replication lag."""


DUPLICATE = "DUPLICATE"


class RegionalModels:
    def __init__(self, client: redis.asyncio.Redis, settings: Settings, local: ReadModel) -> None:
        self.client = client
        self.here = settings.region
        self.local = local
        self.copies: Mapping[str, ReadModel] = {
            source: ReadModel(client, settings.journal_copy(source).redis_key_prefix)
            for source in settings.other_regions
        }

    async def locate(self, program: str, account_id: str) -> Located:
        stored = await self.local.balances(program, account_id)
        if not self.here:
            return Located(None, self.local, stored)
        best = Located(self.here, self.local, stored)
        for source, model in self.copies.items():
            found = await model.balances(program, account_id)
            if found and (not best.balances or found[0].sequence > best.balances[0].sequence):
                best = Located(source, model, found)
        if best.region == self.here and not best.balances:
            return best
        as_of = await best.model.processed_at(program, account_id)
        lag = 0 if best.region == self.here else await self._copy_lag_ms(best.model)
        return Located(best.region, best.model, best.balances, as_of, lag)

    async def request_status(
        self, program: str, account_id: str, request_id: str
    ) -> RequestStatus | None:
        """A request's outcome, from this region's model or the copy of the journal where it
        was decided; None when unknown. A final outcome (APPLIED, REJECTED) anywhere beats a
        DUPLICATE: after a move, a retry decided at the new home is stored there as a
        DUPLICATE, while its first outcome lives in the old home's copy."""
        found = None
        for model in (self.local, *self.copies.values()):
            stored = await model.request_status(program, account_id, request_id)
            if stored is not None and stored.status != DUPLICATE:
                return stored
            found = found or stored
        return found

    async def _copy_lag_ms(self, model: ReadModel) -> int | None:
        """How far behind its home the copy is, at least: the larger of its own delay when it
        last took events and the age of the newest MirrorMaker 2 heartbeat from the home (less
        the heartbeats' interval), which keeps growing while the link is down even when the
        copy has nothing to take."""
        raw, link = await self.client.mget(
            copy_freshness_key(model.prefix), copy_link_key(model.prefix)
        )
        if raw is None:
            return None
        freshness = json.loads(raw)
        lag = int(freshness["applied_ms"]) - int(freshness["event_ms"])
        if link is not None:
            silent_ms = time.time_ns() // 1_000_000 - int(json.loads(link)["heartbeat_ms"])
            lag = max(lag, silent_ms - HEARTBEAT_INTERVAL_MS)
        return max(lag, 0)
