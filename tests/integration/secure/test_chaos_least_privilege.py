"""Exactly once with least privilege: the chaos workload (shortened) on the secure stack, the
core running as its own principal while it is SIGKILLed and a second member joins and leaves,
partners' requests written by a partner principal and operators' by the operator. The journal
must still hold exactly one outcome per request, as the independent model predicts."""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

from bench.kit.hostile import WorkItem, generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from cli.devstack import Stack
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.secure.conftest import as_principal, deploy
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

SEED = 1313
REQUESTS = 8_000  # shortened: the full chaos test runs 20 000 on the plaintext stack
PARTNER_RATE_PER_S = 400.0
OPERATOR_RATE_PER_S = 50.0
KILLS = 3


def _core(stack: Stack, settings: Settings, instance: str, tmp_path: Path) -> LedgerProcess:
    return LedgerProcess(
        ["core", "--instance-id", instance, "--status-interval", "2"],
        settings_env(as_principal(stack, settings, "core")),
        tmp_path / f"{instance}.log",
    )


def _produce(settings: Settings, items: list[WorkItem], rate_per_s: float) -> threading.Thread:
    thread = threading.Thread(target=produce, args=(settings, items, rate_per_s), daemon=True)
    thread.start()
    return thread


def test_kills_and_rebalances_lose_and_duplicate_nothing_with_least_privilege(
    secure_stack: Stack, tmp_path: Path
) -> None:
    settings = replace(
        deploy(secure_stack, "chaos"),
        transaction_timeout_ms=5_000,
        session_timeout_ms=6_000,
        batch_records_max=500,
    )
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED,
        contracts,
        settings.topics,
        settings.partitions,
        time.time_ns() // 10**6,
        requests=REQUESTS,
    )
    operator_topic = settings.topics.operator_requests
    by_operator = [item for item in workload.items if item.topic == operator_topic]
    by_partner = [item for item in workload.items if item.topic != operator_topic]
    assert by_operator and by_partner
    rng = random.Random(SEED)
    first = _core(secure_stack, settings, "chaos-1", tmp_path)
    second = _core(secure_stack, settings, "chaos-2", tmp_path)
    first.start()
    producers = [
        _produce(
            as_principal(secure_stack, settings, "partner-acme"), by_partner, PARTNER_RATE_PER_S
        ),
        _produce(
            as_principal(secure_stack, settings, "operator"), by_operator, OPERATOR_RATE_PER_S
        ),
    ]
    try:
        for kill in range(KILLS):
            time.sleep(rng.uniform(1.5, 3.0))
            victim = second if second.alive() and rng.random() < 0.5 else first
            victim.signal(signal.SIGKILL)
            time.sleep(rng.uniform(0.0, 1.0))
            victim.start()
            if kill == 0:
                second.start()  # a second member: the partitions rebalance mid-stream
        second.stop()
        for producer in producers:
            producer.join(180)
            assert not producer.is_alive()
        verifier = as_principal(secure_stack, settings, "admin")
        messages = read_topic(verifier, settings.topics.events, workload.expected_events, 240)
        events = [contracts.decode_event(m.value() or b"") for m in messages]
        assert journal_problems(events, workload) == []
    finally:
        for core in (first, second):
            core.stop()
    assert first.kills.count("SIGKILL") + second.kills.count("SIGKILL") == KILLS
    refusals = first.log() + second.log()
    assert "AUTHORIZATION_FAILED" not in refusals, "the core needed more than its grants"
