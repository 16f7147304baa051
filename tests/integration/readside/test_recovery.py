"""Replay into a fresh generation swapped in atomically, self-healing after Redis lost the
model, the auditor catching a tampered balance, and balances as of a past time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import redis
from confluent_kafka import Producer

from processors.readside.asof import balances_as_of
from processors.readside.audit import audit
from processors.readside.replay import ReplayStart, replay
from readmodel.keys import GenerationKeys, outcome_channel, parse_outcome
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from settings import Settings
from tests.integration.readside.conftest import (
    snapshot,
    wait_for,
    wait_for_generation,
    wait_for_offsets,
    wait_for_sequence,
)
from tests.integration.readside.journal_writer import PROGRAM, JournalWriter, request
from tests.support.processes import ROOT, LedgerProcess, settings_env

ACCOUNTS = 30


def _fill(writer: JournalWriter, rounds: int) -> None:
    for round_ in range(rounds):
        writer.apply(
            [request(f"a{n:02d}", "ACCRUE", 100 + n) for n in range(ACCOUNTS)]
            + [request(f"a{n:02d}", "REDEEM", 7 + round_) for n in range(0, ACCOUNTS, 3)]
        )


def _balances(model: SyncReadModel) -> dict[str, object]:
    return {f"a{n:02d}": model.balances(PROGRAM, f"a{n:02d}") for n in range(ACCOUNTS)}


def _user_keys(values: dict[str, object]) -> dict[str, object]:
    """The model without generation names and build metadata, to compare two generations."""
    return {
        key.split(":", 2)[2]: value
        for key, value in values.items()
        # Offsets may differ by a commit marker: the replay records the position past it.
        if key.count(":") >= 2 and not key.endswith((":meta", ":offsets"))
    }


def test_self_heals_after_redis_lost_the_model(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
) -> None:
    wait_for_generation(read_model)
    _fill(writer, 3)
    wait_for_offsets(read_model, topics)
    before = _balances(read_model)
    # FLUSHALL for this deployment's keyspace (the Redis server is shared with other tests).
    keys = list(redis_client.scan_iter(match=f"{topics.redis_key_prefix}*"))
    redis_client.delete(*keys)
    assert read_model.generation() is None

    wait_for(lambda: read_model.generation() is not None, "the mirror to notice", 30)
    wait_for(lambda: _balances(read_model) == before, "balances to come back", 30)
    # And it keeps mirroring afterwards.
    sequence = read_model.balances(PROGRAM, "a00")[0].sequence + 1  # read before writing
    writer.apply([request("a00", "ACCRUE", 5)])
    wait_for_sequence(read_model, "a00", sequence)
    assert "rebuilding it from the journal" in mirror.log()


def test_replay_swaps_in_a_fresh_generation_equal_to_the_live_one(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
    contracts: WireContracts,
) -> None:
    first = wait_for_generation(read_model)
    _fill(writer, 3)
    wait_for_offsets(read_model, topics)
    live = _user_keys(snapshot(redis_client, topics.redis_key_prefix))

    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "replay"],
        cwd=ROOT,
        env=settings_env(topics),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "replayed" in result.stdout
    second = read_model.generation()
    assert second is not None and second != first
    # The old generation is gone; the new one is the same model.
    assert not list(
        redis_client.scan_iter(match=GenerationKeys(topics.redis_key_prefix, first).pattern)
    )
    assert _user_keys(snapshot(redis_client, topics.redis_key_prefix)) == live

    # The mirror carries on in the new generation.
    sequence = read_model.balances(PROGRAM, "a01")[0].sequence + 1  # read before writing
    writer.apply([request("a01", "ACCRUE", 1)])
    wait_for_sequence(read_model, "a01", sequence)

    # From explicit offsets and from a time: only the events from there on.
    report = replay(
        topics, redis_client, contracts, ReplayStart(timestamp_ms=time.time_ns() // 10**6 + 60_000)
    )
    assert report.events == 0
    everything = replay(topics, redis_client, contracts, ReplayStart(offsets={0: 0}))
    assert everything.events > 0
    assert read_model.balances(PROGRAM, "a01")[0].sequence == sequence


def test_audit_finds_nothing_then_catches_a_tampered_balance(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
    contracts: WireContracts,
) -> None:
    wait_for_generation(read_model)
    _fill(writer, 2)
    wait_for_offsets(read_model, topics)
    clean = audit(topics, redis_client, contracts, sample=0, wait_behind_s=5)
    assert clean.problems == [] and clean.accounts_compared == ACCOUNTS

    generation = read_model.generation()
    assert generation is not None
    redis_client.hset(
        GenerationKeys(topics.redis_key_prefix, generation).account(PROGRAM, "a05"),
        "points.available",
        1,
    )
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "--all", "--json", "--wait", "1"],
        cwd=ROOT,
        env=settings_env(topics),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any("acme:a05" in problem for problem in report["problems"])


def test_balances_as_of_a_past_time(
    topics: Settings, writer: JournalWriter, contracts: WireContracts
) -> None:
    writer.apply([request("t1", "ACCRUE", 100)])
    time.sleep(0.05)
    middle = time.time_ns() // 10**6
    time.sleep(0.05)
    writer.apply([request("t1", "REDEEM", 40), request("t2", "ACCRUE", 5)])
    then = balances_as_of(topics, contracts, PROGRAM, middle, "t1")
    assert [(b.available, b.sequence) for b in then] == [(100, 1)]
    now = balances_as_of(topics, contracts, PROGRAM, time.time_ns() // 10**6)
    assert [(b.account_id, b.available) for b in now] == [("t1", 60), ("t2", 5)]


def test_a_rebuild_announces_the_outcomes_a_gateway_may_wait_for(
    topics: Settings,
    writer: JournalWriter,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    """Events the mirror applies by rebuilding (here: journal written before any model
    existed) still have their outcomes published, so a waiting gateway answers 201."""
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(outcome_channel(topics.redis_key_prefix))
    events = writer.apply([request(f"c{n}", "ACCRUE", 10 + n) for n in range(3)])
    mirror = LedgerProcess(["mirror"], settings_env(topics), tmp_path / "mirror.log")
    mirror.start()
    try:
        wanted = {e.request.request_id for e in events}
        heard: set[str] = set()
        deadline = time.monotonic() + 60
        while not wanted <= heard:
            assert time.monotonic() < deadline, mirror.log()[-3000:]
            message = pubsub.get_message(timeout=0.5)
            if message is not None:
                heard.add(parse_outcome(message["data"]).request_id)
        assert "rebuilding it from the journal" in mirror.log()
        assert read_model.balances(PROGRAM, "c2")[0].available == 12
    finally:
        pubsub.close()
        assert mirror.stop() == 0


def test_an_undecodable_journal_record_does_not_stop_a_rebuild(
    topics: Settings,
    writer: JournalWriter,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
) -> None:
    """One record nobody can read in the journal must not keep the read model from being
    rebuilt for everyone: it is logged and counted, the audit names it, the rest is mirrored."""
    wait_for_generation(read_model)
    writer.apply([request("a00", "ACCRUE", 7)])
    producer = Producer(topics.kafka_config())
    producer.produce(topics.topics.events, b"not an event", b"acme:a00")
    assert producer.flush(30) == 0
    writer.apply([request("a01", "ACCRUE", 9)])
    wait_for(lambda: _available(read_model, "a01") == 9, "the live mirror to go past it", 30)
    keys = list(redis_client.scan_iter(match=f"{topics.redis_key_prefix}*"))
    redis_client.delete(*keys)  # Redis lost the model: the mirror rebuilds it from the journal

    wait_for(lambda: read_model.generation() is not None, "the rebuilt model", 30)
    wait_for(lambda: _available(read_model, "a01") == 9, "the rebuild to go past it", 30)
    assert _available(read_model, "a00") == 7
    assert "undecodable" in mirror.log()


def _available(model: SyncReadModel, account: str) -> int | None:
    views = model.balances(PROGRAM, account)
    return views[0].available if views else None
