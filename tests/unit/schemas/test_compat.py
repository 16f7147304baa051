"""Schema evolution: the checker follows Avro resolution, and the contracts stay compatible.

The contract tests read `schemas/*.avsc` against every frozen `schemas/released/v*/` copy in
both directions: a new processor must read every release's data (backward), and a consumer of any
release must read what the new schemas write (forward). They fail as soon as a contract change
breaks either.
"""

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.utils import generate_many
from fastavro.validation import validate

from schemas.catalogue import SCHEMAS_DIRECTORY, SchemaCatalogue, contract_from_text
from schemas.compat import check_backward_compatible
from tests.unit.schemas.conftest import (
    CONTRACT_FILES,
    FIXTURES_DIRECTORY,
    RELEASED_V1_DIRECTORY,
    RELEASES,
    load_avsc,
)

GENERATED_RECORDS = 50  # each carries arrays of ~10 nested records: thousands of values


def _record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def _field(name: str, field_type: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": field_type, **extra}


def _enum(symbols: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": symbols, **extra}


# (why, writer, reader, problem expected in the report or None for compatible)
RESOLUTION_RULES: list[tuple[str, Any, Any, str | None]] = [
    ("same type", "string", "string", None),
    ("int widens to long", "int", "long", None),
    ("int widens to double", "int", "double", None),
    ("long widens to float", "long", "float", None),
    ("string reads as bytes", "string", "bytes", None),
    ("long does not narrow to int", "long", "int", "type changed from long to int"),
    ("string is no long", "string", "long", "type changed from string to long"),
    (
        "logical type reads as its base",
        {"type": "long", "logicalType": "timestamp-millis"},
        "long",
        None,
    ),
    ("value joins a union", "string", ["null", "string"], None),
    ("value promoted into a union", "int", ["null", "long"], None),
    (
        "union member without a reader match",
        ["null", "string"],
        "string",
        "<null>: type changed from null to string",
    ),
    (
        "union shrinks",
        ["null", "string", "long"],
        ["null", "string"],
        "writer type long matches no branch",
    ),
    ("union grows", ["null", "string"], ["null", "string", "long"], None),
    ("enum symbol added by the reader", _enum(["A"]), _enum(["A", "B"]), None),
    (
        "enum symbol removed without default",
        _enum(["A", "B"]),
        _enum(["A"]),
        "writer enum symbols ['B'] are missing",
    ),
    ("enum symbol removed, reader default", _enum(["A", "B"]), _enum(["A"], default="A"), None),
    (
        "fixed size changed",
        {"type": "fixed", "name": "F", "size": 8},
        {"type": "fixed", "name": "F", "size": 16},
        "fixed size changed from 8 to 16",
    ),
    (
        "record renamed",
        _record("Old", _field("a", "int")),
        _record("New", _field("a", "int")),
        "renamed from Old to New",
    ),
    (
        "record renamed with alias",
        _record("Old", _field("a", "int")),
        _record("New", _field("a", "int"), aliases=["Old"]),
        None,
    ),
    (
        "namespace change keeps the name",
        _record("R", _field("a", "int"), namespace="x"),
        _record("R", _field("a", "int"), namespace="y"),
        None,
    ),
    (
        "field added with default",
        _record("R", _field("a", "int")),
        _record("R", _field("a", "int"), _field("b", "string", default="")),
        None,
    ),
    (
        "field added without default",
        _record("R", _field("a", "int")),
        _record("R", _field("a", "int"), _field("b", "string")),
        "R.b: field missing from the writer and without a default",
    ),
    (
        "field removed by the reader",
        _record("R", _field("a", "int"), _field("b", "int")),
        _record("R", _field("a", "int")),
        None,
    ),
    (
        "field renamed with alias",
        _record("R", _field("old", "int")),
        _record("R", _field("new", "int", aliases=["old"])),
        None,
    ),
    (
        "nested field type changed",
        _record("R", _field("m", _record("M", _field("x", "string")))),
        _record("R", _field("m", _record("M", _field("x", "int")))),
        "R.m.x: type changed from string to int",
    ),
    (
        "array items widen",
        {"type": "array", "items": "int"},
        {"type": "array", "items": "long"},
        None,
    ),
    (
        "map values change",
        {"type": "map", "values": "string"},
        {"type": "map", "values": "int"},
        "{}: type changed from string to int",
    ),
    (
        "recursive record",
        _record("Node", _field("next", ["null", "Node"])),
        _record("Node", _field("next", ["null", "Node"]), _field("v", "int", default=0)),
        None,
    ),
]


@pytest.mark.parametrize(
    ("writer", "reader", "problem"),
    [pytest.param(w, r, p, id=why) for why, w, r, p in RESOLUTION_RULES],
)
def test_checker_follows_avro_schema_resolution(
    writer: Any, reader: Any, problem: str | None
) -> None:
    problems = check_backward_compatible(reader, writer)

    if problem is None:
        assert problems == []
    else:
        assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        pytest.param(w, r, id=why)
        for why, w, r, p in RESOLUTION_RULES
        # fastavro applies the *writer's* logical type when reading, so a timestamp read as a
        # plain long still comes back a datetime; Avro resolution itself is satisfied.
        if p is None and "logical" not in why
    ],
)
def test_fastavro_reads_what_the_checker_accepts(
    writer: Any, reader: Any, seeded_random: None
) -> None:
    _assert_resolves(parse_schema(writer), parse_schema(reader), count=20)


# --- the contracts against every release ---------------------------------------------------

RELEASED = [(release, name) for release in RELEASES for name in CONTRACT_FILES]


def _released(release: str, file_name: str) -> Any:
    return load_avsc(SCHEMAS_DIRECTORY / "released" / release / file_name)


@pytest.mark.parametrize(("release", "file_name"), RELEASED)
def test_current_contract_reads_released_data(release: str, file_name: str) -> None:
    current = load_avsc(SCHEMAS_DIRECTORY / file_name)
    released = _released(release, file_name)

    assert check_backward_compatible(reader_schema=current, writer_schema=released) == []


@pytest.mark.parametrize(("release", "file_name"), RELEASED)
def test_released_consumer_reads_current_contract_data(release: str, file_name: str) -> None:
    current = load_avsc(SCHEMAS_DIRECTORY / file_name)
    released = _released(release, file_name)

    assert check_backward_compatible(reader_schema=released, writer_schema=current) == []


@pytest.mark.parametrize(("release", "file_name"), RELEASED)
def test_generated_records_round_trip_between_a_release_and_current(
    release: str, file_name: str, seeded_random: None
) -> None:
    current = parse_schema(load_avsc(SCHEMAS_DIRECTORY / file_name))
    released = parse_schema(_released(release, file_name))

    _assert_resolves(writer=released, reader=current, count=GENERATED_RECORDS)
    _assert_resolves(writer=current, reader=released, count=GENERATED_RECORDS)


def test_fixture_v2_reads_v1_records_and_the_checker_sees_what_v1_cannot_read(
    seeded_random: None,
) -> None:
    current = load_avsc(FIXTURES_DIRECTORY / "sample.avsc")
    released = load_avsc(FIXTURES_DIRECTORY / "released" / "v1" / "sample.avsc")

    assert check_backward_compatible(current, released) == []
    _assert_resolves(parse_schema(released), parse_schema(current), count=GENERATED_RECORDS)
    assert check_backward_compatible(released, current) == [
        "Sample.amount: type changed from long to int, which is no Avro promotion",
        "Sample.kind: writer enum symbols ['EXPIRE'] are missing from the reader, "
        "which has no enum default",
        "Sample.legacy_code: field missing from the writer and without a default in the reader",
    ]


# Released contracts are frozen: their fingerprints are what producers put on the wire, so
# changing one strands every message already written with it. A new release is a new
# directory (released/v3), never an edit of an older one. Docs may be corrected; structure
# may not. v2 is the contract of regions (event region and epoch, moves, carried state).
RELEASED_FINGERPRINTS = {
    ("v1", "transaction_request.avsc"): 0xADD03490DA20402A,
    ("v1", "ledger_event.avsc"): 0x934ABD742D1860FE,
    ("v1", "account_state.avsc"): 0x87DF417F6D54DED9,
    ("v2", "transaction_request.avsc"): 0xD29B7D891CF1F2FF,
    ("v2", "ledger_event.avsc"): 0x5C11A59040EFC679,
    ("v2", "account_state.avsc"): 0x4293A0CC46428FDE,
}


@pytest.mark.parametrize(("release", "file_name"), RELEASED)
def test_releases_are_frozen(release: str, file_name: str) -> None:
    path = SCHEMAS_DIRECTORY / "released" / release / file_name
    released = contract_from_text(path.read_text("utf-8"), release)

    assert released.fingerprint == RELEASED_FINGERPRINTS[(release, file_name)]


# --- a breaking change must fail ------------------------------------------------------------


def _ledger_event() -> dict[str, Any]:
    schema: dict[str, Any] = load_avsc(SCHEMAS_DIRECTORY / "ledger_event.avsc")
    return schema


def _add_required_field(schema: dict[str, Any]) -> None:
    schema["fields"].append({"name": "region", "type": "string", "doc": "no default"})


def _change_a_type(schema: dict[str, Any]) -> None:
    field = next(f for f in schema["fields"] if f["name"] == "sequence")
    field["type"] = "string"


def _remove_an_enum_symbol(schema: dict[str, Any]) -> None:
    status = next(f for f in schema["fields"] if f["name"] == "status")
    status["type"]["symbols"].remove("DUPLICATE")


BREAKING_CHANGES = [
    pytest.param(
        _add_required_field, "LedgerEvent.region: field missing", id="field without default"
    ),
    pytest.param(_change_a_type, "LedgerEvent.sequence: type changed", id="type change"),
    pytest.param(_remove_an_enum_symbol, "['DUPLICATE'] are missing", id="enum symbol removed"),
]


@pytest.mark.parametrize(("breaking_change", "problem"), BREAKING_CHANGES)
def test_a_breaking_change_fails_the_compatibility_check(
    breaking_change: Any, problem: str
) -> None:
    changed = _ledger_event()
    breaking_change(changed)
    released = load_avsc(RELEASED_V1_DIRECTORY / "ledger_event.avsc")

    problems = check_backward_compatible(reader_schema=changed, writer_schema=released)

    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(("breaking_change", "problem"), BREAKING_CHANGES)
def test_a_catalogue_with_a_breaking_change_refuses_to_load(
    breaking_change: Any, problem: str, tmp_path: Path
) -> None:
    changed = _ledger_event()
    breaking_change(changed)
    (tmp_path / "ledger_event.avsc").write_text(json.dumps(changed))
    (tmp_path / "released" / "v1").mkdir(parents=True)
    released_text = (RELEASED_V1_DIRECTORY / "ledger_event.avsc").read_text()
    (tmp_path / "released" / "v1" / "ledger_event.avsc").write_text(released_text)

    with pytest.raises(ValueError, match="cannot read release v1"):
        SchemaCatalogue.load(tmp_path)


def _assert_resolves(writer: Any, reader: Any, count: int) -> None:
    """Write generated records with `writer`, read them with `reader`, check the result."""
    for record in generate_many(writer, count):
        buffer = BytesIO()
        schemaless_writer(buffer, writer, record)
        buffer.seek(0)
        decoded = schemaless_reader(buffer, writer, reader)
        assert buffer.tell() == len(buffer.getvalue())
        assert validate(decoded, reader, raise_errors=True)
        if writer == reader:
            assert decoded == record
