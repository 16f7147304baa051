"""Ids with `:` cannot reach another account's data: Redis keys encode every part."""

from __future__ import annotations

import time
import uuid

import redis
from confluent_kafka import Producer

from gateway.auth import Scope
from ledger.model import Operation, Request
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from tests.integration.gateway.conftest import Ledger

WAIT_S = 20.0


def test_a_colon_in_an_account_id_does_not_alias_another_accounts_request(
    ledger: Ledger,
) -> None:
    run = uuid.uuid4().hex[:6]
    hidden = Request(
        request_id="secret",
        program="acme",
        account_id=f"col{run}:x",  # Kafka accepts it; the gateway's own writes do not
        operation=Operation.ACCRUE,
        asset="points",
        amount=77,
        requested_at_ms=time.time_ns() // 1_000_000,
        principal="partner",
    )
    settings = ledger.settings
    topic = settings.topics.requests
    producer = Producer(settings.kafka_config({"partitioner": "murmur2_random"}))
    producer.produce(
        topic,
        WireContracts.for_registry(None).encode_request(hidden, topic),
        account_key(hidden.program, hidden.account_id),
    )
    assert producer.flush(30) == 0
    # The gateway refuses `:` in account ids, so the account's own status is read directly.
    model = SyncReadModel(redis.Redis.from_url(settings.redis_url), settings.redis_key_prefix)
    deadline = time.monotonic() + WAIT_S
    while (status := model.request_status("acme", hidden.account_id, "secret")) is None:
        assert time.monotonic() < deadline, "the outcome never reached Redis"
        time.sleep(0.1)
    assert status.account_id == hidden.account_id
    with ledger.client(ledger.key(Scope.BALANCES_READ)) as reader:
        # The same bytes read as another account and request id: nothing there.
        alias = reader.get(f"/v1/programs/acme/accounts/col{run}/requests/x:secret")
        assert alias.status_code == 404, alias.text
        balances = reader.get(f"/v1/programs/acme/accounts/col{run}/balances").json()
        assert {b["available"] for b in balances["balances"]} == {0}
