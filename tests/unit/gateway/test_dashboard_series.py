"""The dashboard's 15-minute charts, built from the mirror's per-second counters and the
gateways' lag samples: steps, programs, percentiles from buckets, gaps."""

from __future__ import annotations

from collections import Counter

from gateway.dashboard.series import (
    POINTS,
    SLOWEST_MS,
    STEP_S,
    build_series,
    first_step,
    freshness_percentile,
)
from readmodel.keys import activity_fields, freshness_field_prefix

NOW = 1_800_000_005.5  # 5.5 s into a step


def outcome(
    program: str, operation: str, status: str, reason: str | None, fresh: str
) -> Counter[str]:
    fields = Counter(activity_fields(program, operation, status, reason))
    fields[freshness_field_prefix(program) + fresh] += 1
    return fields


def test_outcomes_land_in_their_step_per_program_and_operation() -> None:
    start = first_step(NOW)
    last = start + (POINTS - 1) * STEP_S  # the newest finished step
    counters = {
        start: outcome("acme", "ACCRUE", "APPLIED", None, "50")
        + outcome("acme", "ACCRUE", "APPLIED", None, "50"),
        start + 3: outcome("acme", "REDEEM", "REJECTED", "insufficient_funds", "100"),
        last + 9: outcome("acme", "ACCRUE", "APPLIED", None, "25"),
        last + STEP_S: outcome("acme", "ACCRUE", "APPLIED", None, "25"),  # step in progress
        start - 1: outcome("acme", "ACCRUE", "APPLIED", None, "25"),  # before the window
        start + 5: outcome("other", "ACCRUE", "APPLIED", None, "10"),  # not visible
    }
    view = build_series(["acme"], {s: dict(f) for s, f in counters.items()}, {}, NOW)
    assert (view.step_s, view.points, view.start_s) == (STEP_S, POINTS, start)
    assert list(view.programs) == ["acme"]
    acme = view.programs["acme"]
    accrue = acme.throughput_by_operation["ACCRUE"]
    assert len(accrue) == POINTS
    assert accrue[0] == 2 / STEP_S and accrue[-1] == 1 / STEP_S and sum(accrue[1:-1]) == 0
    assert acme.throughput_by_operation["REDEEM"][0] == 1 / STEP_S
    assert acme.rejections_by_reason == {"insufficient_funds": [1] + [0] * (POINTS - 1)}
    assert acme.freshness_p50_ms[0] == 50 and acme.freshness_p99_ms[0] == 100
    assert acme.freshness_p50_ms[1] is None  # no outcome in that step
    assert acme.freshness_p99_ms[-1] == 25


def test_percentiles_are_the_bounds_of_the_buckets_that_hold_them() -> None:
    assert freshness_percentile({}, 0.5) is None
    buckets = {"10": 50, "100": 49, "inf": 1}
    assert freshness_percentile(buckets, 0.5) == 10
    assert freshness_percentile(buckets, 0.99) == 100
    assert freshness_percentile(buckets, 1.0) == SLOWEST_MS


def test_lag_samples_are_placed_by_slot_and_missing_ones_are_gaps() -> None:
    first_slot = first_step(NOW) // STEP_S
    samples = {first_slot: {"journal": 3, "core": 40}, first_slot + 2: {"journal": 0}}
    view = build_series(["acme"], {}, samples, NOW)
    assert view.journal_lag[:3] == [3, None, 0]
    assert view.core_lag[:3] == [40, None, None]
    assert view.programs == {"acme": view.programs["acme"]}
    assert view.programs["acme"].throughput_by_operation == {}
