"""Rate limits that mean what they say, a dashboard scoped to the key, and honest 405s."""

from __future__ import annotations

import uuid

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

BATCH = "/v1/programs/acme/transactions:batch"


def _item(account_id: str) -> dict[str, object]:
    return {
        "request_id": f"b-{uuid.uuid4().hex}",
        "operation": "ACCRUE",
        "account_id": account_id,
        "asset": "points",
        "amount": 1,
    }


def test_a_batch_larger_than_the_burst_is_refused_at_once(ledger: Ledger) -> None:
    token = ledger.key(Scope.TRANSACTIONS_WRITE, rate_per_s=1, rate_burst=5)
    ann = account()
    with ledger.client(token) as client:
        for _ in range(2):  # not 429 for ever: the same answer each time, no Retry-After
            too_big = client.post(BATCH, json={"requests": [_item(ann) for _ in range(7)]})
            assert too_big.status_code == 413, too_big.text
            assert too_big.json()["code"] == "batch_exceeds_burst"
            assert "Retry-After" not in too_big.headers
        # The refusal took no token: the whole burst is still there, one token per item.
        fits = client.post(BATCH, json={"requests": [_item(ann) for _ in range(5)]})
        assert fits.status_code == 200, fits.text
        assert [r["http_status"] for r in fits.json()["results"]] == [201] * 5


def test_a_one_item_batch_costs_one_token(ledger: Ledger) -> None:
    token = ledger.key(Scope.TRANSACTIONS_WRITE, rate_per_s=1, rate_burst=2)
    ann = account()
    with ledger.client(token) as client:
        answers = [client.post(BATCH, json={"requests": [_item(ann)]}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]


def test_the_dashboard_is_rate_limited_and_shows_only_the_keys_programs(
    ledger: Ledger,
) -> None:
    acme_admin = ledger.key(Scope.ADMIN)
    with ledger.client(acme_admin) as client:
        written = client.post(
            "/v1/programs/acme/transactions",
            json={"operation": "REDEEM", "account_id": account(), "asset": "points", "amount": 9},
        )
        assert written.status_code == 422  # insufficient_funds: counted as a rejection
        seen = client.get("/v1/dashboard").json()
    assert seen["activity"]["outcomes"] >= 1
    assert seen["activity"]["rejections_by_reason"].get("insufficient_funds", 0) >= 1
    beta_admin = ledger.key(Scope.ADMIN, programs=("beta",), rate_per_s=1, rate_burst=2)
    with ledger.client(beta_admin) as client:
        answers = [client.get("/v1/dashboard") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    other = answers[0].json()
    assert other["activity"]["outcomes"] == 0 and other["activity"]["rejections_by_reason"] == {}
    assert "acme" not in other["totals"]


def test_405_names_the_allowed_methods(ledger: Ledger) -> None:
    with ledger.client(ledger.key(Scope.ADMIN)) as client:
        answer = client.delete("/v1/programs/acme/transactions")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert answer.json()["code"] == "method_not_allowed"
