"""The core applies a 20 000-request workload exactly once, as the independent model predicts."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from dataclasses import replace
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.kit.hostile import generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from schemas.contracts import WireContracts
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.ports import free_port
from tests.support.processes import LedgerProcess, settings_env

SEED = 20261125


def test_every_request_has_exactly_one_outcome_matching_the_model(
    topics: Settings, tmp_path: Path
) -> None:
    settings = replace(topics, core_group_id=f"{topics.topic_prefix}core")
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED, contracts, settings.topics, settings.partitions, time.time_ns() // 10**6
    )
    assert len(workload.items) >= 20_000 and workload.garbage > 0

    metrics_port = free_port()
    core = LedgerProcess(
        [
            "core",
            "--instance-id",
            "e2e-1",
            "--status-interval",
            "2",
            "--metrics-port",
            str(metrics_port),
        ],
        settings_env(settings),
        tmp_path / "core.log",
    )
    core.start()
    try:
        produce(settings, workload.items)
        messages = read_topic(settings, settings.topics.events, workload.expected_events)
        dead = read_topic(settings, settings.topics.requests_dlq, workload.garbage, timeout_s=30)
        exposition = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read()
    finally:
        assert core.stop() == 0, core.log()[-3000:]

    events = [contracts.decode_event(m.value() or b"") for m in messages]
    assert journal_problems(events, workload) == []
    assert len(dead) == workload.garbage
    assert {dict(m.headers() or [])["ledger.dlq.reason"] for m in dead} <= {
        b"undecodable",
        b"empty_value",
    }
    assert "Traceback" not in core.log()

    # The core's own metrics agree with its journal.
    counted = Counter(
        (e.request.operation.value, e.status.value, e.reason.value if e.reason else "")
        for e in events
    )
    exported = {
        (s.labels["operation"], s.labels["status"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(exposition.decode())
        if family.name == "ledger_core_requests"
        for s in family.samples
        if s.name == "ledger_core_requests_total"
    }
    assert exported == counted
    assert f"ledger_core_dead_letters_total {float(workload.garbage)}" in exposition.decode()
