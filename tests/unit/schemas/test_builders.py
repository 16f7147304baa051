"""Values built straight from the compiled reader's fields (schemas/builders.py) equal those
fastavro's records convert to (schemas/records.py): every kind of record the ledger writes,
from every decision a hostile workload leads to, decoded both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from bench.kit.hostile import generate
from ledger.decide import decide
from ledger.model import AccountState, LedgerEvent, Request
from schemas.contracts import EVENT, REQUEST, STATE, STATE_RECEIPT, STATE_REVERSIBLE, WireContracts
from schemas.exceptions import MalformedBodyError
from schemas.records import (
    event_to_record,
    record_to_event,
    record_to_receipt,
    record_to_request,
    record_to_reversible,
    record_to_state,
)
from settings import TopicNames
from settings.programs import load_programs

NOW_MS = 1_760_000_000_000
Decided = tuple[list[Request], list[LedgerEvent], list[AccountState]]


@pytest.fixture(scope="module")
def contracts() -> WireContracts:
    return WireContracts.for_registry(None)


@pytest.fixture(scope="module")
def decided(
    contracts: WireContracts,
) -> tuple[list[Request], list[LedgerEvent], list[AccountState]]:
    workload = generate(5, contracts, TopicNames("t."), 4, NOW_MS, requests=3_000, customers=60)
    requests = [contracts.decode_request(item.value) for item in workload.items if item.request]
    programs = load_programs(Path(__file__).parents[3] / "config" / "programs.toml")
    states: dict[str, AccountState] = {}
    events = []
    for request in list(requests):
        decision = decide(states.get(request.account_id), request, NOW_MS, programs)
        states[request.account_id] = decision.state
        events.append(decision.event)
        requests.extend(decision.emitted)
    return requests, events, list(states.values())


def both_ways(
    contracts: WireContracts, data: bytes, schema: str, from_record: Callable[[Any], Any]
) -> tuple[Any, Any]:
    built = contracts.codec.decode_value(data, schema, from_record)
    converted = from_record(contracts.codec.decode(data, schema).record)
    return built, converted


def test_every_record_decodes_to_the_same_value_both_ways(
    contracts: WireContracts,
    decided: Decided,
) -> None:
    requests, events, states = decided
    requests.append(replace(requests[0], metadata={"shop": "42"}))
    cases: list[tuple[bytes, str, Callable[[Any], Any]]] = []
    cases += [(contracts.encode_request(r, "t"), REQUEST, record_to_request) for r in requests]
    cases += [(contracts.encode_event(e, "t"), EVENT, record_to_event) for e in events]
    cases += [(contracts.encode_state(s, "t"), STATE, record_to_state) for s in states]
    for state in states:
        for receipt in state.receipts.values():
            data = contracts.encode_receipt(state.program, state.account_id, receipt, "t")
            cases.append((data, STATE_RECEIPT, record_to_receipt))
        for reversible in state.reversibles.values():
            data = contracts.encode_reversible(state.program, state.account_id, reversible, "t")
            cases.append((data, STATE_REVERSIBLE, record_to_reversible))
    assert {schema for _, schema, _ in cases} == {
        REQUEST,
        EVENT,
        STATE,
        STATE_RECEIPT,
        STATE_REVERSIBLE,
    }
    for data, schema, from_record in cases:
        built, converted = both_ways(contracts, data, schema, from_record)
        assert built == converted
        assert type(built) is type(converted) or isinstance(built, tuple)
    assert [contracts.decode_event(contracts.encode_event(e, "t")) for e in events] == events
    assert [contracts.decode_state(contracts.encode_state(s, "t")) for s in states] == states


def test_symbols_of_a_newer_ledger_fail_the_same_both_ways(
    contracts: WireContracts,
    decided: Decided,
) -> None:
    """A reason code this version lacks is a malformed body on either path, never a guess."""
    _, events, _ = decided
    rejected = next(e for e in events if e.reason is not None)
    record = event_to_record(rejected)
    record["reason"] = "a_reason_from_the_future"
    data = contracts.codec.encode(record, EVENT)
    with pytest.raises(MalformedBodyError):
        contracts.decode_event(data)
    with pytest.raises(ValueError):
        record_to_event(contracts.codec.decode(data, EVENT).record)
