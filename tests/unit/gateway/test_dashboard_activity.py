"""The dashboard's window: outcomes from the mirror's per-second counters, freshness local."""

from __future__ import annotations

from collections import Counter

from gateway.dashboard.activity import Activity, Counters, percentile
from readmodel.keys import activity_fields


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted(*outcomes: tuple[str, str, str | None], second: int = 1000) -> Counters:
    """The hash the mirror's script builds for these (program, status, reason) outcomes."""
    fields: Counter[str] = Counter()
    for program, status, reason in outcomes:
        fields.update(activity_fields(program, "ACCRUE", status, reason))
    return {second: dict(fields)}


def test_counts_outcomes_and_rejections_of_the_window() -> None:
    counters = counted(
        ("acme", "APPLIED", None),
        ("acme", "REJECTED", "insufficient_funds"),
        ("acme", "REJECTED", "insufficient_funds"),
        ("acme", "REJECTED", "asset_unknown"),
    )
    view = Activity(Clock()).view(["acme"], counters)
    assert view.outcomes == 4 and view.outcomes_per_s == round(4 / 60, 2)
    assert view.by_status == {"APPLIED": 1, "REJECTED": 3}
    assert view.rejections_by_reason == {"insufficient_funds": 2, "asset_unknown": 1}
    quiet = Activity(Clock()).view(["acme"], {})
    assert quiet.outcomes == 0 and quiet.rejections_by_reason == {} and quiet.outcomes_per_s == 0


def test_freshness_percentiles_of_the_window() -> None:
    clock = Clock()
    activity = Activity(clock)
    assert activity.view(["acme"], {}).freshness_p50_ms is None
    for ms in range(1, 101):
        activity.freshness("acme", ms / 1000)
    view = activity.view(["acme"], {})
    assert (view.freshness_samples, view.freshness_p50_ms, view.freshness_p99_ms) == (
        100,
        50.0,
        99.0,
    )
    clock.now += 61
    assert activity.view(["acme"], {}).freshness_samples == 0


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 0.99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_a_view_counts_only_the_programs_it_may_see() -> None:
    activity = Activity(Clock())
    counters = counted(("acme", "APPLIED", None), ("beta", "REJECTED", "insufficient_funds"))
    activity.freshness("beta", 0.5)
    assert activity.view(["acme"], counters).by_status == {"APPLIED": 1}
    assert activity.view(["acme"], counters).rejections_by_reason == {}
    assert activity.view(["acme"], counters).freshness_samples == 0
    assert activity.view(["acme", "beta"], counters).outcomes == 2


def test_a_program_name_that_is_escaped_in_keys_is_still_counted() -> None:
    counters = counted(("a:b", "APPLIED", None), ("a%3Ab", "APPLIED", None))
    assert Activity(Clock()).view(["a:b"], counters).outcomes == 1
