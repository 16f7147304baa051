"""The gateway's idempotency records: one per (program, request_id), with a content hash.

    P + "gw:idem:{program}:{request_id}"   string  {"h": content hash, "a": account,
                                                    "t": requested_at_ms}, expires after the
                                                    program's idempotency window

The first write claims the key (SET NX); a retry finds the record: a different hash is a
conflict (409 `idempotency_conflict`, nothing produced), the same hash replays the original
outcome. A retry also reuses the original `requested_at_ms`, so the core's staleness check
still protects a retry that comes after the window, when the core no longer remembers the
request.

The hash is the ledger's own (`ledger.idempotency.content_hash`): what the client asked for,
not who asked, when, nor its metadata. So HTTP and Kafka agree on what a retry is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio

from ledger.idempotency import content_hash
from ledger.model import Request


@dataclass(frozen=True, slots=True)
class Claim:
    fresh: bool
    """True when this call created the record (a first attempt)."""
    conflict: bool
    account_id: str
    requested_at_ms: int


class IdempotencyStore:
    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix

    def _key(self, program: str, request_id: str) -> str:
        return f"{self.prefix}gw:idem:{program}:{request_id}"

    async def claim(self, request: Request, window_ms: int) -> Claim:
        mine = content_hash(request)
        record = json.dumps({"h": mine, "a": request.account_id, "t": request.requested_at_ms})
        previous = await self.redis.set(
            self._key(request.program, request.request_id), record, nx=True, px=window_ms, get=True
        )
        if previous is None:
            return Claim(True, False, request.account_id, request.requested_at_ms)
        assert isinstance(previous, bytes | str)
        stored = json.loads(previous)
        return Claim(False, stored["h"] != mine, str(stored["a"]), int(stored["t"]))

    async def release(self, program: str, request_id: str) -> None:
        """Forget a claim whose request never reached Kafka, so a retry starts afresh."""
        await self.redis.delete(self._key(program, request_id))

    async def pending_account(self, program: str, request_id: str) -> str | None:
        """The account of a request the gateway accepted, None if it knows no such request."""
        raw = await self.redis.get(self._key(program, request_id))
        return None if raw is None else str(json.loads(raw)["a"])
