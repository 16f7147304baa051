"""A replicated cluster, as users run it: three KRaft brokers (`ledger services up --brokers
3`), topics with replication factor 3 and min.insync.replicas 2. The chaos workload runs
through the core and the mirror while the broker leading the journal's partition 0 is
SIGKILLed mid-run and started again later: nothing lost, nothing duplicated, the core and the
mirror carry on, and the audit finds the books right."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient

from bench.kit.hostile import generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from cli.devstack import Stack, StackShape
from processors.readside.audit import audit
from processors.topics import ensure_topics, ledger_topics
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from tests.integration.readside.conftest import wait_for_offsets
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env
from tests.support.stacks import ledger, running_stack

SEED = 2718
PRODUCE_RATE_PER_S = 400.0
FAILOVER_WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("replicated"), StackShape(brokers=3)) as stack:
        yield stack


def _leader_of(admin: AdminClient, topic: str, partition: int) -> int:
    return admin.list_topics(topic, timeout=30).topics[topic].partitions[partition].leader


def test_the_journal_leader_dies_mid_run_and_nothing_is_lost_or_doubled(
    cluster: Stack, tmp_path: Path
) -> None:
    env = cluster.environment()
    settings = replace(
        cluster.settings,
        kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
        redis_url=env["REDIS_URL"],
        topic_prefix="replicated.",
        transaction_timeout_ms=10_000,
        session_timeout_ms=10_000,
        batch_records_max=500,
    )
    admin = AdminClient(settings.kafka_config())
    ensure_topics(admin, ledger_topics(settings))
    journal = admin.list_topics(settings.topics.events, timeout=30).topics[settings.topics.events]
    assert all(len(p.replicas) == 3 for p in journal.partitions.values())
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED, contracts, settings.topics, settings.partitions, time.time_ns() // 10**6
    )
    processes = [
        LedgerProcess(
            ["core", "--instance-id", "rep-core", "--status-interval", "2"],
            settings_env(settings),
            tmp_path / "core.log",
        ),
        LedgerProcess(
            ["mirror", "--instance-id", "rep-mirror"], settings_env(settings), tmp_path / "m.log"
        ),
    ]
    for process in processes:
        process.start()
    producing = threading.Thread(
        target=produce, args=(settings, workload.items, PRODUCE_RATE_PER_S), daemon=True
    )
    producing.start()
    try:
        time.sleep(4.0)
        leader = _leader_of(admin, settings.topics.events, 0)
        victim = cluster.kafka.nodes[leader - 1]
        pid = victim.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # The controller fences the dead broker after its session (9 s by default) and
        # elects a leader among the in-sync replicas; the cluster runs on two brokers.
        deadline = time.monotonic() + FAILOVER_WAIT_S
        while _leader_of(admin, settings.topics.events, 0) in (leader, -1):
            assert time.monotonic() < deadline, "no new leader for the journal's partition 0"
            time.sleep(0.5)
        time.sleep(5.0)  # and it keeps running on two brokers for a while
        ledger(
            {**os.environ, **settings_env(settings)}, "services", "up", "--brokers", "3"
        )  # starts the stopped node again
        producing.join(240)
        assert not producing.is_alive()

        messages = read_topic(settings, settings.topics.events, workload.expected_events, 240)
        events = [contracts.decode_event(m.value() or b"") for m in messages]
        assert journal_problems(events, workload) == []
        client = redis.Redis.from_url(settings.redis_url)
        try:
            wait_for_offsets(SyncReadModel(client, settings.redis_key_prefix), settings)
            report = audit(settings, client, contracts, sample=0, wait_behind_s=30)
        finally:
            client.close()
        assert report.ok, report.problems
        assert all(process.alive() for process in processes), "core and mirror carry on"
    finally:
        for process in processes:
            process.stop()
