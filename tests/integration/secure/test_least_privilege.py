"""The whole ledger on the secure stack, each process as its own principal: the core, the
mirror and the gateway (over HTTPS) do their work with nothing but their grants, a partner
writes over Kafka with its own, an API key bound to a client certificate is refused without
it, and the auditor, reading as itself, finds the books right."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import redis
from confluent_kafka import Producer

from cli.devstack import Stack
from ledger.model import Operation, Request
from processors.readside.audit import audit
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from settings import Settings
from tests.integration.secure.conftest import as_principal, deploy
from tests.support.ports import free_port
from tests.support.processes import LedgerProcess, settings_env
from tests.support.stacks import ROOT

READY_TIMEOUT_S = 90.0


def _env(stack: Stack, settings: Settings, principal: str, **extra: str) -> dict[str, str]:
    return settings_env(as_principal(stack, settings, principal), **extra)


@pytest.fixture
def ledger(secure_stack: Stack, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    settings = replace(deploy(secure_stack, "lp"), gateway_port=free_port(), batch_time_max_ms=5)
    processes = [
        LedgerProcess(
            ["core", "--instance-id", "lp-core", "--status-interval", "0"],
            _env(secure_stack, settings, "core"),
            tmp_path / "core.log",
        ),
        LedgerProcess(
            ["mirror", "--instance-id", "lp-mirror"],
            _env(secure_stack, settings, "mirror"),
            tmp_path / "mirror.log",
        ),
        LedgerProcess(
            ["gateway"],
            _env(
                secure_stack,
                settings,
                "gateway",
                LEDGER_GATEWAY_OUTCOME_TIMEOUT_MS="30000",
                **secure_stack.gateway_tls_environment(),
            ),
            tmp_path / "gateway.log",
        ),
    ]
    for process in processes:
        process.start()
    try:
        yield settings, f"https://localhost:{settings.gateway_port}"
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            print(f"== {process.args[0]}\n{process.log()[-3000:]}")


def _create_key(stack: Stack, settings: Settings, *extra: str) -> str:
    """`ledger keys create` run by the operator principal, as a person would."""
    created = subprocess.run(
        [
            *(sys.executable, "-m", "cli.main", "keys", "create", "--program", "acme"),
            *("--scopes", "transactions:write,balances:read", *extra),
        ],
        env=_env(stack, settings, "operator"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def _client(stack: Stack, url: str, token: str, cert: str | None = None) -> httpx.Client:
    """An HTTPS client trusting the local CA, presenting the named principal's certificate."""
    context = ssl.create_default_context(cafile=str(stack.authority.ca_certificate))
    if cert:
        issued = stack.client_certificate(cert)
        context.load_cert_chain(str(issued.certificate), str(issued.key))
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, verify=context, timeout=30.0
    )


def _wait_applied(client: httpx.Client, body: dict[str, object], key: str) -> httpx.Response:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last: object = None
    while True:
        try:
            answer = client.post(
                "/v1/programs/acme/transactions", json=body, headers={"Idempotency-Key": key}
            )
            if answer.status_code == 201:
                return answer
            last = (answer.status_code, answer.text)
        except httpx.TransportError as error:
            last = error
        assert time.monotonic() < deadline, f"the secure ledger never applied a write: {last}"
        time.sleep(0.5)


def _available(client: httpx.Client, account: str, asset: str) -> int | None:
    answer = client.get(f"/v1/programs/acme/accounts/{account}/balances")
    if answer.status_code != 200:
        return None
    found = [b["available"] for b in answer.json()["balances"] if b["asset"] == asset]
    return int(found[0]) if found else None


def test_every_process_works_with_its_own_grants_only(
    secure_stack: Stack, ledger: tuple[Settings, str]
) -> None:
    settings, url = ledger
    token = _create_key(secure_stack, settings)
    with _client(secure_stack, url, token) as client:
        answer = _wait_applied(
            client,
            {"operation": "ACCRUE", "account_id": "ann", "asset": "points", "amount": 120},
            "lp-ann-1",
        )
        assert answer.json()["status"] == "APPLIED"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"

        # A partner's request over Kafka, with the partner's own credentials.
        contracts = WireContracts.for_registry(None)
        partner = as_principal(secure_stack, settings, "partner-acme")
        request = Request(
            "lp-bob-1",
            "acme",
            "bob",
            Operation.ACCRUE,
            "points",
            75,
            requested_at_ms=time.time_ns() // 1_000_000,
            principal="partner-acme",
        )
        producer = Producer(partner.kafka_config())
        topic = settings.topics.requests
        producer.produce(
            topic, contracts.encode_request(request, topic), account_key("acme", "bob")
        )
        assert producer.flush(30) == 0
        deadline = time.monotonic() + READY_TIMEOUT_S
        while _available(client, "bob", "points") != 75:
            assert time.monotonic() < deadline, "the partner's request never reached the model"
            time.sleep(0.3)

    # The auditor, as itself, finds the books right.
    auditor = as_principal(secure_stack, settings, "auditor")
    auditor_redis = redis.Redis.from_url(auditor.redis_url)
    try:
        report = audit(auditor, auditor_redis, contracts, sample=0, wait_behind_s=30)
    finally:
        auditor_redis.close()
    assert report.ok, report.problems
    assert report.events >= 2


def test_a_key_bound_to_a_client_certificate_needs_that_certificate(
    secure_stack: Stack, ledger: tuple[Settings, str]
) -> None:
    settings, url = ledger
    acme_cert = secure_stack.client_certificate("partner-acme")
    bound = _create_key(secure_stack, settings, "--client-cert", str(acme_cert.certificate))
    body = {"operation": "ACCRUE", "account_id": "cy", "asset": "points", "amount": 5}
    with _client(secure_stack, url, bound, cert="partner-acme") as client:
        assert _wait_applied(client, body, "lp-cy-1").json()["status"] == "APPLIED"
    for other in (None, "partner-globex"):
        with _client(secure_stack, url, bound, cert=other) as client:
            refused = client.get("/v1/programs/acme/accounts/cy/balances")
            assert refused.status_code == 401, refused.text
            assert refused.json()["code"] == "client_certificate_required"
