"""An INSTALL's carried state names its writer schema, so a home on another release reads it.

The old and the new home of a moving account may run different releases of the contract
during an upgrade: the state travels in single-object encoding (fingerprint, then body) and
is read with the schema the fingerprint names, resolved to the reader's current one.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest

from ledger.model import AccountState, Balance, Lot, Operation, Receipt, Request
from schemas.catalogue import crc64_avro_fingerprint
from schemas.contracts import WireContracts
from schemas.exceptions import MalformedBodyError
from schemas.framing import single_object_header
from schemas.records import STATE_SCHEMA, load_schema, state_body, state_from_body
from tests.unit.schemas.conftest import RELEASED_V1_DIRECTORY, load_avsc

STATE = AccountState(
    program="acme",
    account_id="ada",
    sequence=7,
    clock_ms=1_000,
    balances={"points": Balance("points", 120, 30)},
    lots={"points": (Lot("acme:ada:1", "points", 150, None, 1),)},
    receipts={"r1": Receipt("r1", "h" * 16, 1, Operation.ACCRUE, 900)},
    epoch=3,
)


def _install(body_state: AccountState) -> Request:
    return Request(
        "install:ada:7",
        "acme",
        "ada",
        Operation.INSTALL,
        "",
        requested_at_ms=1_000,
        to_region="us",
        carried_state=body_state,
    )


def _written_with(schema: Any, record: dict[str, Any]) -> bytes:
    parsed = fastavro.parse_schema(schema)
    out = io.BytesIO()
    out.write(single_object_header(crc64_avro_fingerprint(parsed)))
    fastavro.schemaless_writer(out, parsed, record)
    return out.getvalue()


def test_the_carried_state_starts_with_the_fingerprint_of_the_current_schema() -> None:
    body = state_body(STATE)

    current = crc64_avro_fingerprint(fastavro.parse_schema(load_schema(STATE_SCHEMA)))
    assert body[:10] == single_object_header(current)
    assert state_from_body(body) == STATE


def test_a_state_written_by_a_home_on_release_v1_is_read_with_v1s_schema() -> None:
    # v1 knows neither epochs nor moves: those fields take their defaults here.
    v1_record = {
        "program": "acme",
        "account_id": "ada",
        "sequence": 7,
        "clock_ms": 1_000,
        "balances": [{"asset": "points", "available": 120, "held": 30}],
        "lots": [],
        "holds": [],
        "receipts": [],
        "reversibles": [],
    }
    v1 = load_avsc(RELEASED_V1_DIRECTORY / "account_state.avsc")
    v1_fields = {field["name"] for field in v1["fields"]}
    body = _written_with(v1, {name: v1_record.get(name) for name in v1_fields})

    state = state_from_body(body)

    assert (state.sequence, state.epoch, state.moved_to) == (7, 0, "")
    assert state.balances == {"points": Balance("points", 120, 30)}


def test_a_bare_body_from_before_the_fingerprint_still_reads() -> None:
    body = state_body(STATE)[10:]

    assert state_from_body(body) == STATE


def test_an_install_whose_state_names_an_unknown_schema_is_undecodable() -> None:
    contracts = WireContracts.for_registry(None)
    good = contracts.encode_request(_install(STATE), "rewards.internal")
    assert contracts.decode_request(good).carried_state == STATE
    body = state_body(STATE)
    unknown = b"\xc3\x01" + bytes(8) + body[10:]
    tampered = good.replace(body, unknown)
    assert tampered != good

    with pytest.raises(MalformedBodyError, match="no current or released schema"):
        contracts.decode_request(tampered)


def test_trailing_bytes_after_the_carried_state_are_refused() -> None:
    with pytest.raises(MalformedBodyError, match="bytes after the carried state"):
        state_from_body(state_body(STATE) + b"\x00")


def test_a_truncated_or_foreign_carried_state_is_a_codec_error_on_every_path() -> None:
    # Not only inside the compiled reader (which wraps anything): a request written with an
    # older schema is built from a dict, where only codec errors may escape.
    body = state_body(STATE)
    request_schema = load_schema("transaction_request")
    request_header = single_object_header(
        crc64_avro_fingerprint(fastavro.parse_schema(request_schema))
    )
    for damaged in (body[:-3], body[:12], request_header + body[10:]):
        with pytest.raises(MalformedBodyError):
            state_from_body(damaged)
