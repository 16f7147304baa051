"""The dashboard's rolling counters: a 60 s window of outcomes, rejections and freshness."""

from __future__ import annotations

from gateway.dashboard.activity import Activity, percentile
from readmodel.keys import Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outcome(status: str, reason: str | None = None, program: str = "acme") -> Outcome:
    return Outcome(program, "ann", "r1", status, reason, 1, "e1", "REDEEM", (), 0)


def test_counts_outcomes_and_rejections_within_the_window() -> None:
    clock = Clock()
    activity = Activity(clock)
    clock.now += 10
    activity.outcome(outcome("APPLIED"))
    activity.outcome(outcome("REJECTED", "insufficient_funds"))
    activity.outcome(outcome("REJECTED", "insufficient_funds"))
    activity.outcome(outcome("REJECTED", "asset_unknown"))
    view = activity.view(["acme"])
    assert view.outcomes == 4 and view.outcomes_per_s == 0.4
    assert view.by_status == {"APPLIED": 1, "REJECTED": 3}
    assert view.rejections_by_reason == {"insufficient_funds": 2, "asset_unknown": 1}
    clock.now += 61
    later = activity.view(["acme"])
    assert later.outcomes == 0 and later.rejections_by_reason == {}
    assert later.outcomes_per_s == 0


def test_freshness_percentiles_of_the_window() -> None:
    clock = Clock()
    activity = Activity(clock)
    assert activity.view(["acme"]).freshness_p50_ms is None
    for ms in range(1, 101):
        activity.freshness("acme", ms / 1000)
    view = activity.view(["acme"])
    assert (view.freshness_samples, view.freshness_p50_ms, view.freshness_p99_ms) == (
        100,
        50.0,
        99.0,
    )
    clock.now += 61
    assert activity.view(["acme"]).freshness_samples == 0


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0], 0.99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_a_view_counts_only_the_programs_it_may_see() -> None:
    clock = Clock()
    activity = Activity(clock)
    activity.outcome(outcome("APPLIED"))
    activity.outcome(outcome("REJECTED", "insufficient_funds", program="beta"))
    activity.freshness("beta", 0.5)
    assert activity.view(["acme"]).by_status == {"APPLIED": 1}
    assert activity.view(["acme"]).rejections_by_reason == {}
    assert activity.view(["acme"]).freshness_samples == 0
    assert activity.view(["acme", "beta"]).outcomes == 2
