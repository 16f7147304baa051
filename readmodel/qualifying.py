"""The qualifying-points extension's keys in Redis (ledger/qualifying.py says what it counts).

    P + "ext:qualifying:{program}:{account}"  hash  "{day}|{asset}": what the member earned of
                                                    that asset on that UTC day (days since the
                                                    epoch, an integer that may be negative);
                                                    "_sequence": the account sequence of the
                                                    last event counted; "_updated_at_ms";
                                                    days older than the window are pruned on
                                                    every write; the key expires a window
                                                    after its last write
    P + "ext:qualifying:heartbeat"            string  JSON {"beat_at_ms", "folded_to_ms"}: the
                                                    extension runs, and the decision time of
                                                    the newest event it has folded (expires)

An event is added with one script that first compares its sequence with `_sequence`: an
account's events come in sequence order, so one delivered again (Faust delivers at least
once, and may commit its position ahead of its table after a SIGKILL) is counted once, by
Redis itself. Outside the model's generations: a replay of the read model does not touch it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import redis.asyncio

from ledger.qualifying import DAY_MS, WINDOW_DAYS, first_day_counted
from readmodel.keys import key_part

HEARTBEAT_TTL_S = 30
_KEEP_MS = (WINDOW_DAYS + 1) * DAY_MS

_ADD_EVENT = """
local sequence = tonumber(ARGV[1])
local seen = tonumber(redis.call('HGET', KEYS[1], '_sequence') or '0')
if sequence <= seen then return 0 end
local first = tonumber(ARGV[2])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local day = tonumber(string.match(field, '^(%-?%d+)|'))
  if day and day < first then redis.call('HDEL', KEYS[1], field) end
end
for i = 5, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], '_sequence', ARGV[1])
local updated = tonumber(redis.call('HGET', KEYS[1], '_updated_at_ms') or '0')
if tonumber(ARGV[3]) > updated then redis.call('HSET', KEYS[1], '_updated_at_ms', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


def qualifying_key(prefix: str, program: str, account_id: str) -> str:
    return f"{prefix}ext:qualifying:{key_part(program)}:{key_part(account_id)}"


def heartbeat_key(prefix: str) -> str:
    return f"{prefix}ext:qualifying:heartbeat"


class QualifyingStore:
    def __init__(self, client: redis.asyncio.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._add_event = client.register_script(_ADD_EVENT)

    async def add_event(
        self,
        program: str,
        account_id: str,
        sequence: int,
        at_ms: int,
        earned: Mapping[str, int],
        day: int,
    ) -> bool:
        """Count one event's earnings on its day, unless its sequence was counted already."""
        fields: list[str | int] = []
        for asset, amount in sorted(earned.items()):
            fields += [f"{day}|{asset}", amount]
        added = await self._add_event(
            keys=[qualifying_key(self.prefix, program, account_id)],
            args=[sequence, first_day_counted(day), at_ms, _KEEP_MS, *fields],
        )
        return bool(added)

    async def beat(self, now_ms: int, folded_to_ms: int) -> None:
        value = json.dumps({"beat_at_ms": now_ms, "folded_to_ms": folded_to_ms})
        await self.client.set(heartbeat_key(self.prefix), value, ex=HEARTBEAT_TTL_S)

    async def days(
        self, program: str, account_id: str
    ) -> tuple[dict[int, dict[str, int]], int | None]:
        """Per day, per asset, what was earned; and when the member's figure last changed."""
        raw = await self.client.hgetall(qualifying_key(self.prefix, program, account_id))
        days: dict[int, dict[str, int]] = {}
        updated = None
        for field, value in raw.items():
            name = field.decode() if isinstance(field, bytes) else field
            if name == "_updated_at_ms":
                updated = int(value)
            elif not name.startswith("_"):
                day, _, asset = name.partition("|")
                days.setdefault(int(day), {})[asset] = int(value)
        return days, updated

    async def heartbeat(self) -> dict[str, int] | None:
        """The extension's last beat, or None when it is not running."""
        raw = await self.client.get(heartbeat_key(self.prefix))
        return None if raw is None else dict(json.loads(raw))
