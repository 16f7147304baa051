"""The compiled writers write byte for byte what fastavro writes, for every contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from fastavro.utils import generate_many

from schemas.compiled import UnsupportedSchema, compile_writer

SCHEMAS = Path(__file__).parents[3] / "schemas"
CONTRACTS = sorted(SCHEMAS.glob("*.avsc")) + sorted(SCHEMAS.glob("released/*/*.avsc"))
RECORDS_PER_CONTRACT = 300


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
