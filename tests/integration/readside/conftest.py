"""Fixtures of the read side: a `ledger mirror` child process, a journal writer, snapshots.

The mirror runs as a real OS process (as in production): Faust and mode then run outside
pytest's warnings-as-errors, and tests can stop and restart it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from processors.readside.journal import journal_partitions, read_journal
from readmodel.reader import BalanceView, SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.readside.journal_writer import PROGRAM, JournalWriter
from tests.support.processes import LedgerProcess, settings_env

WAIT_S = 60.0


@pytest.fixture
def contracts() -> WireContracts:
    return WireContracts.for_registry(None)


@pytest.fixture
def writer(topics: Settings, contracts: WireContracts) -> JournalWriter:
    return JournalWriter(topics, contracts)


@pytest.fixture
def read_model(settings: Settings, redis_client: redis.Redis) -> SyncReadModel:
    return SyncReadModel(redis_client, settings.redis_key_prefix)


@pytest.fixture
def mirror(topics: Settings, tmp_path: Path) -> Iterator[LedgerProcess]:
    """A started `ledger mirror`, stopped (and checked for tracebacks) after the test."""
    process = LedgerProcess(
        ["mirror", "--loglevel", "info"],
        # No audit timer during a test: its report key would show up in snapshots.
        settings_env(topics, LEDGER_MIRROR_BATCH_TIME_MAX_MS="50", LEDGER_AUDIT_INTERVAL_S="3600"),
        tmp_path / "mirror.log",
    )
    process.start()
    yield process
    code = process.stop()
    log = process.log()
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log[-5000:]


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_for_generation(model: SyncReadModel) -> str:
    wait_for(lambda: model.generation() is not None, "the mirror's first generation")
    generation = model.generation()
    assert generation is not None
    return generation


def wait_for_sequence(model: SyncReadModel, account: str, sequence: int) -> list[BalanceView]:
    def reached() -> bool:
        balances = model.balances(PROGRAM, account)
        return bool(balances) and balances[0].sequence >= sequence

    wait_for(reached, f"{account} at sequence {sequence}")
    return model.balances(PROGRAM, account)


def wait_for_offsets(model: SyncReadModel, settings: Settings) -> None:
    """Until Redis has applied every committed event of the journal."""
    last: dict[int, int] = {}
    starts = dict.fromkeys(journal_partitions(settings), -2)
    for batch in read_journal(settings, starts, timeout_s=60):
        if batch.records:
            last[batch.partition] = batch.records[-1].offset

    def caught_up() -> bool:
        stored = model.offsets()
        return all(stored.get(p, -1) >= offset for p, offset in last.items())

    wait_for(caught_up, f"the mirror to reach {last}")


def snapshot(client: redis.Redis, prefix: str) -> dict[str, object]:
    """Every key under `prefix` with its value, by type (request status TTLs aside)."""
    values: dict[str, object] = {}
    for raw_key in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw_key.decode()
        kind = client.type(raw_key).decode()  # type: ignore[union-attr]
        if kind == "string":
            values[key] = client.get(raw_key)
        elif kind == "hash":
            values[key] = client.hgetall(raw_key)
        elif kind == "list":
            values[key] = client.lrange(raw_key, 0, -1)
        elif kind == "set":
            values[key] = client.smembers(raw_key)
        else:
            values[key] = kind
    return values
