"""One idempotency rule on both paths, HTTP and Kafka, on the real stack: every outcome is
final, applied or rejected; a retry is a retry whatever its metadata; one code for a conflict;
and a body that names a key twice means nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from confluent_kafka import Producer

from gateway.auth import Scope
from ledger.model import Operation, Request
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from tests.integration.gateway.conftest import Ledger, account

TRANSACTIONS = "/v1/programs/acme/transactions"
RUN = uuid.uuid4().hex[:8]
WAIT_S = 20.0


def _post(client: httpx.Client, body: dict[str, Any], key: str) -> httpx.Response:
    return client.post(TRANSACTIONS, json=body, headers={"Idempotency-Key": key})


def _produce(ledger: Ledger, request: Request) -> None:
    """What a partner does: the Avro request straight onto the public requests topic."""
    settings = ledger.settings
    topic = settings.topics.requests
    producer = Producer(settings.kafka_config({"partitioner": "murmur2_random"}))
    value = WireContracts.for_registry(None).encode_request(request, topic)
    producer.produce(topic, value, account_key(request.program, request.account_id))
    assert producer.flush(30) == 0


def _request(
    account_id: str, request_id: str, operation: Operation, amount: int, **extra: Any
) -> Request:
    return Request(
        request_id=request_id,
        program="acme",
        account_id=account_id,
        operation=operation,
        asset="points",
        amount=amount,
        requested_at_ms=time.time_ns() // 1_000_000,
        principal="partner-test",
        **extra,
    )


def _history(ledger: Ledger, account_id: str, entries: int) -> list[dict[str, Any]]:
    """The account's newest `entries` journal outcomes, once the mirror shows that many."""
    deadline = time.monotonic() + WAIT_S
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as reader:
        while True:
            got = reader.get(f"/v1/programs/acme/accounts/{account_id}/history").json()["entries"]
            if len(got) >= entries or time.monotonic() > deadline:
                return list(got)
            time.sleep(0.1)


def test_a_retry_differing_only_in_metadata_is_the_same_request_on_both_paths(
    ledger: Ledger,
) -> None:
    ann = account()
    request_id = f"meta-{RUN}"
    body = {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 7}
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        first = _post(client, {**body, "metadata": {"order": "1"}}, request_id)
        retried = _post(client, {**body, "metadata": {"order": "1", "trace": "t2"}}, request_id)
    assert first.status_code == 201, first.text
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["sequence"] == first.json()["sequence"]
    # The same request with yet other metadata, straight onto Kafka: the core agrees.
    _produce(
        ledger,
        _request(ann, request_id, Operation.ACCRUE, 7, metadata={"order": "1", "via": "kafka"}),
    )
    newest = _history(ledger, ann, 2)[0]
    assert (newest["request_id"], newest["status"]) == (request_id, "DUPLICATE")


def test_a_declined_request_stays_declined_whichever_path_retries_it(ledger: Ledger) -> None:
    """The shop told the customer "declined": an at-least-once upstream resending it after
    the balance has grown must not take the points."""
    ann = account()
    declined = f"declined-{RUN}"
    _produce(ledger, _request(ann, declined, Operation.REDEEM, 500))
    (first,) = _history(ledger, ann, 1)
    assert (first["status"], first["reason"]) == ("REJECTED", "insufficient_funds")
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        funded = _post(
            client,
            {"operation": "ACCRUE", "account_id": ann, "asset": "points", "amount": 2_000},
            f"fund-{RUN}",
        )
        assert funded.status_code == 201, funded.text
        # Over Kafka, the very same bytes again: DUPLICATE of the rejection.
        _produce(ledger, _request(ann, declined, Operation.REDEEM, 500))
        newest = _history(ledger, ann, 3)[0]
        assert (newest["status"], newest["reason"]) == ("DUPLICATE", "insufficient_funds")
        # Over HTTP (a key the gateway never saw): the original 422, replayed.
        redeem = {"operation": "REDEEM", "account_id": ann, "asset": "points", "amount": 500}
        again = _post(client, redeem, declined)
        assert again.status_code == 422, again.text
        assert again.json()["code"] == "insufficient_funds"
        assert again.headers["Idempotent-Replayed"] == "true"
        # Other content under that id: one code for one fact, on both paths.
        conflict = _post(client, {**redeem, "amount": 501}, declined)
        assert (conflict.status_code, conflict.json()["code"]) == (409, "idempotency_conflict")
    _produce(ledger, _request(ann, declined, Operation.REDEEM, 501))
    newest = _history(ledger, ann, 5)[0]
    assert (newest["status"], newest["reason"]) == ("REJECTED", "idempotency_conflict")
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as reader:
        balances = reader.get(f"/v1/programs/acme/accounts/{ann}/balances").json()["balances"]
    assert {b["asset"]: b["available"] for b in balances}["points"] == 2_000


def test_a_body_naming_a_key_twice_is_refused_and_nothing_is_produced(ledger: Ledger) -> None:
    ann, victim = account(), account()
    # json.dumps cannot write a duplicate key: the body is written by hand, as an attacker would.
    ambiguous = (
        f'{{"operation": "ACCRUE", "account_id": "{ann}", "account_id": "{victim}", '
        '"asset": "points", "amount": 50}'
    )
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE)) as client:
        answer = client.post(
            TRANSACTIONS,
            content=ambiguous,
            headers={"Content-Type": "application/json", "Idempotency-Key": f"twice-{RUN}"},
        )
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"] == [
            {
                "field": "body",
                "message": "JSON decode error: duplicate key 'account_id'",
                "type": "json_invalid",
            }
        ]
        nested = client.post(
            f"{TRANSACTIONS}:batch",
            content=f'{{"requests": [{{"operation": "ACCRUE", "account_id": "{ann}", '
            '"asset": "points", "amount": 1, "amount": 1000}]}',
            headers={"Content-Type": "application/json"},
        )
        assert nested.status_code == 400, nested.text
        fine = _post(
            client,
            {"operation": "ACCRUE", "account_id": victim, "asset": "points", "amount": 1},
            f"after-{RUN}",
        )
        assert fine.status_code == 201, fine.text
    # The refused body reached nobody: the victim's first event is the one after it.
    assert fine.json()["sequence"] == 1
