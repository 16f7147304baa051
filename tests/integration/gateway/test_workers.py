"""`ledger gateway --workers 2`: each worker hears its own outcomes on its reply channel (so
every write still comes back 201), and /metrics on the one metrics port counts every
worker's requests, not the first worker's only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.auth import Scope
from tests.infrastructure import Infrastructure
from tests.integration.gateway.conftest import (
    Ledger,
    isolated_settings,
    start_ledger,
    stop_ledger,
    wait_ready,
    warm_up,
)

HEALTH_CALLS = 200
WRITES = 40


@pytest.fixture
def two_workers(infrastructure: Infrastructure, tmp_path: Path) -> Iterator[Ledger]:
    settings = isolated_settings(infrastructure)
    running = start_ledger(
        settings, tmp_path, ("core", "mirror", "gateway"), LEDGER_GATEWAY_WORKERS="2"
    )
    try:
        wait_ready(running)
        warm_up(running)
        yield running
    finally:
        stop_ledger(running)


def _counted(exposition: str, route: str) -> float:
    pattern = (
        rf'ledger_gateway_http_requests_total\{{[^}}]*route="{re.escape(route)}"[^}}]*\}} (\S+)'
    )
    return sum(float(value) for value in re.findall(pattern, exposition))


def test_every_worker_gets_its_outcomes_and_is_counted(two_workers: Ledger) -> None:
    token = two_workers.key(Scope.TRANSACTIONS_WRITE)
    for n in range(WRITES):
        # A new connection each time: the kernel spreads them over both workers.
        with two_workers.client(token) as client:
            answer = client.post(
                "/v1/programs/acme/transactions",
                json={"operation": "ACCRUE", "account_id": f"w{n}", "asset": "points", "amount": 1},
                headers={"Idempotency-Key": f"workers-{n}"},
            )
        assert answer.status_code == 201, answer.text
    for _ in range(HEALTH_CALLS):
        with httpx.Client(base_url=two_workers.url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
    exposition = httpx.get(f"{two_workers.metrics_url}/metrics", timeout=10).text
    assert _counted(exposition, "/healthz") == HEALTH_CALLS
    assert _counted(exposition, "/v1/programs/{program}/transactions") >= WRITES
