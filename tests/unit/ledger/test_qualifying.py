"""Qualifying points: accruals count, reversed accruals take back, nothing else counts, and
the window is the last 365 days, today included."""

from __future__ import annotations

from ledger.decide import decide
from ledger.model import AccountState, Operation, Request
from ledger.programs import Programs
from ledger.qualifying import DAY_MS, day_of, earned, rolling_total

NOW = 1_780_000_000_000


def _request(request_id: str, operation: Operation, amount: int, **fields: object) -> Request:
    fields = {"requested_at_ms": NOW, **fields}
    return Request(request_id, "acme", "alice", operation, "points", amount, **fields)  # type: ignore[arg-type]


def test_accruals_count_and_reversed_accruals_take_back(programs: Programs) -> None:
    state: AccountState | None = None
    figures = []
    for request in (
        _request("a1", Operation.ACCRUE, 100),
        _request("r1", Operation.REDEEM, 30),  # spending does not undo what was earned
        _request("v1", Operation.REVERSE, 40, reference="a1"),  # a refund does
        _request("t1", Operation.TRANSFER, 10, counterparty_account_id="bob"),
        _request("r2", Operation.REDEEM, 10_000),  # rejected
    ):
        decision = decide(state, request, NOW, programs)
        state = decision.state
        figures.append(earned(decision.event))
    assert figures == [{"points": 100}, {}, {"points": -40}, {}, {}]


def test_the_window_is_the_last_365_days_today_included() -> None:
    today = day_of(NOW)
    days = {
        today: {"points": 1},
        today - 364: {"points": 10},  # the window's first day
        today - 365: {"points": 100},  # a day too old
        today + 1: {"points": 1000},  # not yet
    }
    assert rolling_total(days, today) == {"points": 11}
    assert day_of(NOW + DAY_MS) == today + 1
