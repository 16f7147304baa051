"""A whole ledger for the gateway's tests: core, mirror and gateway as real child processes on
the real Kafka and Redis, under a topic and key prefix of their own (one stack for the package)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import redis
from confluent_kafka.admin import AdminClient

from gateway.auth import KeyAdmin, Scope
from processors.topics import delete_topics, ensure_topics, ledger_topics
from settings import Settings
from tests.infrastructure import Infrastructure
from tests.support.ports import free_port
from tests.support.processes import LedgerProcess, settings_env

READY_TIMEOUT_S = 90.0
ALL_SCOPES = tuple(Scope)


def isolated_settings(infrastructure: Infrastructure) -> Settings:
    unique = uuid.uuid4().hex[:10]
    return replace(
        Settings.from_env(os.environ),
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        redis_url=infrastructure.redis_url,
        topic_prefix=f"g{unique}.",
        redis_key_prefix=f"g{unique}:",
        core_group_id=f"g{unique}.core",
        partitions=3,
        batch_time_max_ms=5,
    )


@dataclass
class Ledger:
    """A running ledger and a way to mint API keys for it."""

    settings: Settings
    url: str
    processes: dict[str, LedgerProcess]
    keys: KeyAdmin
    metrics_url: str

    def key(
        self,
        *scopes: Scope,
        programs: tuple[str, ...] = ("acme",),
        rate_per_s: int | None = None,
        rate_burst: int | None = None,
    ) -> str:
        _, token = self.keys.create(programs, scopes or ALL_SCOPES, "test", rate_per_s, rate_burst)
        return token

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def start(self, *names: str) -> None:
        for name in names:
            self.processes[name].start()

    def logs(self) -> str:
        return "\n".join(f"== {n}\n{p.log()[-4000:]}" for n, p in self.processes.items())


def start_ledger(settings: Settings, log_dir: Path, names: tuple[str, ...], **env: str) -> Ledger:
    ensure_topics(AdminClient(settings.kafka_config()), ledger_topics(settings))
    port = free_port()
    metrics_port = free_port()
    # Writes wait up to 30 s for their outcome (5 s by default): a busy CI machine must not
    # turn a 201 into a 202. Tests of the timeout path set their own.
    environment = settings_env(
        settings,
        LEDGER_GATEWAY_PORT=str(port),
        LEDGER_GATEWAY_METRICS_PORT=str(metrics_port),
        **{"LEDGER_GATEWAY_OUTCOME_TIMEOUT_MS": "30000", **env},
    )
    argv = {
        "core": ["core", "--status-interval", "0"],
        "mirror": ["mirror"],
        "auditor": ["auditor"],
        "gateway": ["gateway"],
        "notify": ["notify", "run"],
        "relay": ["relay"],
    }
    processes = {
        name: LedgerProcess(args, environment, log_dir / f"{name}.log")
        for name, args in argv.items()
    }
    keys = KeyAdmin(redis.Redis.from_url(settings.redis_url), settings.redis_key_prefix)
    ledger = Ledger(
        settings, f"http://127.0.0.1:{port}", processes, keys, f"http://127.0.0.1:{metrics_port}"
    )
    ledger.start(*names)
    return ledger


def wait_ready(ledger: Ledger) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with ledger.client() as client:
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, ledger.logs()
            time.sleep(0.2)


def warm_up(ledger: Ledger) -> None:
    """Until a write comes back applied, the core and the mirror are not both ready."""
    token = ledger.key(Scope.TRANSACTIONS_WRITE)
    deadline = time.monotonic() + READY_TIMEOUT_S
    body = {"operation": "ACCRUE", "account_id": "warm-up", "asset": "points", "amount": 1}
    with ledger.client(token) as client:
        while True:
            answer = client.post(
                "/v1/programs/acme/transactions", json=body, headers={"Idempotency-Key": "warm-up"}
            )
            if answer.status_code == 201:
                return
            assert time.monotonic() < deadline, f"{answer.text}\n{ledger.logs()}"


STOP_TIMEOUT_S = 20.0


def stop_ledger(ledger: Ledger) -> None:
    """Gateway first (no new writes), then the processors. A process that does not stop in
    time is killed (LedgerProcess.stop) and the others are still stopped: the read side's
    Faust worker sometimes waits for acks at shutdown, which is not what these tests check."""
    for name in ("gateway", "notify", "relay", "core", "mirror", "auditor"):
        if not ledger.processes[name].alive():
            continue
        try:
            ledger.processes[name].stop(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within {STOP_TIMEOUT_S} s and was killed", file=sys.stderr)
    settings = ledger.settings
    admin = AdminClient(settings.kafka_config())
    delete_topics(
        admin,
        [t for t in admin.list_topics(timeout=30).topics if t.startswith(settings.topic_prefix)],
    )
    client = ledger.keys.redis
    leftovers = list(client.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
    if leftovers:
        client.delete(*leftovers)
    client.close()


@pytest.fixture(scope="package")
def ledger(
    infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    settings = isolated_settings(infrastructure)
    running = start_ledger(
        settings, tmp_path_factory.mktemp("ledger"), ("core", "mirror", "gateway")
    )
    try:
        wait_ready(running)
        warm_up(running)
        yield running
    finally:
        stop_ledger(running)


def account() -> str:
    """An account no other test uses."""
    return f"acct-{uuid.uuid4().hex[:12]}"
