"""Domain values survive a trip through the Avro contracts, and the contracts are documented."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import fastavro
import pytest

from ledger.decide import decide
from ledger.model import Operation, Request, Status
from ledger.programs import Programs
from ledger.reasons import Reason
from schemas.records import (
    EVENT_SCHEMA,
    REQUEST_SCHEMA,
    STATE_SCHEMA,
    load_schema,
    record_to_event,
    record_to_request,
    record_to_state,
    request_to_record,
    state_to_record,
)
from schemas.records import event_to_record as to_event_record
from settings.programs import load_programs
from tests.unit.ledger.scenario_runner import SCENARIO_DIR, World, run_scenario

SAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "config" / "programs.toml"


@pytest.fixture(scope="module")
def worlds() -> list[World]:
    programs: Programs = load_programs(SAMPLE_CONFIG)
    return [run_scenario(path, programs) for path in sorted(SCENARIO_DIR.glob("*.txt"))]


def _round_trip(schema_name: str, record: dict[str, Any]) -> dict[str, Any]:
    schema = fastavro.parse_schema(load_schema(schema_name))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(buffer, schema, schema)
    assert isinstance(decoded, dict)
    return decoded


def test_events_and_their_requests_round_trip(worlds: list[World]) -> None:
    events = [event for world in worlds for event in world.outcomes]
    assert {event.status for event in events} == set(Status)
    for event in events:
        assert record_to_event(_round_trip(EVENT_SCHEMA, to_event_record(event))) == event
        request = event.request
        assert record_to_request(_round_trip(REQUEST_SCHEMA, request_to_record(request))) == (
            request
        )


def test_states_round_trip(worlds: list[World]) -> None:
    states = [state for world in worlds for state in world.states.values()]
    assert any(state.reversibles for state in states)
    for state in states:
        assert record_to_state(_round_trip(STATE_SCHEMA, state_to_record(state))) == state


def test_a_state_with_open_holds_and_negative_balance_round_trips() -> None:
    programs = load_programs(SAMPLE_CONFIG)
    base = Request("r1", "acme", "zed", Operation.ACCRUE, "points", 100, requested_at_ms=0)
    state = decide(None, base, 0, programs).state
    hold = Request("h1", "acme", "zed", Operation.HOLD, "points", 60, requested_at_ms=0)
    state = decide(state, hold, 0, programs).state
    claw = Request(
        "x1", "acme", "zed", Operation.REVERSE, "points", 100, reference="r1", requested_at_ms=0
    )
    state = decide(state, claw, 0, programs).state
    assert state.holds and state.balances["points"].available == -60
    assert record_to_state(_round_trip(STATE_SCHEMA, state_to_record(state))) == state


def test_unknown_operation_symbol_decodes_as_unknown() -> None:
    record = request_to_record(
        Request("r", "acme", "a", Operation.ACCRUE, "points", 1, requested_at_ms=0)
    )
    record["operation"] = "SPLIT"
    assert record_to_request(record).operation is Operation.UNKNOWN


def _walk(schema: Any, where: str) -> list[str]:
    """Paths of named types and fields lacking a doc."""
    missing: list[str] = []
    if isinstance(schema, list):
        for branch in schema:
            missing += _walk(branch, where)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum") and not schema.get("doc"):
            missing.append(f"{where}:{schema['name']}")
        if kind == "record":
            for field in schema["fields"]:
                path = f"{where}.{field['name']}"
                if not field.get("doc"):
                    missing.append(path)
                missing += _walk(field["type"], path)
        elif kind == "array":
            missing += _walk(schema["items"], where)
        elif kind == "map":
            missing += _walk(schema["values"], where)
        elif isinstance(kind, dict | list):
            missing += _walk(kind, where)
    return missing


@pytest.mark.parametrize("name", [REQUEST_SCHEMA, EVENT_SCHEMA, STATE_SCHEMA])
def test_every_field_and_type_has_a_doc(name: str) -> None:
    schema = load_schema(name)
    assert schema["namespace"] == "rewards.ledger"
    assert _walk(schema, schema["name"]) == []


@pytest.mark.parametrize("name", [REQUEST_SCHEMA, EVENT_SCHEMA, STATE_SCHEMA])
def test_optional_fields_default_to_null(name: str) -> None:
    def fields(schema: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if isinstance(schema, dict):
            for field in schema.get("fields", []):
                found.append(field)
                found += fields(field["type"])
            found += fields(schema.get("items")) + fields(schema.get("type"))
        elif isinstance(schema, list):
            for branch in schema:
                found += fields(branch)
        return found

    for field in fields(load_schema(name)):
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null" and field.get("default", "x") is None, field


def test_contract_enums_match_the_domain() -> None:
    request = load_schema(REQUEST_SCHEMA)
    operation = next(f for f in request["fields"] if f["name"] == "operation")["type"]
    assert operation["symbols"] == [member.value for member in Operation]
    assert operation["default"] == Operation.UNKNOWN.value
    event = load_schema(EVENT_SCHEMA)
    status = next(f for f in event["fields"] if f["name"] == "status")["type"]
    assert status["symbols"] == [member.value for member in Status]
    reason_doc = next(f for f in event["fields"] if f["name"] == "reason")["doc"]
    # The reason travels as a string; its doc is the list of codes, in precedence order.
    assert reason_doc.index(", ".join(reason.value for reason in Reason)) > 0
