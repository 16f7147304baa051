"""The Python client's own rules, on a scripted transport (the real API is in
tests/integration/gateway/test_client.py): exact amounts, one idempotency key across retries,
Retry-After honoured, problem+json as typed errors, SSE parsing, no import of the project."""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from reward_ledger_client import LedgerClient, RateLimited, Rejected
from reward_ledger_client.protocol import (
    RETRY_AFTER_MAX_S,
    EventParser,
    amount_value,
    retry_delay,
    transaction,
)

CLIENT = Path(__file__).resolve().parents[3] / "clients" / "python" / "reward_ledger_client"
OUTCOME = {
    "request_id": "r",
    "program": "acme",
    "account_id": "ann",
    "status": "APPLIED",
    "operation": "ACCRUE",
    "sequence": 1,
    "balances": [
        {
            "asset": "cashback_inr",
            "scale": 2,
            "available": 1250,
            "held": 0,
            "available_decimal": "12.50",
            "held_decimal": "0.00",
        }
    ],
    "status_url": "/v1/programs/acme/accounts/ann/requests/r",
}


def test_amounts_are_exact_and_never_floats() -> None:
    assert amount_value(150) == 150
    assert amount_value(Decimal("12.50")) == "12.50"
    assert amount_value(Decimal("1E+2")) == "100"
    assert amount_value(" -3.25 ") == "-3.25"
    for wrong in (1.5, True):
        with pytest.raises(TypeError):
            amount_value(wrong)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        amount_value(Decimal("NaN"))
    for wrong_text in ("1.5.0", "NaN", ""):
        with pytest.raises(ValueError):
            amount_value(wrong_text)
    body = transaction("ACCRUE", "ann", "points", 5)
    assert len(body["request_id"]) == 32 and body["amount"] == 5


def test_a_retried_write_keeps_its_key_and_waits_as_told() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            status = 429 if len(seen) == 1 else 503
            return httpx.Response(status, headers={"Retry-After": "0"}, json={"code": "x"})
        return httpx.Response(201, json=OUTCOME)

    client = LedgerClient("http://ledger", "k", transport=httpx.MockTransport(answer))
    outcome = client.accrue("acme", "ann", "cashback_inr", Decimal("12.50"))
    assert outcome.balance("cashback_inr") is not None
    assert outcome.balances[0].available_decimal == Decimal("12.50")
    keys = {r.headers["Idempotency-Key"] for r in seen}
    bodies = [json.loads(r.content) for r in seen]
    assert len(seen) == 3 and len(keys) == 1
    assert {b["request_id"] for b in bodies} == keys and bodies[0]["amount"] == "12.50"
    assert seen[0].headers["Authorization"] == "Bearer k"


def test_problems_become_typed_errors_once_retries_run_out() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("transactions"):
            problem = {"code": "insufficient_funds", "title": "Insufficient funds", "detail": "d"}
            return httpx.Response(422, json=problem)
        return httpx.Response(429, headers={"Retry-After": "0"}, json={"retry_after_s": 2})

    client = LedgerClient("http://ledger", "k", transport=httpx.MockTransport(answer), retries=1)
    with pytest.raises(Rejected) as rejected:
        client.redeem("acme", "ann", "points", 10)
    assert rejected.value.code == "insufficient_funds" and rejected.value.status == 422
    with pytest.raises(RateLimited) as limited:
        client.balances("acme", "ann")
    assert limited.value.retry_after_s == 2


def test_event_stream_lines_become_events() -> None:
    parser = EventParser()
    lines = [
        "retry: 1000",
        "event: ready",
        'data: {"last_event_id": null}',
        "",
        ": keep-alive",
        "",
        "id: 3.1",
        "event: outcome",
        'data: {"sequence": 3}',
        "",
    ]
    events = [e for e in map(parser.line, lines) if e is not None]
    assert [(e.event, e.id, e.data) for e in events] == [
        ("ready", None, {"last_event_id": None}),
        ("outcome", "3.1", {"sequence": 3}),
    ]


def test_the_client_installs_on_its_own() -> None:
    """It imports only the standard library, httpx and itself: no module of the ledger."""
    allowed = {"httpx", "reward_ledger_client", "__future__"}
    for path in CLIENT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, (path.name, name)


def test_retry_after_is_honoured_in_seconds_or_as_a_date_and_capped() -> None:
    def told(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_delay(told("3"), 0, 0.2) == 3.0
    assert retry_delay(told("86400"), 0, 0.2) == RETRY_AFTER_MAX_S
    assert retry_delay(told("inf"), 0, 0.2) == RETRY_AFTER_MAX_S
    in_ten_s = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= retry_delay(told(in_ten_s), 0, 0.2) <= 10
    assert retry_delay(told("soon"), 2, 0.2) == pytest.approx(0.8)  # unreadable: backoff
    assert retry_delay(None, 1, 0.2) == pytest.approx(0.4)
