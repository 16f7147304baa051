"""The auth matrix: every scope against every endpoint, other programs, bad and revoked keys."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

W, A, R, ADMIN = (
    Scope.TRANSACTIONS_WRITE,
    Scope.ADJUSTMENTS_WRITE,
    Scope.BALANCES_READ,
    Scope.ADMIN,
)


def _accrue() -> dict[str, Any]:
    return {"operation": "ACCRUE", "account_id": account(), "asset": "points", "amount": 1}


def _adjust() -> dict[str, Any]:
    return {
        "operation": "ADJUST",
        "account_id": account(),
        "asset": "points",
        "amount": 1,
        "reason": "test",
    }


ENDPOINTS: dict[str, tuple[frozenset[Scope], Any]] = {
    "write": (
        frozenset({W, ADMIN}),
        lambda c, p: c.post(f"/v1/programs/{p}/transactions", json=_accrue()),
    ),
    "adjust": (
        frozenset({A, ADMIN}),
        lambda c, p: c.post(f"/v1/programs/{p}/transactions", json=_adjust()),
    ),
    "batch": (
        frozenset({W, ADMIN}),
        lambda c, p: c.post(f"/v1/programs/{p}/transactions:batch", json={"requests": [_accrue()]}),
    ),
    "balances": (
        frozenset({R, ADMIN}),
        lambda c, p: c.get(f"/v1/programs/{p}/accounts/warm-up/balances"),
    ),
    "history": (
        frozenset({R, ADMIN}),
        lambda c, p: c.get(f"/v1/programs/{p}/accounts/warm-up/history"),
    ),
    "status": (
        frozenset({R, W, A, ADMIN}),
        lambda c, p: c.get(f"/v1/programs/{p}/accounts/warm-up/requests/warm-up"),
    ),
    "totals": (frozenset({ADMIN}), lambda c, p: c.get(f"/v1/programs/{p}/totals")),
}


@pytest.mark.parametrize("scope", list(Scope), ids=str)
def test_each_scope_opens_exactly_its_endpoints(ledger: Ledger, scope: Scope) -> None:
    with ledger.client(ledger.key(scope)) as client:
        for name, (allowed, call) in ENDPOINTS.items():
            answer: httpx.Response = call(client, "acme")
            status, body = answer.status_code, answer.json()
            if name == "batch" and status == 200:  # a batch answers scopes per item
                item = body["results"][0]
                status, body = item["http_status"], item["problem"]
            if scope in allowed:
                assert status in (200, 201), (name, answer.text)
            else:
                assert status == 403, (name, answer.text)
                assert body["code"] == "scope_missing"


def test_another_programs_data_is_not_found_not_forbidden(ledger: Ledger) -> None:
    with ledger.client(ledger.key(*Scope, programs=("beta",))) as client:
        for name, (_, call) in ENDPOINTS.items():
            theirs: httpx.Response = call(client, "acme")
            nowhere: httpx.Response = call(client, "nowhere")
            assert (theirs.status_code, nowhere.status_code) == (404, 404), name
            assert theirs.json()["code"] == nowhere.json()["code"] == "program_unknown"
            assert theirs.json()["title"] == nowhere.json()["title"]


def test_missing_malformed_unknown_and_revoked_keys_are_401(ledger: Ledger) -> None:
    token = ledger.key(R)
    key_id = token.split("_")[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert ledger.keys.revoke(key_id)
    url = "/v1/programs/acme/accounts/warm-up/balances"
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {token}"},
    ):
        with ledger.client() as client:
            answer = client.get(url, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["code"] == "unauthenticated"
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_keys_are_stored_hashed_and_listed_without_secrets(ledger: Ledger) -> None:
    token = ledger.key(R, programs=("acme", "beta"))
    key_id, secret = token.split("_", 2)[1:]
    stored = ledger.keys.redis.hgetall(f"{ledger.settings.redis_key_prefix}gw:apikey:{key_id}")
    assert all(secret not in str(value) for value in stored.values())
    listed = {k.key_id: k for k in ledger.keys.list()}
    assert listed[key_id].programs == {"acme", "beta"}
    assert listed[key_id].scopes == {R}


def test_the_principal_of_a_write_is_the_key(ledger: Ledger) -> None:
    from bench.kit.kafka_io import read_topic
    from schemas.contracts import WireContracts

    token = ledger.key(W)
    ann = account()
    with ledger.client(token) as client:
        body = {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 2}
        assert client.post("/v1/programs/acme/transactions", json=body).status_code == 201
    contracts = WireContracts.for_registry(None)
    events = [
        contracts.decode_event(m.value() or b"")
        for m in read_topic(ledger.settings, ledger.settings.topics.events, 1)
    ]
    mine = [e for e in events if e.account_id == ann]
    assert [e.request.principal for e in mine] == [f"apikey:{token.split('_')[1]}"]


def test_the_callers_trace_id_travels_onto_the_journal(ledger: Ledger) -> None:
    from bench.kit.kafka_io import read_topic
    from schemas.contracts import TRACE_HEADER, WireContracts

    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    token = ledger.key(W)
    bob = account()
    with ledger.client(token) as client:
        body = {"operation": "ACCRUE", "account_id": bob, "asset": "points", "amount": 3}
        answer = client.post(
            "/v1/programs/acme/transactions",
            json=body,
            headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
        )
    assert answer.status_code == 201
    assert answer.headers["ledger-trace-id"] == trace
    contracts = WireContracts.for_registry(None)
    records = read_topic(ledger.settings, ledger.settings.topics.events, 1)
    mine = [m for m in records if contracts.decode_event(m.value() or b"").account_id == bob]
    assert [dict(m.headers() or [])[TRACE_HEADER] for m in mine] == [trace.encode()]
