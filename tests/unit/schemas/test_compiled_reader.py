"""The compiled readers read exactly what fastavro reads, for every current contract, and fail
on hostile bodies only the ways the codec maps to its own errors."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from schemas.compiled_reader import compile_reader, read_long
from schemas.compiling import UnsupportedSchema

SCHEMAS = Path(__file__).parents[3] / "schemas"
CONTRACTS = sorted(SCHEMAS.glob("*.avsc"))
RECORDS_PER_CONTRACT = 300


def _fastavro_bytes(parsed: Any, record: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, record)
    return buffer.getvalue()


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_compiled_reader_reads_what_fastavro_reads(path: Path) -> None:
    schema = json.loads(path.read_text())
    parsed = parse_schema(schema)
    read = compile_reader(schema)
    for record in generate_many(parsed, RECORDS_PER_CONTRACT):
        data = b"\xff" + _fastavro_bytes(parsed, record)  # a header byte: reading starts at 1
        got, end = read(data, 1)
        assert end == len(data)
        assert got == schemaless_reader(io.BytesIO(data[1:]), parsed, None)


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_every_cut_body_and_random_garbage_fail_only_as_expected(path: Path) -> None:
    schema = json.loads(path.read_text())
    parsed = parse_schema(schema)
    read = compile_reader(schema)
    rng = random.Random(path.name)
    for record in generate_many(parsed, 20):
        data = _fastavro_bytes(parsed, record)
        cuts = range(len(data)) if len(data) <= 200 else rng.sample(range(len(data)), 200)
        for cut in cuts:
            with pytest.raises((EOFError, ValueError)):
                read(data[:cut], 0)
    for _ in range(2_000):
        garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
        with contextlib.suppress(EOFError, ValueError):
            read(garbage, 0)


def test_a_block_with_its_byte_size_is_read() -> None:
    """Writers may send an array block as (-count, size in bytes); fastavro never does."""
    schema = {"type": "array", "items": "long"}
    data = bytes([3, 4, 2, 4, 0])  # count -2, 4 bytes follow, items 1 and 2, end
    assert compile_reader(schema)(data, 0) == ([1, 2], 5)


def test_longs_outside_64_bits_and_over_10_bytes_are_refused() -> None:
    assert read_long(bytes([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), 0) == (
        2**63 - 1,
        10,
    )
    with pytest.raises(ValueError):
        read_long(bytes([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x03]), 0)
    with pytest.raises(ValueError):
        read_long(bytes([0xFF] * 11 + [0x01]), 0)


def test_bad_union_and_enum_indexes_are_malformed() -> None:
    union = {"type": "record", "name": "U", "fields": [{"name": "x", "type": ["null", "long"]}]}
    with pytest.raises(ValueError):
        compile_reader(union)(bytes([4, 2]), 0)
    enum = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    with pytest.raises(ValueError):
        compile_reader(enum)(bytes([4]), 0)


def test_a_union_of_two_non_null_types_is_left_to_fastavro() -> None:
    schema = {"type": "record", "name": "U", "fields": [{"name": "x", "type": ["int", "string"]}]}
    with pytest.raises(UnsupportedSchema):
        compile_reader(schema)
