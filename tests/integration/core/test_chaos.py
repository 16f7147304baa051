"""Exactly once under crashes, rebalances and zombies, on the real broker.

The same seeded workload as the end-to-end test is produced at a steady pace while the test
SIGKILLs processors at random moments and restarts them, adds a second processor (the
partitions rebalance between live members) and takes it away again. A paused processor whose
partitions moved on must be fenced when it wakes. Afterwards the journal must hold exactly
one outcome per request, as the independent model predicts.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bench.kit.hostile import Workload, generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from schemas.contracts import WireContracts
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

SEED = 4242
PRODUCE_RATE_PER_S = 800.0


def _chaos_settings(topics: Settings, name: str) -> Settings:
    # Short timeouts so a dead member's partitions and open transaction are released fast.
    return replace(
        topics,
        core_group_id=f"{topics.topic_prefix}{name}",
        transaction_timeout_ms=5_000,
        session_timeout_ms=6_000,
        batch_records_max=500,
    )


def _core(settings: Settings, instance: str, tmp_path: Path) -> LedgerProcess:
    return LedgerProcess(
        ["core", "--instance-id", instance, "--status-interval", "2"],
        settings_env(settings),
        tmp_path / f"{instance}.log",
    )


def _produce_in_background(settings: Settings, workload: Workload) -> threading.Thread:
    thread = threading.Thread(
        target=produce, args=(settings, workload.items, PRODUCE_RATE_PER_S), daemon=True
    )
    thread.start()
    return thread


def _check(settings: Settings, contracts: WireContracts, workload: Workload) -> None:
    messages = read_topic(settings, settings.topics.events, workload.expected_events, 240)
    events = [contracts.decode_event(m.value() or b"") for m in messages]
    assert journal_problems(events, workload) == []


@pytest.mark.parametrize("state", ["memory", "disk"])
def test_sigkills_and_rebalances_lose_and_duplicate_nothing(
    topics: Settings, tmp_path: Path, state: str
) -> None:
    settings = _chaos_settings(topics, "chaos")
    if state == "disk":  # killed with their stores open, restarted from their checkpoints
        settings = replace(settings, state_dir=str(tmp_path / "state"))
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED, contracts, settings.topics, settings.partitions, time.time_ns() // 10**6
    )
    rng = random.Random(SEED)
    first, second = _core(settings, "chaos-1", tmp_path), _core(settings, "chaos-2", tmp_path)
    first.start()
    producing = _produce_in_background(settings, workload)
    try:
        kills = 0
        while kills < 6:
            time.sleep(rng.uniform(1.5, 4.0))
            victim = second if second.alive() and rng.random() < 0.4 else first
            victim.signal(signal.SIGKILL)
            kills += 1
            time.sleep(rng.uniform(0.0, 1.0))
            victim.start()
            if kills == 2:
                second.start()  # a second live member: partitions rebalance mid-stream
        second.stop()  # and it leaves again: its partitions move back
        producing.join(120)
        assert not producing.is_alive()
        _check(settings, contracts, workload)
    finally:
        for core in (first, second):
            core.stop()
    assert first.kills.count("SIGKILL") + second.kills.count("SIGKILL") >= 5
    assert first.starts + second.starts >= 7


def test_a_paused_zombie_is_fenced_when_it_wakes(topics: Settings, tmp_path: Path) -> None:
    settings = _chaos_settings(topics, "zombie")
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED + 1,
        contracts,
        settings.topics,
        settings.partitions,
        time.time_ns() // 10**6,
        requests=8_000,
        customers=300,
    )
    zombie, successor = _core(settings, "zombie-a", tmp_path), _core(settings, "zombie-b", tmp_path)
    zombie.start()
    producing = _produce_in_background(settings, workload)
    try:
        time.sleep(5)
        zombie.signal(signal.SIGSTOP)  # frozen, most likely in the middle of a transaction
        successor.start()
        time.sleep(12)  # its session expires; the successor takes every partition
        zombie.signal(signal.SIGCONT)  # wakes up believing it still owns them
        time.sleep(4)
        producing.join(60)
        _check(settings, contracts, workload)
    finally:
        zombie_exit = zombie.stop()
        successor.stop()
    woke = zombie.log().split("--- start")[-1]
    assert "assigned partitions" in successor.log()
    assert any(
        sign in woke for sign in ("aborting batch", "session failed", "revoked partitions")
    ), woke[-2000:]
    # Fenced is not fatal: the old instance starts a new session and stops cleanly later.
    assert "Traceback" not in woke, woke[-3000:]
    assert zombie_exit == 0, woke[-2000:]
