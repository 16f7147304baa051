"""Rolling counters of the last `WINDOW_S` seconds, kept in memory by each gateway process.

Outcomes: every message on the mirror's outcome channel (all writers' requests, not only
this gateway's) is counted by program and status and, when rejected, by reason, in one bucket
per second; a view adds up only the programs its caller may see.
Freshness: for requests THIS gateway produced, the seconds from just before producing to the
outcome arriving on the channel (the mirror publishes it in the same Lua call that stores it,
so that is when it became visible in Redis). Percentiles are over the last
`FRESHNESS_SAMPLES_MAX` samples of the window.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from readmodel.keys import Outcome

WINDOW_S = 60
FRESHNESS_SAMPLES_MAX = 10_000


@dataclass
class _Second:
    second: int
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (program, status)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (program, reason)


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
        self._seconds: deque[_Second] = deque()
        self._freshness: deque[tuple[float, str, float]] = deque(maxlen=FRESHNESS_SAMPLES_MAX)

    def outcome(self, outcome: Outcome) -> None:
        bucket = self._bucket(int(self.clock()))
        bucket.statuses[(outcome.program, outcome.status)] += 1
        if outcome.status == "REJECTED":
            bucket.reasons[(outcome.program, outcome.reason or "unknown")] += 1

    def freshness(self, program: str, seconds: float) -> None:
        self._freshness.append((self.clock(), program, seconds))

    def view(self, programs: Iterable[str]) -> ActivityView:
        """The last window, counting only `programs`."""
        visible = set(programs)
        now = self.clock()
        self._trim(int(now))
        statuses: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for bucket in self._seconds:
            for (program, status), count in bucket.statuses.items():
                if program in visible:
                    statuses[status] += count
            for (program, reason), count in bucket.reasons.items():
                if program in visible:
                    reasons[reason] += count
        total = sum(statuses.values())
        span = min(float(WINDOW_S), max(1.0, now - self.started))
        recent = sorted(
            s for at, program, s in self._freshness if at >= now - WINDOW_S and program in visible
        )
        return ActivityView(
            window_s=WINDOW_S,
            outcomes=total,
            outcomes_per_s=round(total / span, 2),
            by_status=dict(sorted(statuses.items())),
            rejections_by_reason=dict(reasons.most_common()),
            freshness_samples=len(recent),
            freshness_p50_ms=round(percentile(recent, 0.5) * 1000, 1) if recent else None,
            freshness_p99_ms=round(percentile(recent, 0.99) * 1000, 1) if recent else None,
        )

    def _bucket(self, second: int) -> _Second:
        if not self._seconds or self._seconds[-1].second != second:
            self._trim(second)
            self._seconds.append(_Second(second))
        return self._seconds[-1]

    def _trim(self, second: int) -> None:
        while self._seconds and self._seconds[0].second <= second - WINDOW_S:
            self._seconds.popleft()
