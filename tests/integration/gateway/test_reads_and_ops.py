"""Reads from Redis (balances, history, status, totals), operations endpoints, limits."""

from __future__ import annotations

import time
from typing import Any

import httpx

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

ACME = "/v1/programs/acme"


def _write(ledger: Ledger, body: dict[str, Any], key: str) -> None:
    key = f"{body['account_id']}-{key}"  # keys are per program: keep them apart
    with ledger.client(ledger.key(Scope.ADMIN)) as client:
        answer = client.post(f"{ACME}/transactions", json=body, headers={"Idempotency-Key": key})
        assert answer.status_code in (201, 422), answer.text


def test_balances_list_every_asset_with_scale_and_decimals(ledger: Ledger) -> None:
    ann = account()
    _write(
        ledger,
        {"operation": "ACCRUE", "account_id": ann, "asset": "cashback_usd", "amount": "3.07"},
        "c1",
    )
    _write(
        ledger, {"operation": "HOLD", "account_id": ann, "asset": "cashback_usd", "amount": 7}, "h1"
    )
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as client:
        body = client.get(f"{ACME}/accounts/{ann}/balances").json()
        assert body["sequence"] == 2
        usd = {b["asset"]: b for b in body["balances"]}["cashback_usd"]
        assert usd == {
            "asset": "cashback_usd",
            "scale": 2,
            "available": 300,
            "held": 7,
            "available_decimal": "3.00",
            "held_decimal": "0.07",
        }
        assert {b["asset"] for b in body["balances"]} == {
            "points",
            "cashback_inr",
            "cashback_usd",
            "voucher_coffee",
            "game_coins",
        }
        nobody = client.get(f"{ACME}/accounts/{account()}/balances").json()
        assert nobody["sequence"] == 0 and {b["available"] for b in nobody["balances"]} == {0}


def test_history_pages_backwards_newest_first(ledger: Ledger) -> None:
    ann = account()
    for i in range(5):
        _write(
            ledger,
            {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": i + 1},
            f"h{i}",
        )
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as client:
        first = client.get(f"{ACME}/accounts/{ann}/history", params={"limit": 3}).json()
        assert [e["sequence"] for e in first["entries"]] == [5, 4, 3]
        assert first["entries"][0]["postings"] == [
            {"account": "@issuance", "asset": "points", "amount": -5},
            {"account": ann, "asset": "points", "amount": 5},
        ] or sorted(p["amount"] for p in first["entries"][0]["postings"]) == [-5, 5]
        second = client.get(
            f"{ACME}/accounts/{ann}/history",
            params={"limit": 3, "before_sequence": first["next_before_sequence"]},
        ).json()
        assert [e["sequence"] for e in second["entries"]] == [2, 1]
        assert second["next_before_sequence"] is None
        bad = client.get(f"{ACME}/accounts/{ann}/history", params={"limit": 0})
        assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")


def test_request_status_known_rejected_and_unknown(ledger: Ledger) -> None:
    ann = account()
    _write(
        ledger, {"operation": "REDEEM", "account_id": ann, "asset": "points", "amount": 1}, "poor"
    )
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as client:
        status = client.get(f"{ACME}/accounts/{ann}/requests/{ann}-poor").json()
        assert (status["status"], status["reason"]) == ("REJECTED", "insufficient_funds")
        missing = client.get(f"{ACME}/accounts/{ann}/requests/never")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_totals_follow_the_postings(ledger: Ledger) -> None:
    with ledger.client(ledger.key(Scope.ADMIN)) as client:
        before = {a["asset"]: a for a in client.get(f"{ACME}/totals").json()["assets"]}
        _write(
            ledger,
            {
                "operation": "ACCRUE",
                "account_id": account(),
                "asset": "voucher_coffee",
                "amount": 2,
            },
            "v1",
        )
        after = {a["asset"]: a for a in client.get(f"{ACME}/totals").json()["assets"]}
        issued_before = before.get("voucher_coffee", {"issued": 0})["issued"]
        assert after["voucher_coffee"]["issued"] == issued_before + 2
        assert after["voucher_coffee"]["scale"] == 0


def test_health_readiness_metrics_openapi_and_problem_pages(ledger: Ledger) -> None:
    with ledger.client() as client:
        assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
        ready = client.get("/readyz").json()
        assert ready == {"status": "ok", "checks": {"kafka": True, "redis": True, "outcomes": True}}
        # Not on the API port, where a caller without a key could read outcomes by reason.
        assert client.get("/metrics").status_code == 404
        metrics = httpx.get(f"{ledger.metrics_url}/metrics", timeout=10).text
        assert "ledger_gateway_http_requests_total" in metrics
        assert 'route="/v1/programs/{program}/transactions"' in metrics
        assert "rlk_" not in metrics
        spec = client.get("/openapi.json").json()
        examples = spec["paths"]["/v1/programs/{program}/transactions"]["post"]["requestBody"][
            "content"
        ]["application/json"]["examples"]
        assert {e["value"]["operation"] for e in examples.values()} == {
            "ACCRUE",
            "REDEEM",
            "HOLD",
            "CAPTURE",
            "RELEASE",
            "REVERSE",
            "ADJUST",
            "TRANSFER",
        }
        assert client.get("/docs").status_code == 200
        page = client.get("/problems/insufficient_funds").json()
        assert page == {"code": "insufficient_funds", "status": 422, "title": "Insufficient funds"}
        nowhere = client.get("/no/such/route")
        assert nowhere.status_code == 404
        assert nowhere.headers["content-type"] == "application/problem+json"


def test_oversized_bodies_are_refused_with_413(ledger: Ledger) -> None:
    limit = ledger.settings.gateway_body_bytes_max
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        big = b'{"requests": [' + b" " * limit + b"]}"
        answer = client.post(
            f"{ACME}/transactions:batch", content=big, headers={"content-type": "application/json"}
        )
        assert (answer.status_code, answer.json()["code"]) == (413, "body_too_large")

        def chunks() -> Any:
            yield b'{"requests": ['
            for _ in range(limit // 1000 + 1):
                yield b" " * 1000
            yield b"]}"

        streamed = client.post(
            f"{ACME}/transactions:batch",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert streamed.status_code == 413


def test_rate_limit_answers_429_with_retry_after(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ, rate_per_s=1, rate_burst=3)
    with ledger.client(token) as client:
        started = time.monotonic()
        answers = []
        for _ in range(6):
            answers.append(client.get(f"{ACME}/accounts/warm-up/balances"))
            if len(answers) == 4:
                burst_s = time.monotonic() - started
        codes = [a.status_code for a in answers]
        assert codes[:3] == [200, 200, 200], codes
        if burst_s < 1.0:  # no token can have come back yet: the fourth is refused
            assert codes[3] == 429, codes
        assert 429 in codes[3:], codes  # a stalled machine may have let one refill through
        limited = next(a for a in answers if a.status_code == 429)
        assert limited.json()["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        time.sleep(1.1)
        assert client.get(f"{ACME}/accounts/warm-up/balances").status_code == 200
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as other:  # buckets are per key
        assert other.get(f"{ACME}/accounts/warm-up/balances").status_code == 200
