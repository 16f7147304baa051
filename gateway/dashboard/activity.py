"""The dashboard's last `WINDOW_S` seconds: outcomes from Redis, freshness from this process.

Outcomes: the mirror counts every outcome it publishes (all writers' requests, whichever
gateway waits for them) in one Redis hash per second of processing time, by program and
status and, when rejected, by reason (readmodel/keys.py, `activity_fields`); `read_counters`
fetches the window and a view adds up only the programs its caller may see. So no gateway
process has to read every outcome of the ledger to draw this.
Freshness: for requests THIS gateway produced, the seconds from just before producing to the
outcome arriving on its reply channel (the mirror publishes it in the same Lua call that stores
it, so that is when it became visible in Redis). Percentiles are over the last
`FRESHNESS_SAMPLES_MAX` samples of the window.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import redis.asyncio

from readmodel.keys import activity_key, key_part, parse_activity_field

WINDOW_S = 60
FRESHNESS_SAMPLES_MAX = 10_000


Counters = Mapping[int, Mapping[str, int]]
"""second -> the activity hash of that second (field -> count)."""


async def read_counters(
    client: redis.asyncio.Redis, prefix: str, now_s: float, window_s: int = WINDOW_S
) -> Counters:
    """The activity hashes of the `window_s` seconds ending at `now_s`, in one round trip."""
    seconds = [int(now_s) - n for n in range(window_s)]
    pipe = client.pipeline(transaction=False)
    for second in seconds:
        pipe.hgetall(activity_key(prefix, second))
    hashes = await pipe.execute()
    return {
        second: {_text(name): int(count) for name, count in raw.items()}
        for second, raw in zip(seconds, hashes, strict=True)
        if raw
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class ActivityView:
    window_s: int
    outcomes: int
    outcomes_per_s: float
    by_status: dict[str, int]
    rejections_by_reason: dict[str, int]
    freshness_samples: int
    freshness_p50_ms: float | None
    freshness_p99_ms: float | None


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class Activity:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self._freshness: deque[tuple[float, str, float]] = deque(maxlen=FRESHNESS_SAMPLES_MAX)

    def freshness(self, program: str, seconds: float) -> None:
        self._freshness.append((self.clock(), program, seconds))

    def view(self, programs: Iterable[str], counters: Counters) -> ActivityView:
        """The last window (`counters` from `read_counters`), counting only `programs`."""
        names = set(programs)
        visible = {key_part(program) for program in names}
        now = self.clock()
        statuses: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for fields in counters.values():
            for name, count in fields.items():
                parsed = parse_activity_field(name)
                if parsed is None or parsed[0] not in visible:
                    continue
                _, kind, value = parsed
                if kind == "status":
                    statuses[value] += count
                elif kind == "reason":
                    reasons[value] += count
        total = sum(statuses.values())
        recent = sorted(
            s for at, program, s in self._freshness if at >= now - WINDOW_S and program in names
        )
        return ActivityView(
            window_s=WINDOW_S,
            outcomes=total,
            # The counters are the ledger's, not this process's: always a whole window.
            outcomes_per_s=round(total / WINDOW_S, 2),
            by_status=dict(sorted(statuses.items())),
            rejections_by_reason=dict(reasons.most_common()),
            freshness_samples=len(recent),
            freshness_p50_ms=round(percentile(recent, 0.5) * 1000, 1) if recent else None,
            freshness_p99_ms=round(percentile(recent, 0.99) * 1000, 1) if recent else None,
        )
