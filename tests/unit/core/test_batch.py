"""BatchApplier edge cases: poison records, key mismatches, routing, undo."""

from __future__ import annotations

import dataclasses

import pytest
from confluent_kafka import TopicPartition
from msgspec.structs import replace

from ledger import decide as decide_module
from ledger.model import AccountState, CarriedLot, LedgerEvent, Operation, Request, Status
from ledger.placement import Homes, Placement
from ledger.programs import Programs
from processors.core import batch as batch_module
from processors.core.batch import TIMER_RETRY_MS, BatchApplier, BatchResult, InputRecord
from processors.core.intake import SessionFailed
from processors.core.loop import co_partitioned
from processors.core.store import PartitionStore, StateStore
from schemas.contracts import REPLY_TO_HEADER, TRACE_HEADER, WireContracts
from schemas.partitioning import account_key, partition_for
from settings import TopicNames
from settings.programs import load_programs
from tests.support.processes import ROOT

TOPICS = TopicNames("unit.")
PARTITIONS = 4
NOW_MS = 1_790_000_000_000


@pytest.fixture(scope="module")
def contracts() -> WireContracts:
    return WireContracts.for_registry(None)


@pytest.fixture(scope="module")
def programs() -> Programs:
    return load_programs(ROOT / "config" / "programs.toml")


def _applier(contracts: WireContracts, programs: Programs) -> BatchApplier:
    stores = {p: PartitionStore(p) for p in range(PARTITIONS)}
    return BatchApplier(TOPICS, PARTITIONS, programs, contracts, stores)


def _accrue(request_id: str, account: str = "alice", amount: int = 10) -> Request:
    return Request(
        request_id=request_id,
        program="acme",
        account_id=account,
        operation=Operation.ACCRUE,
        asset="points",
        amount=amount,
        requested_at_ms=NOW_MS,
        principal="test",
    )


def _record(
    contracts: WireContracts, request: Request, offset: int = 0, topic: str = TOPICS.requests
) -> InputRecord:
    key = account_key(request.program, request.account_id)
    value = contracts.encode_request(request, topic)
    return InputRecord(partition_for(key, PARTITIONS), offset, key, value, topic=topic)


def test_a_crashing_decision_is_dead_lettered_and_the_batch_goes_on(
    contracts: WireContracts, programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = decide_module.decide

    def crash_on_poison(state, request, now_ms, programs, channel):  # type: ignore[no-untyped-def]
        if request.request_id == "poison":
            raise ZeroDivisionError("a bug")
        return real(state, request, now_ms, programs, channel)

    monkeypatch.setattr(batch_module, "decide", crash_on_poison)
    applier = _applier(contracts, programs)
    records = [_record(contracts, _accrue(rid), n) for n, rid in enumerate(["a", "poison", "b"])]
    result = applier.apply(records, NOW_MS)

    dead = [r for r in result.records if r.topic == TOPICS.requests_dlq]
    assert len(dead) == 1 and dead[0].value == records[1].value
    headers = dict(dead[0].headers or [])
    assert headers["ledger.dlq.reason"] == b"processing_error"
    assert headers["ledger.dlq.offset"] == b"1"
    detail = headers["ledger.dlq.detail"]
    assert isinstance(detail, bytes) and b"ZeroDivisionError" in detail
    events = [r for r in result.records if r.topic == TOPICS.events]
    assert [contracts.decode_event(e.value or b"").request.request_id for e in events] == ["a", "b"]


def test_a_key_that_does_not_match_the_content_is_dead_lettered(
    contracts: WireContracts, programs: Programs
) -> None:
    record = _record(contracts, _accrue("x"))
    forged = InputRecord(record.partition, 0, b"acme:mallory", record.value)
    result = _applier(contracts, programs).apply([forged], NOW_MS)
    assert [r.topic for r in result.records] == [TOPICS.requests_dlq]
    assert dict(result.records[0].headers or [])["ledger.dlq.reason"] == b"key_mismatch"


def test_a_record_on_the_wrong_partition_is_forwarded_not_applied(
    contracts: WireContracts, programs: Programs
) -> None:
    record = _record(contracts, _accrue("x"))
    stray = InputRecord((record.partition + 1) % PARTITIONS, 41, record.key, record.value)
    applier = _applier(contracts, programs)
    result = applier.apply([stray], NOW_MS)
    assert len(result.records) == 1
    forwarded = result.records[0]
    assert (forwarded.topic, forwarded.partition, forwarded.value) == (
        TOPICS.requests,
        record.partition,
        record.value,
    )
    assert all(len(store) == 0 for store in applier.stores.values())


def _accounts(store: StateStore) -> dict[bytes, AccountState]:
    assert isinstance(store, PartitionStore)
    return dict(store.accounts)


def test_rollback_puts_every_touched_account_back(
    contracts: WireContracts, programs: Programs
) -> None:
    applier = _applier(contracts, programs)
    applier.apply([_record(contracts, _accrue("first"))], NOW_MS)
    for store in applier.stores.values():
        store.seal()
    snapshot = {p: _accounts(s) for p, s in applier.stores.items()}
    applier.apply(
        [_record(contracts, _accrue("second")), _record(contracts, _accrue("n", "newcomer"))],
        NOW_MS,
    )
    for store in applier.stores.values():
        store.rollback()
    assert {p: _accounts(s) for p, s in applier.stores.items()} == snapshot


def test_a_timer_popped_by_an_aborted_batch_fires_in_the_next(
    contracts: WireContracts, programs: Programs
) -> None:
    applier = _applier(contracts, programs)
    expiring = Request(
        request_id="soon",
        program="acme",
        account_id="alice",
        operation=Operation.ACCRUE,
        asset="points",
        amount=5,
        expires_at_ms=NOW_MS + 1_000,
        requested_at_ms=NOW_MS,
        principal="test",
    )
    applier.apply([_record(contracts, expiring)], NOW_MS)
    for store in applier.stores.values():
        store.seal()
    fired = applier.apply([], NOW_MS + 2_000)
    assert fired.timers_fired == 1
    for store in applier.stores.values():
        store.rollback()  # the transaction holding the expiry was aborted
    again = applier.apply([], NOW_MS + 2_000)
    assert again.timers_fired == 1


def _expiring(request_id: str = "soon") -> Request:
    return Request(
        request_id=request_id,
        program="acme",
        account_id="alice",
        operation=Operation.ACCRUE,
        asset="points",
        amount=5,
        expires_at_ms=NOW_MS + 1_000,
        requested_at_ms=NOW_MS,
        principal="test",
    )


def test_a_timer_whose_decision_did_not_apply_is_tried_again_later(
    contracts: WireContracts, programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = decide_module.decide
    failures = {"left": 1}

    def fail_once(state, request, now_ms, programs, channel):  # type: ignore[no-untyped-def]
        if request.operation is Operation.EXPIRE and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bug in the expiry")
        return real(state, request, now_ms, programs, channel)

    monkeypatch.setattr(batch_module, "decide", fail_once)
    applier = _applier(contracts, programs)
    applier.apply([_record(contracts, _expiring())], NOW_MS)
    assert applier.apply([], NOW_MS + 2_000).timers_fired == 0
    # Not hot-looping on the failure, and not dropped either.
    assert applier.apply([], NOW_MS + 3_000).timers_fired == 0
    assert applier.apply([], NOW_MS + 2_000 + TIMER_RETRY_MS).timers_fired == 1


def _channel_outcomes(
    contracts: WireContracts, programs: Programs, request: Request, topic: str
) -> tuple[str, str | None]:
    applier = _applier(contracts, programs)
    result = applier.apply([_record(contracts, request, topic=topic)], NOW_MS)
    (event,) = [
        contracts.decode_event(r.value or b"") for r in result.records if r.topic == TOPICS.events
    ]
    return event.status.value, event.reason.value if event.reason else None


def test_the_topic_a_record_was_read_from_is_its_authority(
    contracts: WireContracts, programs: Programs
) -> None:
    forged_credit = Request(
        request_id="credit:bob:1",
        program="acme",
        account_id="alice",
        operation=Operation.TRANSFER_CREDIT,
        asset="points",
        amount=1_000_000,
        reference="t1",
        counterparty_account_id="bob",
        requested_at_ms=NOW_MS,
        principal="system",  # says who it likes: the topic decides
        carried_lots=(CarriedLot(1_000_000, None),),
    )
    adjust = Request(
        request_id="fix-1",
        program="acme",
        account_id="alice",
        operation=Operation.ADJUST,
        asset="points",
        amount=50,
        reason="goodwill",
        requested_at_ms=NOW_MS,
        principal="system",
    )
    refused = (Status.REJECTED.value, "operation_not_permitted")
    assert _channel_outcomes(contracts, programs, forged_credit, TOPICS.requests) == refused
    assert (
        _channel_outcomes(contracts, programs, forged_credit, TOPICS.operator_requests) == refused
    )
    assert _channel_outcomes(contracts, programs, adjust, TOPICS.requests) == refused
    assert _channel_outcomes(contracts, programs, adjust, TOPICS.internal_requests) == refused
    applied = (Status.APPLIED.value, None)
    assert _channel_outcomes(contracts, programs, adjust, TOPICS.operator_requests) == applied
    assert (
        _channel_outcomes(contracts, programs, forged_credit, TOPICS.internal_requests) == applied
    )


def test_legs_go_to_the_internal_topic_and_strays_stay_on_their_topic(
    contracts: WireContracts, programs: Programs
) -> None:
    applier = _applier(contracts, programs)
    funded = applier.apply([_record(contracts, _accrue("a", amount=100))], NOW_MS)
    assert funded.decided == 1
    transfer = Request(
        request_id="t1",
        program="acme",
        account_id="alice",
        operation=Operation.TRANSFER,
        asset="points",
        amount=40,
        counterparty_account_id="bob",
        requested_at_ms=NOW_MS,
    )
    result = applier.apply([_record(contracts, transfer, 1)], NOW_MS)
    (leg,) = [r for r in result.records if r.topic == TOPICS.internal_requests]
    assert leg.key == b"acme:bob" and leg.partition == partition_for(b"acme:bob", PARTITIONS)
    for store in applier.stores.values():
        store.seal()
    record = _record(contracts, _accrue("x"), topic=TOPICS.operator_requests)
    stray = InputRecord(
        (record.partition + 1) % PARTITIONS, 7, record.key, record.value, topic=record.topic
    )
    (forwarded,) = applier.apply([stray], NOW_MS).records
    assert (forwarded.topic, forwarded.partition) == (TOPICS.operator_requests, record.partition)


def test_a_processor_owns_a_partition_only_with_every_input_topic_of_it() -> None:
    inputs = TOPICS.inputs
    assigned = [TopicPartition(topic, p) for topic in inputs for p in (0, 2)]
    assert co_partitioned(assigned, inputs) == [0, 2]
    with pytest.raises(SessionFailed, match="not co-partitioned"):
        co_partitioned([*assigned, TopicPartition(TOPICS.requests, 1)], inputs)


def _events(contracts: WireContracts, result: BatchResult) -> list[LedgerEvent]:
    return [
        contracts.decode_event(r.value or b"") for r in result.records if r.topic == TOPICS.events
    ]


def test_an_outcome_too_large_to_write_is_refused_and_the_batch_goes_on(
    contracts: WireContracts, programs: Programs
) -> None:
    """An account with many lots (each accrual with its own expiry): the accrual that would
    make its state too large to write is refused `output_too_large`; nothing else stops."""
    applier = _applier(contracts, programs)
    for n in range(300):
        accrual = replace(_expiring(f"lot-{n}"), expires_at_ms=NOW_MS + 10_000_000 + n)
        applier.apply([_record(contracts, accrual, n)], NOW_MS)
    for store in applier.stores.values():
        store.seal()
    key = account_key("acme", "alice")
    state = applier.stores[partition_for(key, PARTITIONS)].get(key)
    assert state is not None
    state_bytes = len(contracts.encode_state(state, TOPICS.state_changelog, memory=False))
    applier.record_bytes_max = state_bytes + batch_module.RECORD_OVERHEAD_BYTES + 10
    one_more = replace(_expiring("one-more"), expires_at_ms=NOW_MS + 20_000_000)
    others = [_record(contracts, _accrue(f"o{n}", f"other-{n}"), 400 + n) for n in range(3)]
    result = applier.apply([_record(contracts, one_more, 300), *others], NOW_MS)
    outcomes = {(e.account_id, e.request.request_id): e for e in _events(contracts, result)}
    assert outcomes[("alice", "one-more")].reason == "output_too_large"
    assert all(outcomes[(f"other-{n}", f"o{n}")].status is Status.APPLIED for n in range(3))
    after = applier.stores[partition_for(key, PARTITIONS)].get(key)
    assert after is not None and after.lots == state.lots and after.balances == state.balances
    assert all(
        len(r.key or b"") + len(r.value or b"") <= applier.record_bytes_max for r in result.records
    )


def test_a_request_over_a_contract_limit_is_dead_lettered_not_decided(
    contracts: WireContracts, programs: Programs
) -> None:
    huge = replace(_accrue("big"), account_id="x" * 400_000)
    record = _record(contracts, huge)
    result = _applier(contracts, programs).apply(
        [record, _record(contracts, _accrue("ok"))], NOW_MS
    )
    (dead,) = [r for r in result.records if r.topic == TOPICS.requests_dlq]
    headers = dict(dead.headers or [])
    assert headers["ledger.dlq.reason"] == b"limit_exceeded"
    assert b"account_id: 400000 characters, at most 128" in (headers["ledger.dlq.detail"] or b"")
    assert [e.request.request_id for e in _events(contracts, result)] == ["ok"]


def test_the_reply_channel_rides_on_the_event_and_a_forwarded_copy_only(
    contracts: WireContracts, programs: Programs
) -> None:
    """The gateway that waits names itself in the request; the core hands that on to the
    event (so the mirror answers it) and to a forwarded copy (whose event will), never to the
    transfer leg it emits for another account, nor to anything of a request without it."""
    applier = _applier(contracts, programs)
    funded = dataclasses.replace(_record(contracts, _accrue("fund", amount=100)), reply_to=b"gw-1")
    transfer = Request(
        request_id="give",
        program="acme",
        account_id="alice",
        operation=Operation.TRANSFER,
        asset="points",
        amount=40,
        counterparty_account_id="bob",
        requested_at_ms=NOW_MS,
        principal="test",
    )
    give = dataclasses.replace(
        _record(contracts, transfer, offset=1), reply_to=b"gw-1", trace_id=b"t-9"
    )
    plain = _record(contracts, _accrue("plain"), offset=2)
    stray = _record(contracts, _accrue("stray", account="carol"), offset=3)
    stray = dataclasses.replace(
        stray, partition=(stray.partition + 1) % PARTITIONS, reply_to=b"gw-2"
    )
    result = applier.apply([funded, give, plain, stray], NOW_MS)

    def headers_of(topic: str) -> list[dict[str, bytes]]:
        return [dict(r.headers or []) for r in result.records if r.topic == topic]  # type: ignore[arg-type]

    events = headers_of(TOPICS.events)
    assert [h.get(REPLY_TO_HEADER) for h in events] == [b"gw-1", b"gw-1", None]
    assert events[1][TRACE_HEADER] == b"t-9"
    (leg,) = headers_of(TOPICS.internal_requests)
    assert leg == {TRACE_HEADER: b"t-9"}
    (forwarded,) = headers_of(TOPICS.requests)
    assert forwarded[REPLY_TO_HEADER] == b"gw-2"


def test_in_a_region_a_request_for_an_account_homed_elsewhere_goes_to_the_outbox(
    contracts: WireContracts, programs: Programs
) -> None:
    stores = {p: PartitionStore(p) for p in range(PARTITIONS)}
    homes = Homes("eu", "eu", {"acme": Placement("eu", (("us-", "us"),))}, ("eu", "us"))
    applier = BatchApplier(TOPICS, PARTITIONS, programs, contracts, stores, homes=homes)
    local = _record(contracts, _accrue("a", "ann"), 0)
    remote = dataclasses.replace(_record(contracts, _accrue("b", "us-bob"), 1), reply_to=b"gw1")
    operated = _record(contracts, _accrue("c", "us-cid"), 2, TOPICS.operator_requests)
    result = applier.apply([local, remote, operated], NOW_MS)
    assert result.decided == 1 and result.sent_home == 2
    sent = [r for r in result.records if r.topic == TOPICS.outbox]
    assert [r.value for r in sent] == [remote.value, operated.value]
    assert [r.partition for r in sent] == [remote.partition, operated.partition]
    headers = [dict(r.headers or []) for r in sent]
    assert [h["ledger.home"] for h in headers] == [b"us", b"us"]
    assert [h["ledger.input"] for h in headers] == [b"requests", b"operator-requests"]
    assert headers[0][REPLY_TO_HEADER] == b"gw1"
    # Nothing of the remote accounts is kept here: only their home decides them.
    assert stores[remote.partition].get(remote.key or b"") is None
