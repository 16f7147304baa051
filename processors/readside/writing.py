"""The read model's writer (readmodel/writer.py) configured from this deployment's settings."""

from __future__ import annotations

import redis

from readmodel.writer import SyncApplier, WriterLimits
from settings import Settings


def writer_limits(settings: Settings) -> WriterLimits:
    return WriterLimits(
        key_prefix=settings.redis_key_prefix,
        history_max=settings.mirror_history_max,
        status_ttl_s=settings.mirror_status_ttl_s,
    )


def applier(client: redis.Redis, settings: Settings) -> SyncApplier:
    return SyncApplier(client, writer_limits(settings))
