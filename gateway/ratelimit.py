"""Per API key rate limit: a token bucket in Redis, shared by every gateway process.

The bucket refills `rate_per_s` tokens per second up to `burst`; a transaction costs one
token (a batch costs one per item, at most `burst`). The bucket lives in
`P + "gw:rate:{key_id}"` and is updated by one Lua script with Redis's own clock, so gateway
processes with skewed clocks agree. Tokens are a float inside the script: rate limiting is
not money.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
local retry_ms = 0
if tokens >= cost then
  tokens = tokens - cost
else
  retry_ms = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return retry_ms
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_s: int


class RateLimiter:
    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._script = client.register_script(_BUCKET)

    async def take(self, key_id: str, rate_per_s: int, burst: int, cost: int = 1) -> Verdict:
        cost = max(1, cost)  # callers refuse a cost above the burst: it could never pass
        retry_ms = int(
            await self._script(
                keys=[f"{self.prefix}gw:rate:{key_id}"], args=[rate_per_s, burst, cost]
            )
        )
        return Verdict(retry_ms == 0, -(-retry_ms // 1000))
