"""An account's outcomes as Server-Sent Events, read with a real SSE client (httpx-sse) while
writes flow through the gateway, core and mirror: every outcome once, in order, with ids that
follow the account sequence; a reconnect with Last-Event-ID gets exactly what it missed."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

import httpx
from httpx_sse import connect_sse

from gateway.auth import Scope
from tests.integration.gateway.conftest import Ledger, account

ACME = "/v1/programs/acme"
WAIT_S = 60.0

Received = queue.Queue[tuple[str, str, dict[str, Any]]]  # (event, id, data)


def _listen(ledger: Ledger, token: str, path: str, last_id: str | None, into: Received) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    with (
        httpx.Client(base_url=ledger.url, timeout=httpx.Timeout(10, read=WAIT_S)) as client,
        connect_sse(client, "GET", path, headers=headers) as source,
    ):
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        try:
            for event in source.iter_sse():
                if event.data:  # the `retry:` field alone makes an event without data
                    into.put((event.event, event.id, json.loads(event.data)))
        except httpx.HTTPError:
            return  # the gateway stopped after the test: this reader is done


def _open(ledger: Ledger, token: str, path: str, last_id: str | None) -> Received:
    received: Received = queue.Queue()
    threading.Thread(
        target=_listen, args=(ledger, token, path, last_id, received), daemon=True
    ).start()
    event, _, _ = received.get(timeout=WAIT_S)
    assert event == "ready"  # subscribed: writes from now on cannot be missed
    return received


def _take(received: Received, count: int) -> list[tuple[str, dict[str, Any]]]:
    taken = []
    for _ in range(count):
        event, event_id, data = received.get(timeout=WAIT_S)
        assert event == "outcome", (event, data)
        taken.append((event_id, data))
    return taken


def _write(ledger: Ledger, token: str, ann: str, operation: str, amount: int) -> int:
    body = {"operation": operation, "account_id": ann, "asset": "points", "amount": amount}
    with ledger.client(token) as client:
        answer = client.post(
            f"{ACME}/transactions", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
    assert answer.status_code in (201, 422), answer.text
    return answer.status_code


def test_a_stream_sees_every_outcome_and_a_reconnect_misses_nothing(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ, Scope.TRANSACTIONS_WRITE)
    ann = account()
    path = f"{ACME}/accounts/{ann}/events"
    expected: list[tuple[str, str]] = []  # (id, status), from what the gateway answered

    def send(operation: str, amount: int) -> None:
        status = "APPLIED" if _write(ledger, token, ann, operation, amount) == 201 else "REJECTED"
        applied = sum(1 for _, s in expected if s == "APPLIED") + (status == "APPLIED")
        same = [i for i, _ in expected if i.split(".")[0] == str(applied)]
        expected.append((f"{applied}.{len(same)}", status))

    first = _open(ledger, token, path, None)
    for operation, amount in [("ACCRUE", 100), ("ACCRUE", 50), ("REDEEM", 1_000), ("ACCRUE", 5)]:
        send(operation, amount)
    seen = _take(first, 4)
    assert [(i, d["status"]) for i, d in seen] == expected
    assert [d["amount"] for _, d in seen] == [100, 50, 1_000, 5]
    assert {d["account_id"] for _, d in seen} == {ann}
    assert seen[2][1]["reason"] == "insufficient_funds"

    # Away: three outcomes happen while no stream is open.
    last_seen = seen[-1][0]
    for operation, amount in [("ACCRUE", 7), ("REDEEM", 9_999), ("REDEEM", 20)]:
        send(operation, amount)
    again = _open(ledger, token, path, last_seen)
    for operation, amount in [("ACCRUE", 1), ("REDEEM", 5_000)]:
        send(operation, amount)  # and two more while it streams
    resumed = _take(again, 5)
    assert [(i, d["status"]) for i, d in resumed] == expected[4:]
    # Nothing twice: the stream is ordered, so a repeat would come before the next new event.
    send("ACCRUE", 2)
    assert [(i, d["status"]) for i, d in _take(again, 1)] == expected[-1:]
    with ledger.client(token) as client:
        balances = client.get(f"{ACME}/accounts/{ann}/balances").json()
    points = next(b for b in balances["balances"] if b["asset"] == "points")
    assert points["available"] == 100 + 50 + 5 + 7 - 20 + 1 + 2
    assert int(expected[-1][0].split(".")[0]) == balances["sequence"]


def test_a_malformed_last_event_id_is_a_typed_error(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ)
    with ledger.client(token) as client:
        answer = client.get(
            f"{ACME}/accounts/{account()}/events", headers={"Last-Event-ID": "yesterday"}
        )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "validation_error"


def test_a_revoked_keys_stream_ends_and_its_reconnect_is_refused(ledger: Ledger) -> None:
    token = ledger.key(Scope.BALANCES_READ)
    path = f"{ACME}/accounts/{account()}/events"
    received = _open(ledger, token, path, None)
    assert ledger.keys.revoke(token.split("_")[1])
    event, _, _ = received.get(timeout=WAIT_S)  # within seconds, not at the next reconnect
    assert event == "revoked"
    with ledger.client(token) as client:
        assert client.get(path).status_code == 401
