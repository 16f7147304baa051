"""The dashboard's charts: the last 15 minutes in 10-second steps, per program.

Built from what the mirror counts per second in Redis (readmodel/keys.py, `activity:{second}`:
outcomes by operation, status and rejection reason, and freshness buckets: request sent ->
visible in Redis, for every outcome of the ledger, whichever gateway or producer sent it) and
from the lag samples gateways store every LAG_SAMPLE_S (`lag_sampler.py`). Throughput is
outcomes per second over each step; freshness p50/p99 are the upper bounds of the buckets that
hold them (as Prometheus' histogram_quantile would, without interpolation). Only finished steps
are shown: the one in progress would look like a drop.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis.asyncio

from gateway.dashboard.activity import Counters
from readmodel.keys import (
    FRESHNESS_BOUNDS_MS,
    LAG_SAMPLE_S,
    SERIES_WINDOW_S,
    key_part,
    lag_sample_key,
    parse_activity_field,
)

STEP_S = LAG_SAMPLE_S
POINTS = SERIES_WINDOW_S // STEP_S
SLOWEST_MS = FRESHNESS_BOUNDS_MS[-1]  # what an "inf" bucket is drawn at


@dataclass(slots=True)
class ProgramSeries:
    throughput_by_operation: dict[str, list[float]] = field(default_factory=dict)
    rejections_by_reason: dict[str, list[int]] = field(default_factory=dict)
    freshness_p50_ms: list[int | None] = field(default_factory=list)
    freshness_p99_ms: list[int | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SeriesView:
    step_s: int
    start_s: int
    """Epoch second the first step starts at; step n covers [start + n*step, +step)."""
    points: int
    programs: dict[str, ProgramSeries]
    journal_lag: list[int | None]
    """Journal records not yet in Redis, sampled once a step (None: no sample)."""
    core_lag: list[int | None]
    """Requests the core has not consumed yet (committed offsets), once a step."""


def first_step(now_s: float) -> int:
    """Start of the oldest step shown: POINTS finished steps end at the current step's start."""
    return (int(now_s) // STEP_S) * STEP_S - POINTS * STEP_S


def build_series(
    programs: Iterable[str],
    counters: Counters,
    lag_samples: Mapping[int, Mapping[str, int]],
    now_s: float,
) -> SeriesView:
    """The view of `programs` (only those) from the window's counters and lag samples."""
    start = first_step(now_s)
    wanted = {key_part(program): program for program in programs}
    raw: dict[str, list[_Step]] = {p: [_Step() for _ in range(POINTS)] for p in wanted.values()}
    for second, fields in counters.items():
        index = (second - start) // STEP_S
        if not 0 <= index < POINTS:
            continue
        for name, count in fields.items():
            parsed = parse_activity_field(name)
            if parsed is None or parsed[0] not in wanted:
                continue
            part, kind, value = parsed
            raw[wanted[part]][index].add(kind, value, count)
    return SeriesView(
        step_s=STEP_S,
        start_s=start,
        points=POINTS,
        programs={program: _program_series(steps) for program, steps in sorted(raw.items())},
        journal_lag=_lag(lag_samples, start, "journal"),
        core_lag=_lag(lag_samples, start, "core"),
    )


async def read_lag_samples(
    client: redis.asyncio.Redis, prefix: str, now_s: float
) -> dict[int, dict[str, int]]:
    """slot -> its sample, for the window's slots, in one round trip."""
    first_slot = first_step(now_s) // STEP_S
    slots = range(first_slot, first_slot + POINTS)
    pipe = client.pipeline(transaction=False)
    for slot in slots:
        pipe.hgetall(lag_sample_key(prefix, slot))
    found = await pipe.execute()
    return {
        slot: {_text(k): int(v) for k, v in sample.items()}
        for slot, sample in zip(slots, found, strict=True)
        if sample
    }


def freshness_percentile(buckets: Mapping[str, int], fraction: float) -> int | None:
    """The bound (ms) of the bucket holding the `fraction` rank; None without samples."""
    total = sum(buckets.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bound in FRESHNESS_BOUNDS_MS:
        seen += buckets.get(str(bound), 0)
        if seen >= rank:
            return bound
    return SLOWEST_MS


@dataclass(slots=True)
class _Step:
    operations: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    freshness: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, value: str, count: int) -> None:
        if kind == "op":
            self.operations[value] += count
        elif kind == "reason":
            self.reasons[value] += count
        elif kind == "fresh":
            self.freshness[value] += count


def _program_series(steps: list[_Step]) -> ProgramSeries:
    series = ProgramSeries()
    operations = sorted({op for step in steps for op in step.operations})
    reasons = sorted({reason for step in steps for reason in step.reasons})
    for op in operations:
        series.throughput_by_operation[op] = [
            round(step.operations[op] / STEP_S, 2) for step in steps
        ]
    for reason in reasons:
        series.rejections_by_reason[reason] = [step.reasons[reason] for step in steps]
    series.freshness_p50_ms = [freshness_percentile(step.freshness, 0.5) for step in steps]
    series.freshness_p99_ms = [freshness_percentile(step.freshness, 0.99) for step in steps]
    return series


def _lag(samples: Mapping[int, Mapping[str, int]], start: int, name: str) -> list[int | None]:
    first_slot = start // STEP_S
    return [samples.get(first_slot + n, {}).get(name) for n in range(POINTS)]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
