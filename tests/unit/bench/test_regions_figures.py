"""The regions bench's figures: one region against two, side by side, from its result."""

from __future__ import annotations

from bench.regions import _cost
from cli.bench_regions import figures_table


def test_the_cost_of_regions_is_two_over_one_of_the_same_run() -> None:
    result = {
        "regions": ["eu", "us"],
        "one_region": {"requests_per_s": 4000.0, "core_cpu_us_per_request": 80.0},
        "two_regions": {"requests_per_s": 3000.0, "core_cpu_us_per_request": 84.0},
        "replication_lag": {"p50_ms": 120.0, "p99_ms": 480.0, "max_ms": 700.0, "measured": 900},
        "mirrormaker_cpu_us_per_event": 310.5,
        "transfer_latency": {"p50_ms": 900.0, "p99_ms": 1500.0, "max_ms": 1600.0, "measured": 60},
        "transfers": {"sent": 60, "credited": 60},
    }
    result["cost"] = _cost(result)
    assert result["cost"] == {"throughput_two_over_one": 0.75, "core_cpu_two_over_one": 1.05}
    table = figures_table(result)
    assert "requests/s end to end" in table and "4000.0" in table and "3000.0" in table
    assert "replication lag eu -> us: p50 120.0 ms, p99 480.0 ms" in table
    assert "p50 900.0 ms, p99 1500.0 ms, 60 of 60 credited" in table


def test_a_phase_that_did_not_finish_has_no_ratio() -> None:
    assert _cost({"one_region": {"requests_per_s": 10.0}, "two_regions": {}}) == {
        "throughput_two_over_one": None,
        "core_cpu_two_over_one": None,
    }
