"""State on disk: a restart replays only the changelog's tail, a store that does not match
the changelog is restored from scratch, and what the disk holds is what the changelog says.
On the real broker, with `ledger core` processes stopped, SIGKILLed and restarted."""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bench.kit.hostile import Workload, generate
from bench.kit.hostile_checks import journal_problems
from bench.kit.kafka_io import read_topic
from processors.core import changelog
from processors.core.changelog import open_stores, read_states
from processors.core.crashpoints import STEPS
from processors.reading import watermarks
from schemas.contracts import WireContracts
from settings import Settings
from tests.support.kafka_io import produce
from tests.support.processes import LedgerProcess, settings_env

SEED = 5151
INSTANCE = "disk-1"
RESTORED = re.compile(r"restored (\d+) accounts from (\d+) changelog records")


def _restores(core: LedgerProcess) -> list[tuple[int, int]]:
    return [(int(a), int(r)) for a, r in RESTORED.findall(core.log())]


def _wait_restore(core: LedgerProcess, count: int, timeout_s: float = 90) -> tuple[int, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _restores(core)
        if len(found) >= count:
            return found[count - 1]
        assert core.alive(), core.log()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"no restore #{count}: {core.log()[-3000:]}")


def _wait_journal(settings: Settings, events: int, timeout_s: float = 120) -> None:
    """Until the journal holds at least `events` records (not a timing: a count to reach)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        marks = watermarks(settings, settings.topics.events, range(settings.partitions), 30)
        if sum(high for _, high in marks.values()) >= events:
            return
        time.sleep(0.2)
    raise AssertionError(f"the journal did not reach {events} events in {timeout_s:.0f} s")


def _disk_equals_changelog(settings: Settings, contracts: WireContracts) -> int:
    partitions = range(settings.partitions)
    changelog, _ = read_states(settings, contracts, partitions, 120)
    stores = open_stores(settings, partitions, INSTANCE)
    try:
        for partition, store in stores.items():
            expected = changelog[partition]
            assert len(store) == len(expected), partition
            for key, state in expected.items():
                assert store.get(key) == state, (partition, key)
        return sum(len(accounts) for accounts in changelog.values())
    finally:
        for store in stores.values():
            store.close()


def _disk_settings(topics: Settings, name: str, tmp_path: Path, batch: int) -> Settings:
    # Short timeouts so a killed core's open transaction and partitions are released fast.
    return replace(
        topics,
        core_group_id=f"{topics.topic_prefix}{name}",
        transaction_timeout_ms=5_000,
        session_timeout_ms=6_000,
        batch_records_max=batch,
        state_dir=str(tmp_path / "state"),
    )


def _core(settings: Settings, log_path: Path, **env: str) -> LedgerProcess:
    return LedgerProcess(
        ["core", "--instance-id", INSTANCE, "--status-interval", "0"],
        settings_env(settings, **env),
        log_path,
    )


def _produce(settings: Settings, workload: Workload, rate_per_s: float) -> threading.Thread:
    producing = threading.Thread(
        target=produce, args=(settings, workload.items, rate_per_s), daemon=True
    )
    producing.start()
    return producing


def _journal_matches_the_model(
    settings: Settings, contracts: WireContracts, workload: Workload, producing: threading.Thread
) -> None:
    producing.join(120)
    assert not producing.is_alive()
    messages = read_topic(settings, settings.topics.events, workload.expected_events, 240)
    events = [contracts.decode_event(m.value() or b"") for m in messages]
    assert journal_problems(events, workload) == []


def test_restarts_replay_only_the_tail_and_the_disk_matches_the_changelog(
    topics: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _disk_settings(topics, "disk", tmp_path, batch=300)
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED,
        contracts,
        settings.topics,
        settings.partitions,
        time.time_ns() // 10**6,
        requests=6_000,
        customers=400,
    )
    core = _core(settings, tmp_path / "core.log")
    core.start()
    assert _wait_restore(core, 1) == (0, 0)
    producing = _produce(settings, workload, 600.0)
    try:
        _wait_journal(settings, 1_000)  # the core has committed batches: the disk holds them
        assert core.stop() == 0
        core.start()
        accounts, records = _wait_restore(core, 2)
        assert accounts > 0
        assert records == 0, "a clean stop leaves the disk at the changelog's end"
        _wait_journal(settings, 2_500)  # more batches since the restart
        core.signal(signal.SIGKILL)  # mid-batch: the disk is at most one commit behind
        core.start()
        accounts, records = _wait_restore(core, 3)
        assert records <= 3 * settings.batch_records_max, records
        _journal_matches_the_model(settings, contracts, workload, producing)
    finally:
        core.stop()
    held = _disk_equals_changelog(settings, contracts)
    assert held > 100

    # A restore streams the changelog into the stores a chunk at a time: with chunks of 7
    # accounts (every flush and intermediate seal exercised), into fresh disk and memory
    # stores, it gives what reading the whole changelog at once gives.
    monkeypatch.setattr(changelog, "RESTORE_SEAL_ACCOUNTS", 7)
    expected, _ = read_states(settings, contracts, range(settings.partitions), 120)
    fresh = replace(settings, state_dir=str(tmp_path / "fresh"))
    for stores in (
        open_stores(fresh, range(settings.partitions), "chunked"),
        changelog.owned(range(settings.partitions)),
    ):
        report = changelog.restore_partitions(fresh, contracts, stores, 120)
        assert report.accounts == held
        for partition, store in stores.items():
            assert {key: store.get(key) for key in expected[partition]} == expected[partition]
            store.close()

    # A checkpoint ahead of the changelog (a changelog recreated, a store from elsewhere):
    # that store is wiped and restored from scratch; the others replay nothing.
    stores = open_stores(settings, [0], INSTANCE)
    stores[0].seal({settings.topics.state_changelog: 10**9})
    stores[0].close()
    core.start()
    try:
        accounts, records = _wait_restore(core, 4)
        assert accounts == held
        assert records > 0
        assert "does not match the changelog" in core.log().split("--- start")[-1]
    finally:
        assert core.stop() == 0
    assert _disk_equals_changelog(settings, contracts) == held


def _died_by_sigkill(core: LedgerProcess, timeout_s: float = 90) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if core.process is not None and core.process.poll() is not None:
            return core.process.returncode == -signal.SIGKILL
        time.sleep(0.1)
    return False


def test_a_kill_at_every_step_of_the_commit_sequence_loses_and_repeats_nothing(
    topics: Settings, tmp_path: Path
) -> None:
    """The core SIGKILLs itself at each step in turn (LEDGER_CRASH_AT), restarted each time
    from its disk store, while requests flow; then the journal holds each outcome once and
    the disk holds what the changelog says."""
    settings = _disk_settings(topics, "steps", tmp_path, batch=200)
    contracts = WireContracts.for_registry(None)
    workload = generate(
        SEED + 1,
        contracts,
        settings.topics,
        settings.partitions,
        time.time_ns() // 10**6,
        requests=5_000,
        customers=300,
    )
    producing = _produce(settings, workload, 400.0)
    last = None
    try:
        for step in STEPS:
            crashing = _core(settings, tmp_path / f"core-{step}.log", LEDGER_CRASH_AT=f"{step}:3")
            crashing.start()
            assert _died_by_sigkill(crashing), f"{step}: {crashing.log()[-3000:]}"
        last = _core(settings, tmp_path / "core-last.log")
        last.start()
        _journal_matches_the_model(settings, contracts, workload, producing)
    finally:
        if last is not None:
            assert last.stop() == 0
    assert _disk_equals_changelog(settings, contracts) > 100
