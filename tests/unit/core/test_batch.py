"""BatchApplier edge cases: poison records, key mismatches, routing, undo."""

from __future__ import annotations

import pytest

from ledger import decide as decide_module
from ledger.model import Operation, Request
from ledger.programs import Programs, load_programs
from ledger.settings import TopicNames
from processors.core import batch as batch_module
from processors.core.batch import BatchApplier, InputRecord
from processors.core.routing import account_key, partition_for
from processors.core.store import PartitionStore
from schemas.contracts import WireContracts
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


def _record(contracts: WireContracts, request: Request, offset: int = 0) -> InputRecord:
    key = account_key(request.program, request.account_id)
    value = contracts.encode_request(request, TOPICS.requests)
    return InputRecord(partition_for(key, PARTITIONS), offset, key, value)


def test_a_crashing_decision_is_dead_lettered_and_the_batch_goes_on(
    contracts: WireContracts, programs: Programs, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = decide_module.decide

    def crash_on_poison(state, request, now_ms, programs):  # type: ignore[no-untyped-def]
        if request.request_id == "poison":
            raise ZeroDivisionError("a bug")
        return real(state, request, now_ms, programs)

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


def test_rollback_puts_every_touched_account_back(
    contracts: WireContracts, programs: Programs
) -> None:
    applier = _applier(contracts, programs)
    applier.apply([_record(contracts, _accrue("first"))], NOW_MS)
    for store in applier.stores.values():
        store.seal()
    snapshot = {p: dict(s.accounts) for p, s in applier.stores.items()}
    applier.apply(
        [_record(contracts, _accrue("second")), _record(contracts, _accrue("n", "newcomer"))],
        NOW_MS,
    )
    for store in applier.stores.values():
        store.rollback()
    assert {p: dict(s.accounts) for p, s in applier.stores.items()} == snapshot


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
