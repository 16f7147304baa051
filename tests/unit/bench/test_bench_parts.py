"""The bench's pure parts: mix parsing, its model, the workload, freshness, perf-tool output."""

from __future__ import annotations

import pytest

from bench.ceiling import CeilingError, parse_consumer_report, parse_producer_summary
from bench.kit.model import LedgerModel, ModelAccount, ModelRequest
from bench.kit.workload import BenchRecord, generate
from bench.mix import DEFAULT_MIX, Mix, MixError
from bench.watch import Freshness, SendTimes
from schemas.contracts import WireContracts

PRODUCER_OUTPUT = """\
99982 records sent, 19996.4 records/sec (2.85 MB/sec), 120.1 ms avg latency, 800.0 ms max latency.
200000 records sent, 52219.3 records/sec (7.47 MB/sec), 126.64 ms avg latency, 1312.00 ms max \
latency, 111 ms 50th, 249 ms 95th, 276 ms 99th, 304 ms 99.9th.
"""
CONSUMER_OUTPUT = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-25 20:06:19:345, 2026-11-25 20:06:22:636, 28.6102, 8.6935, 200000, 60771.8019, 702, \
2589, 11.0507, 77249.9034
"""


def test_mix_parses_sums_and_refuses_nonsense() -> None:
    mix = Mix.parse("accrue=60, redeem=25,reverse=5,hold=5,dup=5")
    assert mix.kinds() == ["accrue", "redeem", "hold", "reverse", "dup"]
    assert mix.cumulative() == [60, 85, 90, 95, 100]
    assert Mix.parse(str(Mix.parse(DEFAULT_MIX))) == Mix.parse(DEFAULT_MIX)
    for bad in ("accrue", "transfer=5", "accrue=x", "accrue=-1", "accrue=0"):
        with pytest.raises(MixError):
            Mix.parse(bad)


@pytest.mark.parametrize(
    ("requests", "available", "held", "outcomes"),
    [
        ([("a1", "ACCRUE", 100, None)], 100, 0, ["APPLIED"]),
        ([("a1", "REDEEM", 1, None)], 0, 0, ["REJECTED:insufficient_funds"]),
        (
            [("a1", "ACCRUE", 100, None), ("h1", "HOLD", 40, None), ("c1", "CAPTURE", 30, "h1")],
            70,
            0,
            ["APPLIED", "APPLIED", "APPLIED"],
        ),
        (
            [("h1", "HOLD", 1, None), ("a1", "ACCRUE", 5, None), ("a1", "ACCRUE", 5, None)],
            5,
            0,
            ["REJECTED:insufficient_funds", "APPLIED", "DUPLICATE"],
        ),
        (
            [("a1", "ACCRUE", 50, None), ("a1", "ACCRUE", 51, None), ("r1", "REVERSE", 50, "a1")],
            0,
            0,
            ["APPLIED", "REJECTED:idempotency_conflict", "APPLIED"],
        ),
        (
            [("a1", "ACCRUE", 10, None), ("x", "REDEEM", 10, None), ("r", "REVERSE", 10, "a1")],
            -10,  # clawback of spent points: allowed negative
            0,
            ["APPLIED", "APPLIED", "APPLIED"],
        ),
    ],
)
def test_model_scenarios(
    requests: list[tuple[str, str, int, str | None]], available: int, held: int, outcomes: list[str]
) -> None:
    account = ModelAccount()
    got = []
    for request_id, operation, amount, reference in requests:
        request = ModelRequest(request_id, "u1", operation, "points", amount, reference)
        outcome = account.apply(request)
        got.append(outcome.status + (f":{outcome.reason}" if outcome.reason else ""))
    assert got == outcomes
    assert account.balance("points") == (available, held)
    # What the Faust peer stores survives its JSON round trip unchanged.
    assert ModelAccount.from_json(account.to_json()) == account


def test_workload_is_seeded_and_its_expectations_add_up() -> None:
    contracts = WireContracts.for_registry(None)
    first = generate(contracts, "t.requests", 4, 500, 20, Mix.parse(DEFAULT_MIX), 7, now_ms=1)
    again = generate(contracts, "t.requests", 4, 500, 20, Mix.parse(DEFAULT_MIX), 7, now_ms=1)
    assert [r.value for r in first.records] == [r.value for r in again.records]
    assert sum(first.kinds.values()) == sum(first.expected_outcomes.values()) == 500
    assert first.kinds["dup"] > 0 and first.expected_outcomes["DUPLICATE"] > 0
    replayed = LedgerModel()
    for record in first.records:
        decoded = contracts.decode_request(record.value)
        replayed.apply(
            ModelRequest(
                decoded.request_id,
                decoded.account_id,
                decoded.operation.value,
                decoded.asset,
                decoded.amount,
                reference=decoded.reference,
                reason=decoded.reason,
            )
        )
    assert replayed.balances("points") == first.model.balances("points")


def test_send_times_match_repeated_ids_in_order_and_freshness_ranks() -> None:
    records = [
        BenchRecord(b"k", b"v", 0, "u1", "r1"),
        BenchRecord(b"k", b"v", 0, "u1", "r1"),
        BenchRecord(b"k", b"v", 0, "u2", "r1"),
    ]
    times = SendTimes(records, [1.0, 2.0, 3.0])
    latencies = times.latencies_ms([("u1", "r1", 1.5), ("u1", "r1", 2.25), ("x", "y", 9.0)])
    assert latencies == [500.0, 250.0]
    freshness = Freshness.of([float(n) for n in range(1, 101)])
    assert freshness == Freshness(p50_ms=50.0, p99_ms=99.0, max_ms=100.0, measured=100)
    assert Freshness.of([]) is None


def test_perf_tool_output_is_parsed() -> None:
    summary = parse_producer_summary(PRODUCER_OUTPUT)
    assert (summary["rate"], summary["p99"]) == ("52219.3", "276")
    report = parse_consumer_report(CONSUMER_OUTPUT)
    assert report["fetch.nMsg.sec"] == "77249.9034" and report["nMsg.sec"] == "60771.8019"
    with pytest.raises(CeilingError):
        parse_producer_summary("Exception in thread main")
    with pytest.raises(CeilingError):
        parse_consumer_report("")
