"""The problem table: one HTTP status per reason code."""

from __future__ import annotations

from gateway.problems import PROBLEMS
from ledger.reasons import Reason


def test_every_reason_has_exactly_one_http_status() -> None:
    assert set(Reason) <= set(PROBLEMS)
    assert PROBLEMS[Reason.INSUFFICIENT_FUNDS].status == 422
    assert PROBLEMS[Reason.IDEMPOTENCY_CONFLICT].status == 409
    assert all(400 <= kind.status < 600 for kind in PROBLEMS.values())
