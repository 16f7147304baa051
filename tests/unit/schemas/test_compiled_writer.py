"""The compiled writers write byte for byte what fastavro writes, for every contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.utils import generate_many
from msgspec.structs import replace

from bench.kit.hostile import generate
from ledger.decide import decide
from ledger.model import AccountState, Status
from schemas.compiled_writer import compile_writer
from schemas.compiling import UnsupportedSchema
from schemas.contracts import EVENT, REQUEST, STATE_RECEIPT, STATE_REVERSIBLE, WireContracts
from schemas.records import (
    event_to_record,
    receipt_to_record,
    request_to_record,
    reversible_to_record,
)
from settings import TopicNames
from settings.programs import load_programs

SCHEMAS = Path(__file__).parents[3] / "schemas"
CONTRACTS = sorted(SCHEMAS.glob("*.avsc")) + sorted(SCHEMAS.glob("released/*/*.avsc"))
RECORDS_PER_CONTRACT = 300
NOW_MS = 1_760_000_000_000


def _fastavro_bytes(schema: Any, record: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(schema), record)
    return buffer.getvalue()


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: str(p.relative_to(SCHEMAS)))
def test_compiled_writer_matches_fastavro(path: Path) -> None:
    schema = json.loads(path.read_text())
    write = compile_writer(schema)
    for record in generate_many(parse_schema(schema), RECORDS_PER_CONTRACT):
        out = bytearray()
        write(record, out)
        assert bytes(out) == _fastavro_bytes(schema, record)


SMALL = {
    "type": "record",
    "name": "Small",
    "fields": [{"name": "amount", "type": "long"}, {"name": "note", "type": ["null", "string"]}],
}


def test_a_float_amount_cannot_be_written() -> None:
    with pytest.raises(TypeError):
        compile_writer(SMALL)({"amount": 1.5, "note": None}, bytearray())


def test_a_long_outside_64_bits_cannot_be_written() -> None:
    with pytest.raises(OverflowError):
        compile_writer(SMALL)({"amount": 2**63, "note": None}, bytearray())


def test_a_union_of_two_non_null_types_is_left_to_fastavro() -> None:
    schema = {"type": "record", "name": "U", "fields": [{"name": "x", "type": ["int", "string"]}]}
    with pytest.raises(UnsupportedSchema):
        compile_writer(schema)


def test_domain_values_written_from_their_attributes_match_their_records() -> None:
    """Events and requests go on the wire straight from ledger.model's values; the bytes must
    be those of the record `schemas.records` builds from them (which the tests above hold to
    fastavro): every operation, rejection, hold, lot and leg a hostile workload produces."""
    contracts = WireContracts.for_registry(None)
    codec = contracts.codec
    workload = generate(3, contracts, TopicNames("t."), 4, NOW_MS, requests=3_000, customers=60)
    requests = [contracts.decode_request(item.value) for item in workload.items if item.request]
    programs = load_programs(Path(__file__).parents[3] / "config" / "programs.toml")
    states: dict[str, AccountState] = {}
    events = []
    for request in requests:
        decision = decide(states.get(request.account_id), request, NOW_MS, programs)
        states[request.account_id] = decision.state
        events.append(decision.event)
        requests.extend(decision.emitted)
    assert {event.status for event in events} == set(Status)
    assert any(request.carried_lots for request in requests)
    for request in [*requests, replace(requests[0], metadata={"shop": "42", "lane": "7"})]:
        straight = codec.encode_value(request, REQUEST, request_to_record)
        assert straight == codec.encode(request_to_record(request), REQUEST)
    for event in events:
        assert codec.encode_value(event, EVENT, event_to_record) == codec.encode(
            event_to_record(event), EVENT
        )
    receipts = [r for state in states.values() for r in state.receipts.values()]
    reversibles = [r for state in states.values() for r in state.reversibles.values()]
    assert {r.reason is None for r in receipts} == {True, False} and reversibles
    for receipt in receipts:
        assert contracts.encode_receipt("acme", "ann", receipt, "t") == codec.encode(
            receipt_to_record("acme", "ann", receipt), STATE_RECEIPT
        )
    for reversible in reversibles:
        assert contracts.encode_reversible("acme", "ann", reversible, "t") == codec.encode(
            reversible_to_record("acme", "ann", reversible), STATE_REVERSIBLE
        )


def test_a_float_equal_to_a_long_written_before_is_still_refused() -> None:
    write = compile_writer(SMALL)
    write({"amount": 1_760_000_000_000, "note": None}, bytearray())  # now a recent long
    with pytest.raises(TypeError):
        write({"amount": 1_760_000_000_000.0, "note": None}, bytearray())
