"""Generations of the read model: naming a new one, swapping it in, dropping an old one.

A replay builds a complete model under a new generation id while readers keep reading the
live one; one SET of the live pointer swaps it in, so nobody ever sees a half-built model.
"""

from __future__ import annotations

import time
import uuid

import redis

from readmodel.keys import GenerationKeys, live_pointer

DELETE_SCAN_COUNT = 1_000


def new_generation_id() -> str:
    return f"g{time.time_ns() // 1_000_000}-{uuid.uuid4().hex[:6]}"


def live_generation(client: redis.Redis, prefix: str) -> str | None:
    value = client.get(live_pointer(prefix))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def swap_in(client: redis.Redis, prefix: str, generation: str) -> str | None:
    """Make `generation` live; returns the generation it replaced (None if there was none)."""
    old = client.set(live_pointer(prefix), generation, get=True)
    if old is None:
        return None
    return old.decode() if isinstance(old, bytes) else str(old)


def drop_generation(client: redis.Redis, prefix: str, generation: str) -> int:
    """Delete every key of a generation that is not live (UNLINK: freed in the background)."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(
        match=GenerationKeys(prefix, generation).pattern, count=DELETE_SCAN_COUNT
    ):
        batch.append(key)
        if len(batch) >= DELETE_SCAN_COUNT:
            deleted += client.unlink(*batch)
            batch = []
    if batch:
        deleted += client.unlink(*batch)
    return deleted
