"""Every client operation through HTTP -> Kafka -> core -> mirror -> outcome, on the real stack."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

TRANSACTIONS = "/v1/programs/acme/transactions"
RUN = uuid.uuid4().hex[:8]
"""Idempotency keys are per program: this module's own never meet another module's."""


def post(client: httpx.Client, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    request_id = key or f"r-{uuid.uuid4().hex}"
    return client.post(TRANSACTIONS, json=body, headers={"Idempotency-Key": request_id})


def points(answer: httpx.Response) -> tuple[int, int]:
    balances = {b["asset"]: b for b in answer.json()["balances"]}
    return balances["points"]["available"], balances["points"]["held"]


def test_every_operation_applies_and_answers_balances_after(ledger: Ledger) -> None:
    ann, bob = account(), account()
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE, Scope.ADJUSTMENTS_WRITE)) as client:
        accrue = post(
            client,
            {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 100},
            key=f"accrue-1-{RUN}",
        )
        assert accrue.status_code == 201, accrue.text
        body = accrue.json()
        assert (body["status"], body["sequence"], body["operation"]) == ("APPLIED", 1, "ACCRUE")
        assert (
            accrue.headers["Location"]
            == f"/v1/programs/acme/accounts/{ann}/requests/accrue-1-{RUN}"
        )
        assert "Idempotent-Replayed" not in accrue.headers
        assert points(accrue) == (100, 0)

        steps: list[tuple[dict[str, Any], tuple[int, int]]] = [
            ({"operation": "REDEEM", "amount": 10}, (90, 0)),
            ({"operation": "HOLD", "amount": 30, "request_id": f"hold-1-{RUN}"}, (60, 30)),
            ({"operation": "CAPTURE", "amount": 20, "reference": f"hold-1-{RUN}"}, (70, 0)),
            ({"operation": "HOLD", "amount": 5, "request_id": f"hold-2-{RUN}"}, (65, 5)),
            ({"operation": "RELEASE", "reference": f"hold-2-{RUN}"}, (70, 0)),
            ({"operation": "REVERSE", "amount": 15, "reference": f"accrue-1-{RUN}"}, (55, 0)),
            ({"operation": "ADJUST", "amount": -5, "reason": "ticket 1"}, (50, 0)),
            ({"operation": "TRANSFER", "amount": 20, "counterparty_account_id": bob}, (30, 0)),
        ]
        for step, expected in steps:
            body = {"account_id": ann, "asset": "points", **step}
            answer = post(client, body, key=step.get("request_id"))
            assert answer.status_code == 201, (step, answer.text)
            assert answer.json()["operation"] == step["operation"]
            assert points(answer) == expected, step


def test_decimal_strings_convert_exactly_and_extra_precision_is_refused(ledger: Ledger) -> None:
    ann = account()
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        body = {"operation": "ACCRUE", "account_id": ann, "asset": "cashback_inr"}
        answer = post(client, {**body, "amount": "12.5"})
        assert answer.status_code == 201, answer.text
        (balance,) = answer.json()["balances"]
        assert balance == {
            "asset": "cashback_inr",
            "scale": 2,
            "available": 1250,
            "held": 0,
            "available_decimal": "12.50",
            "held_decimal": "0.00",
        }
        refused = post(client, {**body, "amount": "0.005"})
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "body.amount"
        floats = post(client, {**body, "amount": 1.5})
        assert floats.status_code == 400
        assert floats.json()["code"] == "validation_error"


def test_a_rejection_is_422_problem_with_the_reason_code(ledger: Ledger) -> None:
    ann = account()
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        answer = post(
            client,
            {"operation": "REDEEM", "account_id": ann, "asset": "points", "amount": 5},
            key=f"too-much-{RUN}",
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == problem["reason"] == "insufficient_funds"
        assert problem["type"] == "/problems/insufficient_funds"
        assert problem["request_id"] == f"too-much-{RUN}"
        assert problem["status_url"].endswith(f"/accounts/{ann}/requests/too-much-{RUN}")
        unknown = post(
            client, {"operation": "ACCRUE", "account_id": ann, "asset": "gold", "amount": 5}
        )
        assert (unknown.status_code, unknown.json()["code"]) == (422, "asset_unknown")


def test_retry_replays_the_original_outcome_and_other_content_conflicts(ledger: Ledger) -> None:
    ann = account()
    body = {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 7}
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        first = post(client, body, key=f"same-{RUN}")
        again = post(client, body, key=f"same-{RUN}")
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        in_body = client.post(TRANSACTIONS, json={**body, "request_id": f"same-{RUN}"})
        assert in_body.headers["Idempotent-Replayed"] == "true"

        conflict = post(client, {**body, "amount": 8}, key=f"same-{RUN}")
        assert conflict.status_code == 409
        assert conflict.json()["code"] == "idempotency_conflict"

        rejected = {"operation": "REDEEM", "account_id": ann, "asset": "points", "amount": 999}
        no = post(client, rejected, key=f"no-{RUN}")
        no_again = post(client, rejected, key=f"no-{RUN}")
        assert (no.status_code, no_again.status_code) == (422, 422)
        assert no_again.headers["Idempotent-Replayed"] == "true"

        balances = client.get(f"/v1/programs/acme/accounts/{ann}/balances")
        assert balances.status_code == 403  # write-only key; the balance is checked below
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as reader:
        points = reader.get(f"/v1/programs/acme/accounts/{ann}/balances").json()["balances"]
        assert {b["asset"]: b["available"] for b in points}["points"] == 7


def test_header_and_body_ids_must_agree_and_bodies_are_validated(ledger: Ledger) -> None:
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        body = {"operation": "ACCRUE", "account_id": account(), "asset": "points", "amount": 1}
        answer = client.post(
            TRANSACTIONS, json={**body, "request_id": "a"}, headers={"Idempotency-Key": "b"}
        )
        assert (answer.status_code, answer.json()["code"]) == (400, "validation_error")
        missing = client.post(
            TRANSACTIONS,
            json={"operation": "CAPTURE", "account_id": "x", "asset": "points", "amount": 1},
        )
        assert missing.status_code == 400
        assert [e["field"] for e in missing.json()["errors"]] == ["body.reference"]
        garbage = client.post(
            TRANSACTIONS, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert (garbage.status_code, garbage.json()["code"]) == (400, "validation_error")
        unknown_op = client.post(TRANSACTIONS, json={**body, "operation": "EXPIRE"})
        assert unknown_op.status_code == 400


def test_respond_async_answers_202_with_a_status_url_that_resolves(ledger: Ledger) -> None:
    ann = account()
    body = {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 3}
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        answer = client.post(
            TRANSACTIONS,
            json=body,
            headers={"Idempotency-Key": f"async-{RUN}", "Prefer": "respond-async"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "PENDING"
        location = answer.headers["Location"]
        deadline = time.monotonic() + 60
        while (status := client.get(location).json())["status"] == "PENDING":
            assert time.monotonic() < deadline, "still PENDING after 60 s"
            time.sleep(0.1)
        assert status["status"] == "APPLIED"


def test_batch_answers_each_item(ledger: Ledger) -> None:
    ann = account()
    items: list[dict[str, Any]] = [
        {
            "operation": "ACCRUE",
            "account_id": ann,
            "asset": "points",
            "amount": 10,
            "request_id": f"b-{i}-{RUN}",
        }
        for i in range(50)
    ]
    items.append(
        {
            "operation": "REDEEM",
            "account_id": account(),
            "asset": "points",
            "amount": 1,
            "request_id": f"b-poor-{RUN}",
        }
    )
    items.append(
        {
            "operation": "ADJUST",
            "account_id": ann,
            "asset": "points",
            "amount": 1,
            "reason": "r",
            "request_id": f"b-adjust-{RUN}",
        }
    )
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        answer = client.post(f"{TRANSACTIONS}:batch", json={"requests": items})
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [r["index"] for r in results] == list(range(52))
        assert {r["http_status"] for r in results[:50]} == {201}
        assert results[50]["problem"]["code"] == "insufficient_funds"
        assert (results[51]["http_status"], results[51]["problem"]["code"]) == (
            403,
            "scope_missing",
        )
        again = client.post(f"{TRANSACTIONS}:batch", json={"requests": items[:2]}).json()
        assert [r["replayed"] for r in again["results"]] == [True, True]
        too_many = client.post(f"{TRANSACTIONS}:batch", json={"requests": items * 20})
        assert too_many.status_code in (400, 413)
