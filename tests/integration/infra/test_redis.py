"""The read model's Redis server answers real commands, scripts included."""

from __future__ import annotations

import redis

from ledger.settings import Settings


def test_redis_reads_writes_and_runs_lua(settings: Settings, redis_client: redis.Redis) -> None:
    key = f"{settings.redis_key_prefix}balance:acme:alice:points"
    redis_client.hset(key, mapping={"available": 1500, "held": 0})
    assert redis_client.hgetall(key) == {b"available": b"1500", b"held": b"0"}

    bump = redis_client.register_script(
        "return redis.call('HINCRBY', KEYS[1], 'available', ARGV[1])"
    )
    assert bump(keys=[key], args=[-500]) == 1000
