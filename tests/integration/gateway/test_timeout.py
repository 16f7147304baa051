"""When the outcome does not come in time: 202 with a status URL, then the real outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.auth import Scope
from tests.infrastructure import Infrastructure
from tests.integration.gateway.conftest import (
    READY_TIMEOUT_S,
    Ledger,
    isolated_settings,
    start_ledger,
    stop_ledger,
    wait_ready,
)


@pytest.fixture
def gateway_alone(infrastructure: Infrastructure, tmp_path: Path) -> Iterator[Ledger]:
    """Only the gateway runs: nothing applies requests until the test starts the rest."""
    settings = isolated_settings(infrastructure)
    ledger = start_ledger(settings, tmp_path, ("gateway",), LEDGER_GATEWAY_OUTCOME_TIMEOUT_MS="300")
    try:
        wait_ready(ledger)
        yield ledger
    finally:
        stop_ledger(ledger)


def test_a_write_without_outcome_in_time_is_202_then_resolves(gateway_alone: Ledger) -> None:
    ledger = gateway_alone
    body = {"operation": "ACCRUE", "account_id": "ann", "asset": "points", "amount": 5}
    with ledger.client(ledger.key(Scope.TRANSACTIONS_WRITE, Scope.BALANCES_READ)) as client:
        started = time.monotonic()
        answer = client.post(
            "/v1/programs/acme/transactions", json=body, headers={"Idempotency-Key": "late"}
        )
        assert answer.status_code == 202, answer.text
        assert 0.3 <= time.monotonic() - started < 5
        status_url = answer.headers["Location"]
        assert status_url == "/v1/programs/acme/accounts/ann/requests/late"
        assert answer.json()["status"] == "PENDING"
        assert client.get(status_url).json()["status"] == "PENDING"

        ledger.start("core", "mirror")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while (status := client.get(status_url).json())["status"] == "PENDING":
            assert time.monotonic() < deadline, ledger.logs()
            time.sleep(0.2)
        assert (status["status"], status["balances"][0]["available"]) == ("APPLIED", 5)

        retry = client.post(
            "/v1/programs/acme/transactions", json=body, headers={"Idempotency-Key": "late"}
        )
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json()["sequence"] == 1
