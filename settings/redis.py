"""Redis: where the read model lives and the prefix of every key."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class RedisSettings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = "rl:"


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("REDIS_URL", "redis_url", str, "Redis server of the read model"),
    EnvVar("LEDGER_REDIS_KEY_PREFIX", "redis_key_prefix", str, "prefix of every Redis key"),
)
