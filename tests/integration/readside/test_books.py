"""Books that cannot be wrong, on the real Kafka and Redis: what anyone can write on the public
topic forges nothing, and the audit names every figure someone tampered with afterwards."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path

import redis
from confluent_kafka import Producer
from msgspec.structs import replace

from bench.kit.kafka_io import read_topic
from ledger.decide import decide
from ledger.evolve import evolve
from ledger.model import (
    AccountState,
    CarriedLot,
    Channel,
    LedgerEvent,
    Operation,
    Request,
    Status,
)
from processors.core.rebuild import read_changelog
from processors.readside.audit import audit
from processors.readside.journal import journal_partitions
from readmodel.keys import GenerationKeys
from readmodel.reader import SyncReadModel
from schemas.contracts import WireContracts
from schemas.partitioning import account_key
from settings import Settings
from tests.integration.readside.conftest import wait_for_generation, wait_for_offsets
from tests.integration.readside.journal_writer import PROGRAMS, JournalWriter
from tests.support.processes import LedgerProcess, settings_env

FORGED_CREDITS = 50
FORGED_ADJUSTS = 10
MILLION = 1_000_000


def _now() -> int:
    return time.time_ns() // 1_000_000


def _request(
    account: str, request_id: str, operation: Operation, amount: int, **extra: object
) -> Request:
    fields: dict[str, object] = {"requested_at_ms": _now(), "principal": "system", **extra}
    return Request(request_id, "acme", account, operation, "points", amount, **fields)  # type: ignore[arg-type]


def _send(
    settings: Settings, contracts: WireContracts, topic: str, requests: Iterable[Request]
) -> int:
    producer = Producer(settings.kafka_config({"partitioner": "murmur2_random"}))
    sent = 0
    for request in requests:
        value = contracts.encode_request(request, topic)
        producer.produce(topic, value, account_key(request.program, request.account_id))
        sent += 1
    assert producer.flush(30) == 0
    return sent


def _forgeries(victim: str) -> list[Request]:
    credits = [
        _request(
            victim,
            f"credit:ann:{n}",
            Operation.TRANSFER_CREDIT,
            MILLION,
            reference=f"t{n}",
            counterparty_account_id="ann",
            carried_lots=(CarriedLot(MILLION, None),),
        )
        for n in range(FORGED_CREDITS)
    ]
    other_program = [
        replace(
            _request(victim, f"adj-{n}", Operation.ADJUST, MILLION // 2, reason="bonus"),
            program="beta",
            asset="miles",
        )
        for n in range(FORGED_ADJUSTS)
    ]
    timers = [
        _request(victim, "expire:1", Operation.EXPIRE, 0, reference="1"),
        _request(victim, "hold-timeout:2:h", Operation.HOLD_TIMEOUT, 0, reference="h"),
        _request(
            victim,
            "refund:x:3",
            Operation.TRANSFER_REFUND,
            MILLION,
            reference="t",
            counterparty_account_id="x",
            carried_lots=(CarriedLot(MILLION, None),),
        ),
    ]
    return credits + other_program + timers


def test_forged_records_move_nothing_and_tampering_is_named(
    topics: Settings,
    tmp_path: Path,
    mirror: LedgerProcess,
    read_model: SyncReadModel,
    redis_client: redis.Redis,
    contracts: WireContracts,
) -> None:
    settings = dataclasses.replace(topics, core_group_id=f"{topics.topic_prefix}core")
    names = settings.topics
    honest = [
        _request("ann", "a1", Operation.ACCRUE, 1_000, principal="shop"),
        _request("ann", "t1", Operation.TRANSFER, 300, counterparty_account_id="bob"),
        _request("ann", "h1", Operation.HOLD, 100, principal="shop"),
        _request("ann", "r1", Operation.REDEEM, 50, principal="shop"),
    ]
    corrections = [_request("ann", "fix-1", Operation.ADJUST, -20, reason="ticket 7")]
    forged = _forgeries("mallory")
    core = LedgerProcess(
        ["core", "--instance-id", "books", "--status-interval", "0"],
        settings_env(settings),
        tmp_path / "core.log",
    )
    wait_for_generation(read_model)
    core.start()
    try:
        _send(settings, contracts, names.requests, honest[:2])
        _send(settings, contracts, names.requests, forged)
        _send(settings, contracts, names.operator_requests, corrections)
        _send(settings, contracts, names.requests, honest[2:])
        # One event each, plus the credit leg of the honest transfer.
        expected = len(honest) + len(corrections) + len(forged) + 1
        messages = read_topic(settings, names.events, expected, 120)
    finally:
        assert core.stop() == 0, core.log()[-3000:]
    events = [contracts.decode_event(m.value() or b"") for m in messages]
    assert len(events) == expected
    refused = [e for e in events if e.reason == "operation_not_permitted"]
    assert len(refused) == len(forged)
    assert all(e.status is Status.REJECTED and not e.postings for e in refused)
    by_id = {(e.account_id, e.request.request_id): e for e in events}
    assert by_id[("ann", "fix-1")].status is Status.APPLIED
    assert by_id[("ann", "fix-1")].channel is Channel.OPERATOR
    leg = next(
        e
        for e in events
        if e.request.operation is Operation.TRANSFER_CREDIT and e.channel is Channel.SYSTEM
    )
    assert (leg.account_id, leg.status) == ("bob", Status.APPLIED)

    wait_for_offsets(read_model, settings)
    assert read_model.balances("acme", "mallory") == []
    assert read_model.balances("beta", "mallory") == []
    totals = read_model.totals("acme")["points"]
    assert (totals.issued, totals.redeemed, totals.adjusted) == (1_000, 50, -20)
    assert (totals.in_transit, totals.held, totals.outstanding) == (0, 100, 930)

    report = audit(settings, redis_client, contracts, sample=0, wait_behind_s=10)
    assert report.problems == []
    assert report.totals_compared and report.changelog_compared == 2

    # --- tampering, one figure at a time: each audit names what the last change broke -----
    generation = read_model.generation()
    assert generation is not None
    keys = GenerationKeys(settings.redis_key_prefix, generation)

    redis_client.hset(keys.account("acme", "bob"), "points.available", 251)
    _assert_named(settings, redis_client, contracts, "acme:bob: Redis has {'points': (251, 0)}")

    redis_client.hincrby(keys.totals("acme"), "points|@issuance", -5)
    _assert_named(
        settings,
        redis_client,
        contracts,
        "totals of acme points|@issuance: Redis has -1005, the journal sums to -1000",
    )

    _tamper_a_lot(settings, contracts, b"acme:ann")
    _assert_named(
        settings,
        redis_client,
        contracts,
        "changelog: acme:ann points: lots sum to 531, available is 530",
        "changelog: acme:ann differs from the journal's fold in lots of points",
    )

    forged_event = _credit_from_nowhere(settings, contracts, events, "bob")
    _assert_named(
        settings,
        redis_client,
        contracts,
        f"{forged_event.event_id}: credit:zed:1 settles no transfer",
        "@transit of acme points is negative: -1000000",
    )


def _assert_named(
    settings: Settings, client: redis.Redis, contracts: WireContracts, *problems: str
) -> None:
    report = audit(settings, client, contracts, sample=0, wait_behind_s=1)
    for problem in problems:
        assert any(problem in found for found in report.problems), (problem, report.problems)


def _tamper_a_lot(settings: Settings, contracts: WireContracts, key: bytes) -> None:
    """A writer that bypasses the core: one more point in a lot of the stored state."""
    partitions = journal_partitions(settings)
    states = read_changelog(settings, contracts, partitions)
    partition, state = next((p, s[key]) for p, s in states.items() if key in s)
    lots = state.lots["points"]
    tampered = replace(
        state,
        lots={**state.lots, "points": (replace(lots[0], amount=lots[0].amount + 1), *lots[1:])},
    )
    topic = settings.topics.state_changelog
    producer = Producer(settings.kafka_config())
    producer.produce(topic, contracts.encode_state(tampered, topic), key, partition=partition)
    assert producer.flush(30) == 0


def _credit_from_nowhere(
    settings: Settings, contracts: WireContracts, events: list[LedgerEvent], account: str
) -> LedgerEvent:
    """What a forged credit leg did before channels: balanced, in sequence, zero trial
    balance, written to the journal as if the core had applied it."""
    state: AccountState | None = None
    for event in events:
        if event.account_id == account and event.program == "acme":
            state = evolve(state, event)
    leg = _request(
        account,
        "credit:zed:1",
        Operation.TRANSFER_CREDIT,
        MILLION,
        reference="t",
        counterparty_account_id="zed",
        carried_lots=(CarriedLot(MILLION, None),),
    )
    decision = decide(state, leg, _now(), PROGRAMS, Channel.SYSTEM)
    assert decision.event.status is Status.APPLIED
    JournalWriter(settings, contracts).write([decision.event])
    return decision.event


def test_an_undecodable_journal_record_is_named_not_fatal(
    topics: Settings, redis_client: redis.Redis, contracts: WireContracts
) -> None:
    """Only the core may write the journal, yet a record nobody can read there (a bug, a
    broker-side tamper) must be a finding of the audit, not a crash that stops every audit."""
    settings = topics
    producer = Producer(settings.kafka_config())
    producer.produce(settings.topics.events, b"not an event", account_key("acme", "bob"))
    assert producer.flush(30) == 0
    _assert_named(settings, redis_client, contracts, "undecodable")
